"""`spam-blocker report`: a contract event on IngestQueue, validated as the scorer validates it."""

import json

import boto3
import pytest
from moto import mock_aws

from local.cli import main


@pytest.fixture
def queue(monkeypatch):
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="ingest")["QueueUrl"]
        monkeypatch.setenv("INGEST_QUEUE_URL", url)
        yield sqs, url


def _bodies(sqs, url):
    return [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]


def test_a_report_is_sent_as_the_contract_event(queue, capsys):
    sqs, url = queue
    code = main(["report", "(907) 555-0123", "--reporter", "ext-1042", "--reason", "robocall",
                 "--at", "2026-11-20T14:05:00Z"])
    assert code == 0
    assert _bodies(sqs, url) == [{"type": "spam_report", "phone_number": "(907) 555-0123", "reporter": "ext-1042",
                                  "reported_at": "2026-11-20T14:05:00Z", "reason": "robocall"}]
    assert json.loads(capsys.readouterr().out)["sent"]["type"] == "spam_report"


def test_not_spam_is_sent_as_not_spam(queue):
    sqs, url = queue
    assert main(["report", "+18005550199", "--reporter", "ext-7", "--not-spam", "--at", "2026-11-20T15:00:00Z"]) == 0
    assert _bodies(sqs, url)[0]["type"] == "not_spam"


@pytest.mark.parametrize("argv, reason", [
    (["report", "not-a-number", "--reporter", "x"], "phone_number"),
    (["report", "+19075550123", "--reporter", "x", "--at", "2026-11-20T14:05:00"], "zone"),
    (["report", "911", "--reporter", "x"], "never scored"),
    (["report", "+19075550123", "--reporter", "x", "--at", "2099-01-01T00:00:00Z"], "in the future"),
])
def test_what_the_scorer_would_reject_is_never_sent(queue, capsys, argv, reason):
    sqs, url = queue
    assert main(argv) == 2
    assert reason in capsys.readouterr().err
    assert _bodies(sqs, url) == []


def test_without_a_queue_it_says_so(monkeypatch, capsys):
    monkeypatch.delenv("INGEST_QUEUE_URL", raising=False)
    assert main(["report", "+19075550123", "--reporter", "x"]) == 2
    assert "INGEST_QUEUE_URL" in capsys.readouterr().err
