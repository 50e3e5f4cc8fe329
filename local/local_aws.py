"""The AWS side of the local pipeline: moto in-process, with the same queues and tables as template.yaml.

`LocalAws` starts moto, creates IngestQueue and BlockQueue (each with a DLQ and a redrive policy), the
Blocks, RateLimit, Evidence and Deliveries tables, and returns the environment every handler reads its
settings from — the same variable names the deployed functions get from template.yaml.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from local.moto_locks import make_moto_thread_safe

REGION = "us-east-1"
MAX_RECEIVE_COUNTS = {"ingest": 5, "block": 25}  # template.yaml's redrive policies
# Locally a crashed batch reappears after this long (AWS: 6 x the function timeout); short, so a run
# with a transient failure finishes in seconds rather than minutes.
LOCAL_VISIBILITY_S = 20


@dataclass
class LocalResources:
    sqs: Any
    dynamodb: Any
    queues: dict[str, str] = field(default_factory=dict)  # logical name -> URL
    tables: dict[str, str] = field(default_factory=dict)  # logical name -> table name

    def env(self) -> dict[str, str]:
        return {
            "INGEST_QUEUE_URL": self.queues["ingest"],
            "INGEST_DLQ_URL": self.queues["ingest-dlq"],
            "BLOCK_QUEUE_URL": self.queues["block"],
            "BLOCK_DLQ_URL": self.queues["block-dlq"],
            "EVIDENCE_TABLE": self.tables["evidence"],
            "BLOCKS_TABLE": self.tables["blocks"],
            "RATE_LIMIT_TABLE": self.tables["rate-limit"],
            "DELIVERIES_TABLE": self.tables["deliveries"],
            "CHECKPOINTS_TABLE": self.tables["checkpoints"],
        }


class LocalAws:
    """Context manager: moto started, resources created, AWS env (fake credentials) in place."""

    def __init__(self) -> None:
        self._mock = None
        self._saved_env: dict[str, str | None] = {}

    def __enter__(self) -> LocalResources:
        from moto import mock_aws

        fake = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION}
        for name in (*fake, "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            self._saved_env[name] = os.environ.get(name)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            os.environ.pop(name, None)
        os.environ.update(fake)
        make_moto_thread_safe()
        self._mock = mock_aws()
        self._mock.start()
        return create_resources()

    def __exit__(self, *exc: object) -> None:
        if self._mock is not None:
            self._mock.stop()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def create_resources(*, exist_ok: bool = False) -> LocalResources:
    import boto3
    from spam_blocker.adapters import tables

    sqs = boto3.client("sqs", region_name=REGION)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    resources = LocalResources(sqs=sqs, dynamodb=dynamodb)
    for name in ("ingest", "block"):
        dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(QueueName=name, Attributes={
            "VisibilityTimeout": str(LOCAL_VISIBILITY_S),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNTS[name])}),
        })["QueueUrl"]
        resources.queues[name] = url
        resources.queues[f"{name}-dlq"] = dlq_url
    shapes = {
        "evidence": tables.EVIDENCE_TABLE,
        "blocks": tables.BLOCKS_TABLE,
        "rate-limit": tables.RATE_LIMIT_TABLE,
        "deliveries": tables.DELIVERIES_TABLE,
        "checkpoints": tables.CHECKPOINTS_TABLE,
    }
    for name, shape in shapes.items():
        try:
            tables.create_table(dynamodb, name, shape)
        except dynamodb.exceptions.ResourceInUseException:
            if not exist_ok:
                raise
        resources.tables[name] = name
    return resources


def _main() -> None:  # pragma: no cover - run as a subprocess by tests/e2e/test_ops_cli.py
    """`python -m local.local_aws`: create the queues and tables in the AWS that boto3 is pointed at (a
    `moto_server` through AWS_ENDPOINT_URL, with any credentials) and print the exports the ops commands
    read. Docs: docs/operations.md, "Against a moto_server"."""
    import shlex

    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint:
        raise SystemExit("python -m local.local_aws: set AWS_ENDPOINT_URL to a moto_server (e.g. http://127.0.0.1:5000)")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    resources = create_resources(exist_ok=True)  # run again: the same exports
    aws = {"AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": REGION,
           "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"], "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"]}
    for name, value in {**aws, **resources.env()}.items():
        print(f"export {name}={shlex.quote(value)}")


if __name__ == "__main__":  # pragma: no cover
    _main()
