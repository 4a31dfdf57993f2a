"""template.yaml: linted, and wired the way the code and the local stack expect."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.resources import LocalNames, s3_event_queue
from local.template import ROOT, Template


def test_cfn_lint_reports_nothing() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "template.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_reports_nothing() -> None:
    sam = ROOT / ".venv-sam" / "bin" / "sam"
    sam_path = str(sam) if sam.exists() else shutil.which("sam")
    assert sam_path, "SAM CLI not found: `make test` installs it into .venv-sam"
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}
    result = subprocess.run(
        [sam_path, "validate", "--lint"], cwd=ROOT, capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_results_bucket_expires_temporary_results_after_one_day(template: Template) -> None:
    rules = template.resources["ResultsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert {
        "Id": "ExpireTemporaryResults",
        "Status": "Enabled",
        "Prefix": "tmp/",
        "ExpirationInDays": 1,
    } in rules


def test_ingest_bucket_is_private_encrypted_and_expires_staged_inputs(template: Template) -> None:
    props = template.resources["IngestBucket"]["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert any(
        r.get("ExpirationInDays") == 1 and "Prefix" not in r for r in props["LifecycleConfiguration"]["Rules"]
    )


def test_processor_is_triggered_by_objects_created_under_inputs(template: Template) -> None:
    event = template.functions()["ProcessorFunction"].events["StagedInput"]
    assert event["Type"] == "S3"
    assert event["Properties"]["Bucket"] == {"Ref": "IngestBucket"}
    assert event["Properties"]["Events"] == "s3:ObjectCreated:*"
    assert event["Properties"]["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "inputs/"}]


def test_processor_failures_go_to_an_sqs_destination_consumed_by_a_function(template: Template) -> None:
    config = template.functions()["ProcessorFunction"].event_invoke_config
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["ProcessorFailuresQueue", "Arn"]},
    }
    consumer = template.functions()["FailedEventsFunction"].events["FailedEventsFunctionFailures"]
    assert consumer["Type"] == "SQS"
    assert consumer["Properties"]["Queue"] == {"Fn::GetAtt": ["ProcessorFailuresQueue", "Arn"]}


@pytest.mark.parametrize("name", ["ApiFunction", "ProcessorFunction", "FailedEventsFunction"])
def test_every_handler_path_exists(template: Template, name: str) -> None:
    spec = template.functions()[name]
    module, func = spec.handler.rsplit(".", 1)
    source = spec.code_uri / f"{module}.py"
    assert source.is_file()
    assert f"def {func}(" in source.read_text()


def test_the_template_routes_the_edit_paths_to_the_api_function(template: Template) -> None:
    paths = {
        (ev["Properties"]["Method"], ev["Properties"]["Path"])
        for ev in template.functions()["ApiFunction"].events.values()
    }
    assert {
        ("POST", "/v1/image/edit"),
        ("POST", "/v1/image/edit/async"),
        ("GET", "/v1/image/edit/async/{task_id}"),
    } <= paths


def test_only_the_processor_has_the_pillow_layer(template: Template) -> None:
    layers = {name: spec.layers for name, spec in template.functions().items()}
    assert layers["ProcessorFunction"] == ["CoreLayer", "PillowLayer"]
    assert all("PillowLayer" not in v for k, v in layers.items() if k != "ProcessorFunction")


def test_layers_target_the_functions_runtime_and_architecture(template: Template) -> None:
    runtime = template.data["Globals"]["Function"]["Runtime"]
    arch = template.data["Globals"]["Function"]["Architectures"]
    for name in ("CoreLayer", "PillowLayer"):
        layer = template.resources[name]
        assert layer["Properties"]["CompatibleRuntimes"] == [runtime]
        assert layer["Properties"]["CompatibleArchitectures"] == arch
        assert layer["Metadata"]["BuildArchitecture"] == arch[0]
    assert "manylinux_2_28_aarch64" in (ROOT / "layers/pillow/Makefile").read_text()


def test_moto_resources_are_built_from_the_template(aws: LocalNames) -> None:
    s3 = boto3.client("s3")
    results = aws.bucket("ResultsBucket")
    rules = s3.get_bucket_lifecycle_configuration(Bucket=results)["Rules"]
    assert rules[0]["Expiration"]["Days"] == 1 and rules[0]["Filter"]["Prefix"] == "tmp/"
    table = boto3.client("dynamodb").describe_table(TableName=aws.table("TasksTable"))["Table"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    ttl = boto3.client("dynamodb").describe_time_to_live(TableName=aws.table("TasksTable"))
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"
    notification = s3.get_bucket_notification_configuration(Bucket=aws.bucket("IngestBucket"))
    queue = notification["QueueConfigurations"][0]
    assert queue["QueueArn"].endswith(s3_event_queue("ProcessorFunction", "StagedInput"))
    assert queue["Filter"]["Key"]["FilterRules"][0]["Value"] == "inputs/"


def test_readme_documents_every_error_code_and_setting() -> None:
    from pixelport.contract.limits import Limits
    from pixelport.errors import CATALOGUE

    readme = (ROOT / "README.md").read_text()
    rows = {line.split("|")[1].strip(" `"): line for line in readme.splitlines() if line.startswith("| `")}
    for kind in CATALOGUE:
        assert kind.code in rows, f"README lacks error code {kind.code}"
        assert f"| {kind.type} |" in rows[kind.code], f"README gives code {kind.code} another type"
    for name in Limits.model_fields:
        assert f"PIXELPORT_{name.upper()}" in readme, f"README lacks PIXELPORT_{name.upper()}"
    for name in ("PIXELPORT_ALLOWED_SOURCE_NETWORKS", "PIXELPORT_LOCAL_API_KEY", "PORT"):
        assert name in readme


def _imported_top_level_modules(*roots: Path) -> set[str]:
    import ast

    class Imports(ast.NodeVisitor):
        def __init__(self) -> None:
            self.names: set[str] = set()

        def visit_If(self, node: ast.If) -> None:
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                self.generic_visit(node)  # imports for type checkers only never run

        def visit_Import(self, node: ast.Import) -> None:
            self.names |= {alias.name.split(".")[0] for alias in node.names}

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            if node.module and node.level == 0:
                self.names.add(node.module.split(".")[0])

    visitor = Imports()
    for root in roots:
        for source in root.rglob("*.py"):
            visitor.visit(ast.parse(source.read_text()))
    return visitor.names - set(sys.stdlib_module_names) - {"pixelport", "__future__"} - RUNTIME_PROVIDED


# What the Lambda Python runtimes themselves ship: SnapStart's hooks (pixelport/init_ahead.py, which
# imports it only under SnapStart).
RUNTIME_PROVIDED = {"snapshot_restore_py"}


def _layer_distributions() -> set[str]:
    """Distributions the layers install: their requirements and everything those require."""
    import re
    from importlib.metadata import PackageNotFoundError, requires

    def name(req: str) -> str:
        return re.split(r"[\s\[<>=!~;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")

    todo = [
        name(line)
        for path in (ROOT / "layers/core/requirements.txt", ROOT / "layers/pillow/requirements.txt")
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    todo.append("aws-lambda-powertools")  # with its [tracer] extra, listed in the core layer
    todo.append("aws-xray-sdk")
    seen: set[str] = set()
    while todo:
        dist = todo.pop()
        if dist in seen:
            continue
        seen.add(dist)
        with contextlib.suppress(PackageNotFoundError):
            todo += [name(r) for r in requires(dist) or [] if "extra ==" not in r]
    return seen


def test_every_module_the_functions_import_ships_in_a_layer() -> None:
    from importlib.metadata import packages_distributions

    providers = packages_distributions()
    shipped = _layer_distributions()
    imported = _imported_top_level_modules(ROOT / "layers/core/pixelport", ROOT / "functions")
    missing = {
        module: providers.get(module, ["?"])
        for module in imported
        if not any(d.lower().replace("_", "-") in shipped for d in providers.get(module, []))
    }
    assert missing == {}, f"imported by the functions but in no layer's requirements: {missing}"


def test_gateway_responses_use_codes_of_the_catalogue(template: Template) -> None:
    import json

    from pixelport.errors import CATALOGUE

    codes = {kind.code: kind for kind in CATALOGUE}
    responses = template.resources["Api"]["Properties"]["GatewayResponses"]
    for name, response in responses.items():
        body = response["ResponseTemplates"]["application/json"].replace(
            "$context.error.messageString", '"m"'
        )
        envelope = json.loads(body)
        envelope = envelope.get("detail", envelope)
        kind = codes[envelope["error_code"]]
        assert envelope["error_type"] == kind.type, name
        if "StatusCode" in response:
            assert int(response["StatusCode"]) == kind.status, name


# -- every task ends ---------------------------------------------------------------------------
def _rate_seconds(expression: str) -> int:
    import re

    found = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours)\)", expression)
    assert found, expression
    return int(found.group(1)) * (60 if found.group(2).startswith("minute") else 3600)


def test_limits_are_set_for_every_function_at_once_never_on_one(template: Template) -> None:
    """The API accepts a request under the same limits the processor renders it with."""
    from pixelport.contract.limits import Limits

    limit_variables = {f"PIXELPORT_{name.upper()}" for name in Limits.model_fields}
    for name, res in template.of_type("AWS::Serverless::Function").items():
        own = res["Properties"].get("Environment", {}).get("Variables", {})
        assert not limit_variables & set(own), f"{name} sets a limit of its own; set it in Globals"


def test_the_sweeper_reads_the_unfinished_index_the_code_queries(template: Template) -> None:
    from pixelport.tasks import UNFINISHED_INDEX

    table = template.resources["TasksTable"]["Properties"]
    (index,) = [i for i in table["GlobalSecondaryIndexes"] if i["IndexName"] == UNFINISHED_INDEX]
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["open_shard", "settle_by"]
    sweeper = template.resources["SweeperFunction"]["Properties"]
    statements = sweeper["Policies"][0]["Statement"]
    assert any(
        s["Action"] == "dynamodb:Query" and UNFINISHED_INDEX in s["Resource"]["Fn::Sub"] for s in statements
    )


def test_every_task_ends_within_the_20_minutes_the_readme_promises(template: Template) -> None:
    from pixelport.contract.limits import limits

    deadline = limits().task_deadline_seconds
    (sweep,) = template.resources["SweeperFunction"]["Properties"]["Events"].values()
    assert sweep["Type"] == "Schedule"
    assert deadline + _rate_seconds(sweep["Properties"]["Schedule"]) <= 20 * 60
    assert "### Every task ends within 20 minutes" in (ROOT / "README.md").read_text()
    # ...and the deadline leaves room for the processor's three attempts and Lambda's retry delays.
    processor = template.functions()["ProcessorFunction"]
    retries = int(processor.event_invoke_config["MaximumRetryAttempts"])
    assert deadline >= (retries + 1) * processor.timeout + 60 + 120
    assert processor.event_invoke_config["MaximumEventAgeInSeconds"] == deadline


def test_a_failure_record_held_by_a_lease_is_looked_at_again_after_the_lease_ran_out(
    template: Template,
) -> None:
    from pixelport.failures import RECEIVES_WHILE_HELD
    from pixelport.lease import LEASE_SECONDS

    queue = template.resources["ProcessorFailuresQueue"]["Properties"]
    assert queue["VisibilityTimeout"] > LEASE_SECONDS
    assert queue["RedrivePolicy"]["maxReceiveCount"] > RECEIVES_WHILE_HELD  # dropped, not dead-lettered


def metrics_of(alarm: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(namespace, metric, first dimension's value) of every metric an alarm reads, a plain one or
    those of a metric math expression."""
    if "Metrics" not in alarm:
        return [(alarm["Namespace"], alarm["MetricName"], str(alarm["Dimensions"][0]["Value"]))]
    read = [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]
    return [(m["Namespace"], m["MetricName"], str(m["Dimensions"][0]["Value"])) for m in read]


def test_the_dead_letter_queue_and_the_sweeper_raise_alarms(template: Template) -> None:
    alarms = template.of_type("AWS::CloudWatch::Alarm").values()
    watched = {metric for a in alarms for metric in metrics_of(a["Properties"])}
    assert (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        str({"Fn::GetAtt": ["ProcessorFailuresDeadLetterQueue", "QueueName"]}),
    ) in watched
    assert ("pixelport", "TasksExpired", "pixelport") in watched
    assert ("AWS/Lambda", "Errors", str({"Ref": "SweeperFunction"})) in watched
    # Issue 14: the processor, the failure consumer and the API are watched too.
    assert (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        str({"Fn::GetAtt": ["ProcessorFailuresQueue", "QueueName"]}),
    ) in watched
    for metric in ("Errors", "Throttles", "AsyncEventsDropped"):
        assert ("AWS/Lambda", metric, str({"Ref": "ProcessorFunction"})) in watched
    # The processor's Errors less the invocations that found their task busy and raised to be retried.
    processor_errors = template.resources["ProcessorErrorsAlarm"]["Properties"]
    assert set(metrics_of(processor_errors)) == {
        ("AWS/Lambda", "Errors", str({"Ref": "ProcessorFunction"})),
        ("pixelport", "TaskBusy", "pixelport"),
    }
    (returned,) = [m for m in processor_errors["Metrics"] if m.get("ReturnData", True)]
    assert returned["Expression"] == "errors - busy"
    assert ("AWS/Lambda", "Errors", str({"Ref": "FailedEventsFunction"})) in watched
    assert ("AWS/Lambda", "Errors", str({"Ref": "BatchFunction"})) in watched
    assert ("AWS/Lambda", "Errors", str({"Ref": "WebhookFunction"})) in watched
    api = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in alarms
        if a["Properties"].get("Namespace") == "AWS/ApiGateway"
    }
    assert api["5XXError"]["Statistic"] == "Average"  # a rate
    assert api["Latency"]["ExtendedStatistic"] == "p99"
    for props in api.values():
        assert props["Dimensions"][0] == {"Name": "ApiName", "Value": {"Ref": "AWS::StackName"}}
    assert template.resources["Api"]["Properties"]["Name"] == {"Ref": "AWS::StackName"}
    notify = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    assert all(a["Properties"]["AlarmActions"] == notify for a in alarms)


# -- issue 14: ready for a production account --------------------------------------------------------
def test_every_function_logs_to_a_group_kept_for_the_retention_parameter(template: Template) -> None:
    assert template.data["Parameters"]["LogRetentionDays"]["Default"] == 30
    for name, res in template.of_type("AWS::Serverless::Function").items():
        group = res["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert template.resources[group]["Type"] == "AWS::Logs::LogGroup", name
        assert template.resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_the_stage_writes_json_access_logs(template: Template) -> None:
    import json

    setting = template.resources["Api"]["Properties"]["AccessLogSetting"]
    group = setting["DestinationArn"]["Fn::GetAtt"][0]
    assert template.resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    line = json.loads(setting["Format"])
    assert {"requestId", "status", "integrationStatus", "responseLatency"} <= set(line)


def test_a_lambda_throttle_reaches_the_client_as_429_with_the_envelope(template: Template) -> None:
    import json

    response = template.resources["Api"]["Properties"]["GatewayResponses"]["INTEGRATION_FAILURE"]
    assert response["StatusCode"] == "429"
    body = json.loads(response["ResponseTemplates"]["application/json"])
    assert body["detail"]["error_code"] == "2001"
    api = template.resources["ApiFunction"]["Properties"]["ReservedConcurrentExecutions"]
    assert api["Fn::If"][1] == {"Ref": "ApiReservedConcurrency"}


def test_the_api_function_ends_before_api_gateway_does(template: Template) -> None:
    from pixelport.contract.limits import limits

    timeout = template.functions()["ApiFunction"].timeout
    assert timeout < 29  # API Gateway's integration limit
    assert limits().sync_wait_seconds + 1 < timeout


def test_the_ingest_bucket_and_the_queues_refuse_plain_http(template: Template) -> None:
    insecure = {"Bool": {"aws:SecureTransport": "false"}}
    bucket = template.resources["IngestBucketPolicy"]["Properties"]
    assert bucket["Bucket"] == {"Ref": "IngestBucket"}
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == insecure for s in bucket["PolicyDocument"]["Statement"]
    )
    queues = template.resources["ProcessorFailuresQueuesPolicy"]["Properties"]
    assert {q["Ref"] for q in queues["Queues"]} == set(template.of_type("AWS::SQS::Queue"))
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == insecure for s in queues["PolicyDocument"]["Statement"]
    )


def test_the_failure_queue_outlasts_six_times_its_consumers_timeout(template: Template) -> None:
    queue = template.resources["ProcessorFailuresQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * template.functions()["FailedEventsFunction"].timeout


POLLER_ACTIONS = {
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
}


def test_no_function_has_a_sam_sqs_event_which_would_grant_every_queue_of_the_account(
    template: Template,
) -> None:
    for name, res in template.of_type("AWS::Serverless::Function").items():
        events = res["Properties"].get("Events", {})
        assert all(e["Type"] != "SQS" for e in events.values()), name


@pytest.mark.parametrize(
    ("function", "queue", "batch_size"),
    [
        ("ProcessorFunction", "BatchItemsQueue", 1),
        ("BatchFunction", "BatchQueue", 1),
        ("WebhookFunction", "WebhookQueue", 1),
        ("FailedEventsFunction", "ProcessorFailuresQueue", 10),
        ("FailedEventsFunction", "BatchItemsDeadLetterQueue", 10),
        ("FailedEventsFunction", "BatchDeadLetterQueue", 10),
    ],
)
def test_each_queue_is_polled_by_a_mapping_whose_function_may_consume_that_queue_only(
    template: Template, function: str, queue: str, batch_size: int
) -> None:
    arn = {"Fn::GetAtt": [queue, "Arn"]}
    (mapping,) = [
        res["Properties"]
        for res in template.of_type("AWS::Lambda::EventSourceMapping").values()
        if res["Properties"]["EventSourceArn"] == arn
    ]
    # The processor is invoked through its alias, as all its triggers (test_lint_transformed.py).
    assert mapping["FunctionName"] == {
        "Ref": f"{function}.Alias" if function == "ProcessorFunction" else function
    }
    assert mapping["BatchSize"] == batch_size
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    statements = [
        st for policy in template.resources[function]["Properties"]["Policies"] for st in policy["Statement"]
    ]
    consuming = [st for st in statements if set(st["Action"]) >= POLLER_ACTIONS]
    assert consuming, f"{function} cannot poll {queue}"
    for statement in consuming:
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        assert all("Fn::GetAtt" in r and r["Fn::GetAtt"][1] == "Arn" for r in resources)
    assert any(
        arn in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]) for st in consuming
    )
    # make run polls it too (local/template.py reads the mapping as the function's SQS event).
    events = template.functions()[function].events
    assert any(e["Type"] == "SQS" and e["Properties"]["Queue"] == arn for e in events.values())
