"""The runner's check of every function's settings before any work (local/settings_check.py)."""

from __future__ import annotations

import pytest

from local.settings_check import BadSettings, check_function_settings

RESOURCES = {"INGEST_QUEUE_URL": "q", "INGEST_DLQ_URL": "q", "BLOCK_QUEUE_URL": "q", "BLOCK_DLQ_URL": "q",
             "EVIDENCE_TABLE": "t", "BLOCKS_TABLE": "t", "RATE_LIMIT_TABLE": "t", "DELIVERIES_TABLE": "t",
             "CHECKPOINTS_TABLE": "t", "ZOOM_ACCOUNT_ID": "a", "ZOOM_CLIENT_ID": "c", "ZOOM_CLIENT_SECRET": "s"}


def test_the_defaults_pass():
    check_function_settings(RESOURCES)


@pytest.mark.parametrize("name, value, function", [
    ("NUMBER_BLOCK_SCORE", "-1", "scorer"),
    ("SHADOW_MODE", "maybe", "scorer"),
    ("RANGE_WINDOW_DAYS", "0", "scorer"),
    ("PACING_MAX_WAIT_MS", "-1", "blocker"),
    ("ZOOM_PLAN", "bogus", "blocker"),
    ("ADOPT_NUMBER_DAYS", "0", "reconciler"),
    ("RENEW_MIN_PREFIX_MATES", "0", "expirer"),
])
def test_a_bad_value_names_the_function_and_the_variable(name, value, function):
    with pytest.raises(BadSettings) as raised:
        check_function_settings({**RESOURCES, name: value})

    assert str(raised.value).startswith(f"the {function}'s settings: ")
    assert name in str(raised.value) or value in str(raised.value)


def test_a_missing_resource_is_named():
    with pytest.raises(BadSettings, match="BLOCKS_TABLE"):
        check_function_settings({k: v for k, v in RESOURCES.items() if k != "BLOCKS_TABLE"})
