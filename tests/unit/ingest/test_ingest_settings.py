"""config/ingest.py and the secret parsing in wiring/ingest.py: loud, named failures; secrets never shown."""

import pytest
from spam_blocker.config import SettingsError
from spam_blocker.config.ingest import IngestSettings
from spam_blocker.wiring.ingest import secret_from_string

BASE = {"INGEST_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/IngestQueue",
        "DELIVERIES_TABLE": "Deliveries"}


def test_defaults_and_the_local_token():
    settings = IngestSettings.from_env({**BASE, "ZOOM_WEBHOOK_SECRET_TOKEN": "tok-123"})
    assert settings.max_body_bytes == 256 * 1024 and settings.max_skew_s == 300
    assert settings.delivery_ttl_s == 86_400
    assert settings.zoom_webhook_secret_token.get_secret_value() == "tok-123"
    assert "tok-123" not in repr(settings) and "tok-123" not in str(settings)


def test_limits_come_from_the_environment():
    settings = IngestSettings.from_env({**BASE, "ZOOM_WEBHOOK_SECRET_ARN": "arn:aws:secretsmanager:x",
                                        "MAX_BODY_BYTES": "1024", "MAX_SKEW_S": "60"})
    assert (settings.max_body_bytes, settings.max_skew_s) == (1024, 60)


@pytest.mark.parametrize("missing", ["INGEST_QUEUE_URL", "DELIVERIES_TABLE"])
def test_resource_names_have_no_defaults(missing):
    env = {**BASE, "ZOOM_WEBHOOK_SECRET_TOKEN": "t"}
    del env[missing]
    with pytest.raises(SettingsError, match=missing):
        IngestSettings.from_env(env)


@pytest.mark.parametrize("secrets", [{}, {"ZOOM_WEBHOOK_SECRET_TOKEN": "t", "ZOOM_WEBHOOK_SECRET_ARN": "arn:x"}])
def test_exactly_one_secret_source(secrets):
    with pytest.raises(SettingsError, match="exactly one of ZOOM_WEBHOOK_SECRET_TOKEN or ZOOM_WEBHOOK_SECRET_ARN"):
        IngestSettings.from_env({**BASE, **secrets})


@pytest.mark.parametrize("name, value", [("MAX_BODY_BYTES", "0"), ("MAX_SKEW_S", "-5"), ("MAX_SKEW_S", "soon")])
def test_bad_limits_are_named(name, value):
    with pytest.raises(SettingsError, match=name):
        IngestSettings.from_env({**BASE, "ZOOM_WEBHOOK_SECRET_TOKEN": "t", name: value})


def test_a_secrets_manager_value_is_the_token_or_json_with_secret_token():
    assert secret_from_string("plain-token\n").value == b"plain-token"
    assert secret_from_string('{"secret_token": "from-json"}').value == b"from-json"
    with pytest.raises(ValueError, match="secret_token"):
        secret_from_string('{"token": "wrong-field"}')
