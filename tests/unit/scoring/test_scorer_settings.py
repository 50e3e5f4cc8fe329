"""ScorerSettings: names without defaults, policy overrides over the documented defaults."""

from __future__ import annotations

from datetime import timedelta

import pytest
from spam_blocker.config import SettingsError
from spam_blocker.config.scorer import ScorerSettings
from spam_blocker.domain.scoring import DEFAULT_POLICY

REQUIRED = {"EVIDENCE_TABLE": "evidence", "BLOCKS_TABLE": "blocks", "BLOCK_QUEUE_URL": "https://sqs/block",
            "INGEST_DLQ_URL": "https://sqs/ingest-dlq"}


def test_defaults_are_the_documented_policy():
    settings = ScorerSettings.from_env(REQUIRED)
    assert settings.policy() == DEFAULT_POLICY
    assert settings.options().region == "US" and settings.options().shadow_mode is False
    assert settings.options().future_tolerance is None and settings.options().skip_expired is False
    assert ScorerSettings.from_env({**REQUIRED, "SKIP_EXPIRED_BLOCKS": "true"}).options().skip_expired is True
    assert ScorerSettings.from_env({**REQUIRED, "FUTURE_TOLERANCE_HOURS": "24"}).options().future_tolerance == \
        timedelta(hours=24)


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_resource_names_have_no_defaults(missing):
    with pytest.raises(SettingsError, match=missing):
        ScorerSettings.from_env({k: v for k, v in REQUIRED.items() if k != missing})


def test_overrides_reach_the_policy_and_options():
    settings = ScorerSettings.from_env({**REQUIRED, "SHADOW_MODE": "true", "DEFAULT_REGION": "gb",
                                        "PREFIX_BLOCK_DAYS": "5", "RANGE_BLOCKING": "false",
                                        "NUMBER_BLOCK_SCORE": "2.5"})
    policy = settings.policy()
    assert (policy.prefix_block_days, policy.range_blocking, policy.number_block_score) == (5.0, False, 2.5)
    assert policy.number_block_days == DEFAULT_POLICY.number_block_days
    assert settings.options().shadow_mode is True and settings.options().region == "GB"


@pytest.mark.parametrize("name, value", [("DEFAULT_REGION", "XX"), ("PREFIX_BLOCK_DAYS", "-1"),
                                         ("SHADOW_MODE", "perhaps")])
def test_a_bad_value_is_named(name, value):
    with pytest.raises(SettingsError, match=name):
        ScorerSettings.from_env({**REQUIRED, name: value})
