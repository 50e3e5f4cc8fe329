"""ExpirerSettings: the scorer's Policy overrides give the ops defaults and reach `explain`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from spam_blocker.clock import ManualClock
from spam_blocker.config.expirer import ExpirerSettings
from spam_blocker.domain.scoring import DEFAULT_POLICY
from spam_blocker.wiring.expirer import build_deps

from tests.fakes.zoom import FakeZoom

REQUIRED = {"BLOCKS_TABLE": "blocks", "EVIDENCE_TABLE": "evidence", "RATE_LIMIT_TABLE": "rate",
            "ZOOM_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:zoom"}


def test_unset_everything_is_the_documented_policy():
    settings = ExpirerSettings.from_env(REQUIRED)
    assert settings.policy() == DEFAULT_POLICY
    assert settings.unblock_cooldown == timedelta(days=DEFAULT_POLICY.not_spam_cooldown_days)
    renewal = settings.renewal()
    assert (renewal.number_days, renewal.prefix_days) == (DEFAULT_POLICY.number_block_days, DEFAULT_POLICY.prefix_block_days)


def test_the_scorers_overrides_give_the_ops_defaults_and_explicit_values_win():
    settings = ExpirerSettings.from_env({**REQUIRED, "NOT_SPAM_COOLDOWN_DAYS": "7", "NUMBER_BLOCK_DAYS": "20",
                                         "PREFIX_BLOCK_DAYS": "2"})
    assert settings.unblock_cooldown == timedelta(days=7)
    assert (settings.renewal().number_days, settings.renewal().prefix_days) == (20, 2)
    explicit = ExpirerSettings.from_env({**REQUIRED, "NOT_SPAM_COOLDOWN_DAYS": "7", "UNBLOCK_COOLDOWN_DAYS": "45",
                                         "NUMBER_BLOCK_DAYS": "20", "RENEW_NUMBER_DAYS": "60"})
    assert explicit.unblock_cooldown == timedelta(days=45) and explicit.renewal().number_days == 60


def test_explain_decides_with_the_overrides():
    settings = ExpirerSettings.from_env({**REQUIRED, "NUMBER_BLOCK_SCORE": "2.5", "LEGIT_WINDOW_DAYS": "30"})
    deps = build_deps(settings, dynamodb=None, zoom=FakeZoom(ManualClock(datetime(2026, 11, 20, tzinfo=UTC))), account="acct")
    assert deps.explainer.policy.number_block_score == 2.5 and deps.explainer.policy.legit_window_days == 30
