"""docs/configuration.md is generated from the settings models: it must match them."""

from pathlib import Path

from local.config_reference import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_configuration_reference_is_current():
    assert DOC.read_text() == render(), "regenerate: python -m local.config_reference > docs/configuration.md"
