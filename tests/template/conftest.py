"""Fixtures: template.yaml as written (`sam`) and as aws-sam-translator turns it into CloudFormation
(`translated`, offline: a stub managed-policy map, a boto session with a fixed region, sockets refused)."""

from __future__ import annotations

import socket

import boto3
import pytest
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

from tests.template.cfn import TEMPLATE, packaged

REGION = "us-east-1"

# Only consulted for roles SAM generates with managed policies; template.yaml uses none (a test checks).
STUB_MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSLambdaSQSQueueExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
}

# Logical id -> functions/<name>/: the six functions DESIGN.md describes.
FUNCTIONS = {
    "ScorerFunction": "scorer",
    "BlockerFunction": "blocker",
    "IngestFunction": "ingest",
    "ExpirerFunction": "expirer",
    "ReconcilerFunction": "reconciler",
    "BackfillFunction": "backfill",
}


class NetworkRefused(AssertionError):
    pass


def _refuse(*args, **kwargs):
    raise NetworkRefused(f"a template test tried to open a connection: {args!r}")


@pytest.fixture(scope="session")
def sam() -> dict:
    return yaml_parse(TEMPLATE.read_text())


@pytest.fixture(scope="session")
def translated(sam) -> dict:
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="testing",
                                    aws_secret_access_key="testing")
    original = socket.socket.connect
    socket.socket.connect = _refuse  # the translation must not need AWS
    try:
        translator = Translator(STUB_MANAGED_POLICIES, Parser(), boto_session=session)
        return translator.translate(packaged(sam), parameter_values={})
    finally:
        socket.socket.connect = original
