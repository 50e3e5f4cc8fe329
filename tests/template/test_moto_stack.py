"""The translated template deployed into moto's CloudFormation, then inspected through moto's own SQS,
DynamoDB, Lambda, IAM and EventBridge APIs: the references resolve to the right things (a queue URL
where a URL is read, an ARN where IAM wants one), and the declared settings arrive.

Code artifacts are what `make build` lays out (scripts/build_lambda.py, without the pip step), zipped into
a moto bucket as `sam package` would upload them. Nothing is invoked, so Lambda needs no Docker.

moto's CloudFormation does not implement every type: it warns and skips Secrets Manager secrets,
Scheduler schedules, CloudWatch alarms, the Function URL and the SQS queue policy (the translated-template
tests cover those), and a reference to a skipped resource resolves to nothing. It also rejects an Output
that reads an attribute of a skipped resource, so the WebhookUrl output is left out of the moto copy.
"""

from __future__ import annotations

import ast
import copy
import io
import json
import warnings
import zipfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from moto.cloudformation.parsing import get_model_map
from spam_blocker.adapters import tables

from scripts import build_lambda
from tests.template.cfn import ARTIFACT_BUCKET, local_artifacts, refs, resources_of_type, table_shapes
from tests.template.conftest import FUNCTIONS, REGION

STACK = "zsb-test"
MOTO_SKIPS = {"AWS::SecretsManager::Secret", "AWS::Scheduler::Schedule", "AWS::CloudWatch::Alarm",
              "AWS::Lambda::Url", "AWS::SQS::QueuePolicy"}


def _zip_dir(path: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            archive.write(file, file.relative_to(path).as_posix())
    return buffer.getvalue()


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README", "function not written yet")
    return buffer.getvalue()


def _for_moto(template: dict) -> tuple[dict, set[str]]:
    """A copy without the outputs moto cannot evaluate (GetAtt of a type it skips)."""
    template = copy.deepcopy(template)
    dropped = set()
    for key, output in list(template["Outputs"].items()):
        value = output["Value"]
        if "Fn::GetAtt" in value and template["Resources"][value["Fn::GetAtt"][0]]["Type"] not in get_model_map():
            dropped.add(key)
            del template["Outputs"][key]
    return template, dropped


class Deployed:
    def __init__(self, template: dict, dropped: set[str], skipped_warnings: list[str]) -> None:
        self.template = template
        self.dropped_outputs = dropped
        self.skipped_warnings = skipped_warnings
        self.cf = boto3.client("cloudformation", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.ddb = boto3.client("dynamodb", region_name=REGION)
        self.lam = boto3.client("lambda", region_name=REGION)
        self.iam = boto3.client("iam", region_name=REGION)
        self.events = boto3.client("events", region_name=REGION)
        self.stack = self.cf.describe_stacks(StackName=STACK)["Stacks"][0]
        summaries = self.cf.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
        self.physical = {s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries if s["LogicalResourceId"]}

    def queue_arn(self, logical_id: str) -> str:
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.physical[logical_id], AttributeNames=["QueueArn"])
        return attrs["Attributes"]["QueueArn"]

    def function(self, logical_id: str) -> dict:
        return self.lam.get_function_configuration(FunctionName=self.physical[logical_id])

    def outputs(self) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in self.stack.get("Outputs", [])}


@pytest.fixture(scope="module")
def deployed(sam, translated, tmp_path_factory):
    build = tmp_path_factory.mktemp("build")
    build_lambda.build_layer(build, with_deps=False)
    build_lambda.build_functions(build)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=ARTIFACT_BUCKET)
        for key, local in local_artifacts(sam).items():
            built = build / Path(local).relative_to("build")
            body = _zip_dir(built) if built.is_dir() else _placeholder_zip()
            s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=body)
        template, dropped = _for_moto(translated)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            boto3.client("cloudformation", region_name=REGION).create_stack(
                StackName=STACK, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
            deployed = Deployed(translated, dropped, [str(w.message) for w in caught])
        yield deployed


def test_stack_reaches_create_complete(deployed):
    assert deployed.stack["StackStatus"] == "CREATE_COMPLETE"


def test_every_resource_moto_supports_was_created_and_only_known_gaps_were_skipped(deployed):
    declared = deployed.template["Resources"]
    conditional = {name for name, r in declared.items() if "Condition" in r}
    assert conditional == {"AlarmEmailSubscription"}  # off by default (no AlarmEmail)
    created = {name: r for name, r in declared.items() if name not in conditional}
    skipped = {r["Type"] for r in created.values()} - set(get_model_map())
    assert skipped == MOTO_SKIPS
    assert {t for t in MOTO_SKIPS if any(t in w for w in deployed.skipped_warnings)} == MOTO_SKIPS
    supported = {name for name, r in created.items() if r["Type"] in get_model_map()}
    assert set(deployed.physical) == supported
    assert deployed.dropped_outputs == {"WebhookUrl"}


def test_queues_redrive_to_their_dlq_with_visibility_of_six_function_timeouts(deployed):
    for function, queue in (("ScorerFunction", "IngestQueue"), ("BlockerFunction", "BlockQueue")):
        attrs = deployed.sqs.get_queue_attributes(QueueUrl=deployed.physical[queue],
                                                  AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attrs["RedrivePolicy"])
        (dlq,) = refs(deployed.template["Resources"][queue]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        assert redrive["deadLetterTargetArn"] == deployed.queue_arn(dlq)
        assert int(redrive["maxReceiveCount"]) >= 5
        assert int(attrs["VisibilityTimeout"]) >= 6 * deployed.function(function)["Timeout"]


def test_dlqs_keep_messages_for_fourteen_days(deployed):
    for dlq in ("IngestDLQ", "BlockDLQ", "ScheduleDLQ"):
        attrs = deployed.sqs.get_queue_attributes(QueueUrl=deployed.physical[dlq],
                                                  AttributeNames=["MessageRetentionPeriod"])["Attributes"]
        assert attrs["MessageRetentionPeriod"] == str(14 * 24 * 3600)


def test_tables_exist_with_the_shapes_the_code_uses(deployed):
    shapes = table_shapes()
    assert tables.BLOCKS_TABLE is shapes["BlocksTable"]
    for logical, shape in shapes.items():
        table = deployed.ddb.describe_table(TableName=deployed.physical[logical])["Table"]
        assert table["KeySchema"] == shape["KeySchema"], logical
        assert sorted(table["AttributeDefinitions"], key=str) == sorted(shape["AttributeDefinitions"], key=str)
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        indexes = {i["IndexName"]: (i["KeySchema"], i["Projection"]) for i in table.get("GlobalSecondaryIndexes", [])}
        assert indexes == {i["IndexName"]: (i["KeySchema"], i["Projection"])
                           for i in shape.get("GlobalSecondaryIndexes", [])}


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_functions_exist_with_declared_settings_and_resolved_environment(deployed, logical_id):
    declared = deployed.template["Resources"][logical_id]["Properties"]
    config = deployed.function(logical_id)
    assert config["Runtime"] == declared["Runtime"]
    assert config["Handler"] == declared["Handler"]
    assert config["Timeout"] == declared["Timeout"]
    assert config["MemorySize"] == declared["MemorySize"]
    assert config["CodeSize"] > 0
    env = config["Environment"]["Variables"]
    expected = {}
    for key, value in declared["Environment"]["Variables"].items():
        if isinstance(value, str):
            expected[key] = value
            continue
        (name,) = refs(value)
        if name in deployed.template["Parameters"]:
            expected[key] = str(deployed.template["Parameters"][name]["Default"])
        elif deployed.template["Resources"][name]["Type"] in get_model_map():
            expected[key] = deployed.physical[name]  # a queue's URL, a table's name
    assert env == expected
    for key, value in env.items():
        if key.endswith("_URL"):
            assert value.startswith("https://sqs."), key  # Ref of a queue: its URL, as SqsQueue needs
        if key.endswith("_TABLE"):
            deployed.ddb.describe_table(TableName=value)


@pytest.mark.parametrize("function, queue, concurrency", [("ScorerFunction", "IngestQueue", None),
                                                         ("BlockerFunction", "BlockQueue", 4)])
def test_event_source_mappings_poll_the_right_queue_and_report_batch_failures(deployed, function, queue, concurrency):
    (mapping,) = deployed.lam.list_event_source_mappings(FunctionName=deployed.physical[function])["EventSourceMappings"]
    assert mapping["EventSourceArn"] == deployed.queue_arn(queue)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.get("ScalingConfig", {}).get("MaximumConcurrency") == concurrency


def _arns(deployed) -> set[str]:
    """ARNs of everything this stack created that a policy may name."""
    arns = set()
    for logical, resource in deployed.template["Resources"].items():
        physical = deployed.physical.get(logical)
        if physical is None:
            continue
        if resource["Type"] == "AWS::SQS::Queue":
            arns.add(deployed.queue_arn(logical))
        elif resource["Type"] == "AWS::DynamoDB::Table":
            table = deployed.ddb.describe_table(TableName=physical)["Table"]
            arns.add(table["TableArn"])
            # moto omits IndexArn; AWS spells it <table arn>/index/<name>
            arns |= {f"{table['TableArn']}/index/{i['IndexName']}" for i in table.get("GlobalSecondaryIndexes", [])}
        elif resource["Type"] == "AWS::Lambda::Function":
            arns.add(deployed.lam.get_function_configuration(FunctionName=physical)["FunctionArn"])
        elif resource["Type"] == "AWS::Logs::LogGroup":
            group = boto3.client("logs", region_name=REGION).describe_log_groups(logGroupNamePrefix=physical)
            arns |= {g["arn"] for g in group["logGroups"]} | {g["arn"].removesuffix(":*") for g in group["logGroups"]}
    return arns


def test_role_policies_name_only_arns_of_this_stack(deployed):
    arns = _arns(deployed)
    roles = resources_of_type(deployed.template, "AWS::IAM::Role")
    checked = 0
    for logical in roles:
        role = deployed.physical[logical]
        for policy in deployed.iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = deployed.iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
            if isinstance(document, str):  # moto keeps a CloudFormation-made document as the dict's repr
                document = ast.literal_eval(document)
            for statement in document["Statement"]:
                resources = statement.get("Resource", [])  # absent: it named a type moto skips (a secret)
                for resource in resources if isinstance(resources, list) else [resources]:
                    if resource is None:
                        continue
                    assert resource in arns, f"{logical}: {resource}"
                    checked += 1
        assert not deployed.iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"], logical
    assert checked >= 20


def test_function_roles_trust_only_lambda(deployed):
    for logical_id in FUNCTIONS:
        role_arn = deployed.function(logical_id)["Role"]
        role = deployed.iam.get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
        (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_spam_report_rule_forwards_the_detail_to_ingest_queue(deployed):
    name = deployed.physical["SpamReportRule"]
    rule = deployed.events.describe_rule(Name=name)
    assert json.loads(rule["EventPattern"]) == {"detail-type": ["Spam Report", "Not Spam"]}
    (target,) = deployed.events.list_targets_by_rule(Rule=name)["Targets"]
    assert target["Arn"] == deployed.queue_arn("IngestQueue")
    assert target["InputPath"] == "$.detail"
    assert target["DeadLetterConfig"]["Arn"] == deployed.queue_arn("IngestDLQ")


def test_outputs_resolve_to_the_created_resources(deployed):
    outputs = deployed.outputs()
    for queue in ("IngestQueue", "IngestDLQ", "BlockQueue", "BlockDLQ", "ScheduleDLQ"):
        assert outputs[f"{queue}Url"] == deployed.physical[queue]
    for table in table_shapes():
        assert outputs[f"{table}Name"] == deployed.physical[table]
    for function in FUNCTIONS:
        assert outputs[f"{function}Name"] == deployed.physical[function]
        assert outputs[f"{function}Arn"] == deployed.function(function)["FunctionArn"]
