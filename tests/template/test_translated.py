"""Properties of the translated template that only show up deployed: redrive, visibility vs timeout,
partial batch responses, bounded blocker concurrency, table shapes, TTL/PITR, schedules, secrets,
least-privilege IAM, alarms, outputs."""

from __future__ import annotations

import json
import re

import pytest
from spam_blocker import observability
from spam_blocker.adapters import tables
from spam_blocker.domain.events import parse_ingest_event

from tests.template.cfn import ROOT, as_list, refs, resources_of_type, table_shapes
from tests.template.conftest import FUNCTIONS

BATCH_FAILURES = ["ReportBatchItemFailures"]
DLQ_RETENTION_S = 14 * 24 * 3600


def _functions(translated):
    return resources_of_type(translated, "AWS::Lambda::Function")


def _sqs_mappings(translated):
    """(function logical id, queue logical id, mapping properties) for every SQS event source."""
    queues = resources_of_type(translated, "AWS::SQS::Queue")
    found = []
    for mapping in resources_of_type(translated, "AWS::Lambda::EventSourceMapping").values():
        props = mapping["Properties"]
        (queue,) = refs(props["EventSourceArn"])
        (function,) = refs(props["FunctionName"])
        assert queue in queues
        found.append((function, queue, props))
    return found


def _dlq_of(queue: dict) -> str:
    (dlq,) = refs(queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
    return dlq


# ------------------------------------------------------------------------------------------- functions


def test_every_designed_function_is_declared(translated):
    assert set(_functions(translated)) == set(FUNCTIONS)


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_function_runtime_architecture_logging_and_layer(translated, logical_id):
    props = _functions(translated)[logical_id]["Properties"]
    major, minor = re.fullmatch(r"python(\d+)\.(\d+)", props["Runtime"]).groups()
    assert (int(major), int(minor)) >= (3, 12)
    assert props["Architectures"] == ["arm64"]
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    (log_group,) = refs(props["LoggingConfig"]["LogGroup"])
    assert translated["Resources"][log_group]["Type"] == "AWS::Logs::LogGroup"
    layers = [refs(layer) for layer in props["Layers"]]
    assert len(layers) == 1
    (layer_id,) = layers[0]
    layer = translated["Resources"][layer_id]
    assert layer["Type"] == "AWS::Lambda::LayerVersion"
    assert props["Runtime"] in layer["Properties"]["CompatibleRuntimes"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_powertools_settings_come_from_the_environment(translated, logical_id):
    env = _functions(translated)[logical_id]["Properties"]["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == observability.SERVICE
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == observability.NAMESPACE == "ZoomSpamBlocker"
    assert refs(env["POWERTOOLS_LOG_LEVEL"]) == {"LogLevel"}


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_code_and_handler_point_at_the_build_layout(sam, logical_id):
    name = FUNCTIONS[logical_id]
    props = sam["Resources"][logical_id]["Properties"]
    assert props["CodeUri"] == f"build/functions/{name}"
    assert props["Handler"] == f"functions.{name}.handler.lambda_handler"


def test_layer_is_built_for_the_functions_runtime_and_architecture(sam, translated):
    from scripts import build_lambda

    (layer,) = [r for r in sam["Resources"].values() if r["Type"] == "AWS::Serverless::LayerVersion"]
    assert layer["Properties"]["ContentUri"] == "build/layer"
    runtimes = {f["Properties"]["Runtime"] for f in _functions(translated).values()}
    assert runtimes == {f"python{build_lambda.PYTHON_VERSION}"}  # the wheels' ABI is the runtime's
    assert build_lambda.PLATFORM.endswith("aarch64")  # arm64


# ------------------------------------------------------------------------------------------- queues


def test_every_sqs_consumer_reports_batch_item_failures(translated):
    mappings = _sqs_mappings(translated)
    assert {f for f, _, _ in mappings} == {"ScorerFunction", "BlockerFunction"}
    for function, _, props in mappings:
        assert props["FunctionResponseTypes"] == BATCH_FAILURES, function


def test_scorer_consumes_ingest_queue_and_blocker_consumes_block_queue(translated):
    assert {(f, q) for f, q, _ in _sqs_mappings(translated)} == {
        ("ScorerFunction", "IngestQueue"), ("BlockerFunction", "BlockQueue")}


def test_blocker_concurrency_is_bounded_by_a_parameter(translated):
    (props,) = [p for f, _, p in _sqs_mappings(translated) if f == "BlockerFunction"]
    assert refs(props["ScalingConfig"]["MaximumConcurrency"]) == {"BlockerMaxConcurrency"}
    param = translated["Parameters"]["BlockerMaxConcurrency"]
    assert param["Type"] == "Number"
    assert param["MinValue"] >= 2  # SQS event sources refuse less than 2
    assert 2 <= param["Default"] <= 10


def test_consumed_queues_have_a_dlq_and_a_visibility_of_six_function_timeouts(translated):
    queues = resources_of_type(translated, "AWS::SQS::Queue")
    functions = _functions(translated)
    for function, queue, _ in _sqs_mappings(translated):
        props = queues[queue]["Properties"]
        redrive = props["RedrivePolicy"]
        assert int(redrive["maxReceiveCount"]) >= 5, queue
        assert _dlq_of(queues[queue]) in queues
        assert props["VisibilityTimeout"] >= 6 * functions[function]["Properties"]["Timeout"], queue


def test_every_queue_is_either_redriven_or_a_long_lived_dlq(translated):
    queues = resources_of_type(translated, "AWS::SQS::Queue")
    dlqs = {_dlq_of(q) for q in queues.values() if "RedrivePolicy" in q["Properties"]}
    dlqs |= {d for s in resources_of_type(translated, "AWS::Scheduler::Schedule").values()
             for d in refs(s["Properties"]["Target"]["DeadLetterConfig"])}
    for name, queue in queues.items():
        if name in dlqs:
            assert queue["Properties"]["MessageRetentionPeriod"] == DLQ_RETENTION_S, name
            assert "RedrivePolicy" not in queue["Properties"], name
        else:
            assert "RedrivePolicy" in queue["Properties"], f"{name} has no DLQ"


# ------------------------------------------------------------------------------------------- tables


def _normalised(shape: dict) -> dict:
    return {
        "KeySchema": shape["KeySchema"],
        "AttributeDefinitions": sorted(shape["AttributeDefinitions"], key=lambda a: a["AttributeName"]),
        "GlobalSecondaryIndexes": sorted(shape.get("GlobalSecondaryIndexes", []), key=lambda i: i["IndexName"]),
        "BillingMode": shape["BillingMode"],
    }


def test_tables_are_exactly_the_shapes_in_tables_py(translated):
    declared = resources_of_type(translated, "AWS::DynamoDB::Table")
    shapes = table_shapes()
    assert {"BlocksTable", "RateLimitTable", "EvidenceTable", "DeliveriesTable"} <= set(shapes)
    assert set(declared) == set(shapes)
    for name, shape in shapes.items():
        assert _normalised(declared[name]["Properties"]) == _normalised(shape), name


def test_blocks_table_has_the_expiry_index_the_expirer_queries(translated):
    indexes = translated["Resources"]["BlocksTable"]["Properties"]["GlobalSecondaryIndexes"]
    assert [i["IndexName"] for i in indexes] == [tables.BLOCKS_EXPIRY_INDEX]


@pytest.mark.parametrize("name", sorted(table_shapes()))
def test_tables_are_on_demand_with_ttl_and_point_in_time_recovery(translated, name):
    props = translated["Resources"][name]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in props
    assert props["TimeToLiveSpecification"] == {"AttributeName": tables.TTL_ATTRIBUTE, "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_stateful_tables_survive_stack_deletion_and_replacement(translated):
    retained = {name for name, t in resources_of_type(translated, "AWS::DynamoDB::Table").items()
                if t.get("DeletionPolicy") == "Retain" and t.get("UpdateReplacePolicy") == "Retain"}
    assert retained == {"BlocksTable", "EvidenceTable"}  # the others hold leases, limits and checkpoints


# ------------------------------------------------------------------------------------------- schedules


def _schedule_for(translated, function):
    found = [s["Properties"] for s in resources_of_type(translated, "AWS::Scheduler::Schedule").values()
             if refs(s["Properties"]["Target"]["Arn"]) == {function}]
    assert len(found) == 1, f"{function}: {len(found)} schedules"
    return found[0]


@pytest.mark.parametrize("function, parameter", [("ExpirerFunction", "ExpirySchedule"),
                                                 ("ReconcilerFunction", "ReconcileSchedule")])
def test_scheduled_functions_get_the_schedule_time_as_now(translated, function, parameter):
    props = _schedule_for(translated, function)
    assert refs(props["ScheduleExpression"]) == {parameter}
    assert json.loads(props["Target"]["Input"]) == {"now": "<aws.scheduler.scheduled-time>"}
    assert props["Target"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert refs(props["Target"]["DeadLetterConfig"]["Arn"]) == {"ScheduleDLQ"}
    assert "Name" not in props  # generated names: two stacks in one account do not collide
    role = translated["Resources"][next(iter(refs(props["Target"]["RoleArn"])))]
    statements = [s for p in role["Properties"]["Policies"] for s in as_list(p["PolicyDocument"]["Statement"])]
    invoke = [s for s in statements if s["Action"] == "lambda:InvokeFunction"]
    assert [refs(s["Resource"]) for s in invoke] == [{function}]


def test_expiry_schedule_defaults_to_hourly_and_reconcile_to_daily(translated):
    assert translated["Parameters"]["ExpirySchedule"]["Default"] == "rate(1 hour)"
    assert re.fullmatch(r"cron\(\d+ \d+ \* \* \? \*\)", translated["Parameters"]["ReconcileSchedule"]["Default"])


# ------------------------------------------------------------------------------------------- secrets


SECRET_ENV = {"ZOOM_SECRET_ARN": "ZoomSecret", "ZOOM_WEBHOOK_SECRET_ARN": "ZoomWebhookSecret"}


def test_zoom_credentials_and_webhook_secret_live_in_secrets_manager(translated):
    secrets = resources_of_type(translated, "AWS::SecretsManager::Secret")
    assert set(secrets) == set(SECRET_ENV.values())
    credentials = json.loads(secrets["ZoomSecret"]["Properties"]["SecretString"])
    assert set(credentials) == {"account_id", "client_id", "client_secret"}  # adapters/secrets.py reads these
    webhook = json.loads(secrets["ZoomWebhookSecret"]["Properties"]["SecretString"])
    assert set(webhook) == {"secret_token"}  # wiring/ingest.secret_from_string reads this


def test_secret_arns_reach_exactly_the_functions_that_call_zoom(translated):
    users = {name: {key for key in SECRET_ENV if key in f["Properties"]["Environment"]["Variables"]}
             for name, f in _functions(translated).items()}
    assert users == {
        "ScorerFunction": set(), "IngestFunction": {"ZOOM_WEBHOOK_SECRET_ARN"},
        "BlockerFunction": {"ZOOM_SECRET_ARN"}, "ExpirerFunction": {"ZOOM_SECRET_ARN"},
        "ReconcilerFunction": {"ZOOM_SECRET_ARN"}, "BackfillFunction": {"ZOOM_SECRET_ARN"},
    }
    for name, keys in users.items():
        env = _functions(translated)[name]["Properties"]["Environment"]["Variables"]
        for key in keys:
            assert env[key] == {"Ref": SECRET_ENV[key]}


# ------------------------------------------------------------------------------------------- IAM


def _statements(policy_holder: dict) -> list[dict]:
    out = []
    for policy in policy_holder["Properties"].get("Policies", []):
        out += as_list(policy["PolicyDocument"]["Statement"])
    if "PolicyDocument" in policy_holder["Properties"]:
        out += as_list(policy_holder["Properties"]["PolicyDocument"]["Statement"])
    return out


def _role_of(translated, function: str) -> dict:
    (role,) = refs(translated["Resources"][function]["Properties"]["Role"])
    return translated["Resources"][role]


def test_no_managed_policies_and_no_wildcard_actions_or_resources(translated):
    holders = {**resources_of_type(translated, "AWS::IAM::Role"), **resources_of_type(translated, "AWS::IAM::Policy")}
    assert len(resources_of_type(translated, "AWS::IAM::Role")) >= len(FUNCTIONS)
    for name, holder in holders.items():
        assert not holder["Properties"].get("ManagedPolicyArns"), name
        for statement in _statements(holder):
            assert statement["Effect"] == "Allow", name
            for action in as_list(statement["Action"]):
                assert "*" not in action, f"{name}: {action}"
            for resource in as_list(statement["Resource"]):
                assert resource != "*", name
                named = refs(resource)
                # Every resource is one of this stack's own, named through an intrinsic, never a literal ARN.
                assert named and named <= set(translated["Resources"]), f"{name}: {resource!r}"


def test_queue_policy_lets_only_the_spam_report_rule_send(translated):
    (policy,) = resources_of_type(translated, "AWS::SQS::QueuePolicy").values()
    (statement,) = _statements(policy)
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert refs(statement["Condition"]["ArnEquals"]["aws:SourceArn"]) == {"SpamReportRule"}


def test_only_the_function_url_is_public(translated):
    for name, permission in resources_of_type(translated, "AWS::Lambda::Permission").items():
        props = permission["Properties"]
        assert refs(props["FunctionName"]) == {"IngestFunction"}, name
        # Public by design: Zoom calls it; every request is verified by its x-zm-signature.
        assert props.get("FunctionUrlAuthType") == "NONE" or props.get("InvokedViaFunctionUrl") is True, name
    (url,) = resources_of_type(translated, "AWS::Lambda::Url").values()
    assert refs(url["Properties"]["TargetFunctionArn"]) == {"IngestFunction"}


_ENV_SERVICE = {"AWS::SQS::Queue": "sqs", "AWS::DynamoDB::Table": "dynamodb",
                "AWS::SecretsManager::Secret": "secretsmanager"}


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_role_reaches_exactly_what_its_function_is_configured_with(translated, function):
    """Least privilege both ways: every queue, table and secret in the environment (and the polled queue)
    is granted, and nothing else is (besides the function's own log group and the index of a granted table)."""
    resources = translated["Resources"]
    props = resources[function]["Properties"]
    configured = {r for value in props["Environment"]["Variables"].values() for r in refs(value)
                  if r in resources and resources[r]["Type"] in _ENV_SERVICE}
    polled = {q for f, q, _ in _sqs_mappings(translated) if f == function}
    (log_group,) = refs(props["LoggingConfig"]["LogGroup"])

    granted: dict[str, set[str]] = {}
    for statement in _statements(_role_of(translated, function)):
        for resource in as_list(statement["Resource"]):
            for name in refs(resource):
                granted.setdefault(name, set()).update(as_list(statement["Action"]))
    assert set(granted) == configured | polled | {log_group}
    assert granted[log_group] == {"logs:CreateLogStream", "logs:PutLogEvents"}
    for name in configured | polled:
        service = _ENV_SERVICE[resources[name]["Type"]]
        assert {a.split(":")[0] for a in granted[name]} == {service}, name
    for queue in polled:
        assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} <= granted[queue]
    for name in configured:
        if resources[name]["Type"] == "AWS::SecretsManager::Secret":
            assert granted[name] == {"secretsmanager:GetSecretValue"}


def _actions_on(translated, function: str, resource: str) -> set[str]:
    return {a for s in _statements(_role_of(translated, function)) if resource in refs(s["Resource"])
            for a in as_list(s["Action"])}


def test_blocker_may_defer_rate_limited_requests_on_its_own_queue(translated):
    # services/blocker_batch.py: ChangeMessageVisibility, or a fresh delayed copy after many receives.
    assert {"sqs:ChangeMessageVisibility", "sqs:SendMessage"} <= _actions_on(translated, "BlockerFunction", "BlockQueue")


def test_scorer_reads_blocks_but_never_writes_them(translated):
    actions = _actions_on(translated, "ScorerFunction", "BlocksTable")
    assert actions and all(a.split(":")[1].startswith(("Get", "BatchGet", "Query")) for a in actions)


def test_expirer_may_query_the_expiry_index(translated):
    statements = _statements(_role_of(translated, "ExpirerFunction"))
    index_arns = [r for s in statements if "dynamodb:Query" in as_list(s["Action"]) for r in as_list(s["Resource"])
                  if isinstance(r, dict) and "Fn::Sub" in r]
    assert {"Fn::Sub": "${BlocksTable.Arn}/index/" + tables.BLOCKS_EXPIRY_INDEX} in index_arns


# ------------------------------------------------------------------------------------------- event bus


def test_spam_reports_on_the_event_bus_reach_ingest_queue_as_contract_events(translated):
    (rule,) = resources_of_type(translated, "AWS::Events::Rule").values()
    props = rule["Properties"]
    assert sorted(props["EventPattern"]["detail-type"]) == ["Not Spam", "Spam Report"]
    (target,) = props["Targets"]
    assert refs(target["Arn"]) == {"IngestQueue"}
    assert refs(target["DeadLetterConfig"]["Arn"]) == {"IngestDLQ"}
    assert target["InputPath"] == "$.detail"
    # The body the scorer receives is the event's detail: a contract event parses as published.
    event = {"detail-type": "Spam Report", "source": "crm", "detail": {
        "type": "spam_report", "phone_number": "+1 (907) 555-0123", "reporter": "ext-1042",
        "reported_at": "2026-11-20T14:05:00Z", "reason": "robocall"}}
    body = json.dumps(event[target["InputPath"].removeprefix("$.")])
    assert parse_ingest_event(body).type == "spam_report"


# ------------------------------------------------------------------------------------------- alarms


def _alarms(translated):
    return [a["Properties"] for a in resources_of_type(translated, "AWS::CloudWatch::Alarm").values()]


def test_every_alarm_notifies_the_alarm_topic(translated):
    for alarm in _alarms(translated):
        assert [refs(a) for a in alarm["AlarmActions"]] == [{"AlarmTopic"}]
        assert alarm["TreatMissingData"] == "notBreaching"


def test_every_dlq_has_a_depth_alarm(translated):
    queues = resources_of_type(translated, "AWS::SQS::Queue")
    dlqs = {_dlq_of(q) for q in queues.values() if "RedrivePolicy" in q["Properties"]} | {"ScheduleDLQ"}
    watched = {next(iter(refs(d["Value"]))) for a in _alarms(translated) if a["Namespace"] == "AWS/SQS"
               and a["MetricName"] == "ApproximateNumberOfMessagesVisible" for d in a["Dimensions"]
               if d["Name"] == "QueueName"}
    assert watched == dlqs


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_function_has_error_and_throttle_alarms(translated, metric):
    watched = [next(iter(refs(d["Value"]))) for a in _alarms(translated)
               if a["Namespace"] == "AWS/Lambda" and a["MetricName"] == metric for d in a["Dimensions"]]
    assert sorted(watched) == sorted(FUNCTIONS)


def test_zoom_429s_alarm_on_the_metric_the_blocker_emits(translated):
    (alarm,) = [a for a in _alarms(translated) if a["MetricName"] == "ZoomThrottled"]
    assert alarm["Namespace"] == observability.NAMESPACE
    # Powertools Metrics puts the service in a `service` dimension; an alarm must name it to match.
    assert alarm["Dimensions"] == [{"Name": "service", "Value": observability.SERVICE}]
    assert refs(alarm["Threshold"]) == {"ZoomThrottledAlarmThreshold"}
    sources = "\n".join(p.read_text() for p in (ROOT / "shared" / "spam_blocker").rglob("*.py"))
    assert re.search(r"add_metric\(\s*name=\"ZoomThrottled\"", sources)


# ------------------------------------------------------------------------------------------- parameters, outputs


def test_parameters_cover_plan_region_thresholds_expiry_and_concurrency(translated):
    from spam_blocker.domain.rate_plan import PLANS

    params = translated["Parameters"]
    assert sorted(params["ZoomPlan"]["AllowedValues"]) == sorted(PLANS)
    assert params["ExpiryAction"]["AllowedValues"] == ["delete", "deactivate"]
    assert params["DefaultRegion"]["Default"] == "US"
    scorer_env = _functions(translated)["ScorerFunction"]["Properties"]["Environment"]["Variables"]
    thresholds = {"NumberBlockScore", "NumberBlockDays", "PrefixBlockDays", "RangeBlocking", "RangeMinReporters",
                  "NotSpamCooldownDays"}
    assert thresholds <= {r for v in scorer_env.values() for r in refs(v)}
    for name in thresholds:
        assert params[name]["Default"] == "", f"{name}: empty means the documented default"


def test_every_parameter_is_used(translated):
    used = refs(translated["Resources"]) | refs(translated.get("Conditions", {})) | refs(translated["Outputs"])
    assert set(translated["Parameters"]) <= used


def test_outputs_name_queues_tables_functions_and_the_webhook_url(translated):
    outputs = translated["Outputs"]
    assert refs(outputs["WebhookUrl"]["Value"]) == {"IngestFunctionUrl"}
    expected = {f"{q}Url": q for q in resources_of_type(translated, "AWS::SQS::Queue")}
    expected |= {f"{t}Name": t for t in resources_of_type(translated, "AWS::DynamoDB::Table")}
    for function in FUNCTIONS:
        expected[f"{function}Name"] = function
        expected[f"{function}Arn"] = function
    for key, resource in expected.items():
        assert refs(outputs[key]["Value"]) == {resource}, key
    for function in FUNCTIONS:
        assert outputs[f"{function}Arn"]["Value"] == {"Fn::GetAtt": [function, "Arn"]}

