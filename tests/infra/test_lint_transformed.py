"""The stack that deploys, linted: template.yaml through the SAM transform, then cfn-lint (0 errors,
0 warnings). The untransformed lint stays in test_template.py; this one sees what it cannot."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from local.template import ROOT

SCRIPT = ROOT / "scripts" / "lint_transformed.py"


def _lint_transformed(template: Path, *options: str) -> subprocess.CompletedProcess[str]:
    # samtranslator ships with the SAM CLI: the translator `sam deploy` itself runs.
    python = ROOT / ".venv-sam" / "bin" / "python"
    assert python.exists(), "SAM CLI venv not found: `make test` installs it into .venv-sam"
    return subprocess.run(
        [str(python), str(SCRIPT), str(template), *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def transformed(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """The lint of template.yaml, and the CloudFormation template it linted."""
    output = tmp_path_factory.mktemp("transformed") / "template.json"
    result = _lint_transformed(ROOT / "template.yaml", "--output", str(output))
    return result, json.loads(output.read_text())


def test_the_transformed_template_lints_without_errors_or_warnings(
    transformed: tuple[subprocess.CompletedProcess[str], dict[str, Any]],
) -> None:
    result, _ = transformed
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors or warnings" in result.stdout


# SnapStart restores published versions only, and ProcessorFunction's EventInvokeConfig (retries, the
# on-failure destination) applies to its alias: a trigger that named the bare function would run
# $LATEST, with neither.
ALIASED = {"ApiFunction": "ApiFunctionAliaslive", "ProcessorFunction": "ProcessorFunctionAliaslive"}


def _refs(value: Any) -> set[str]:
    """Every resource a value names with Ref, GetAtt or ${...} in Sub."""
    if isinstance(value, list):
        return set().union(*(_refs(v) for v in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    for key, arg in value.items():
        if key == "Ref" and isinstance(arg, str):
            found.add(arg)
        elif key == "Fn::GetAtt":
            found.add(arg[0] if isinstance(arg, list) else str(arg).split(".")[0])
        elif key == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]
            found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}]+)\}", text)}
            found |= _refs(arg[1:]) if isinstance(arg, list) else set()
        else:
            found |= _refs(arg)
    return found


def _version_ids(template: dict[str, Any]) -> dict[str, str]:
    return {
        props["FunctionName"]["Ref"]: name
        for name, res in template["Resources"].items()
        if res["Type"] == "AWS::Lambda::Version" and (props := res["Properties"])
    }


def _transformed_version_ids(tmp_path: Path, template: Path, *options: str) -> dict[str, str]:
    output = tmp_path / "changed.json"
    result = _lint_transformed(template, "--output", str(output), *options)
    assert result.returncode == 0, result.stdout + result.stderr
    return _version_ids(json.loads(output.read_text()))


def test_a_change_of_a_layer_publishes_a_new_version_of_the_api_and_the_processor(
    tmp_path: Path, transformed: tuple[subprocess.CompletedProcess[str], dict[str, Any]]
) -> None:
    # pixelport's code is in the layers: a version that ignored them would keep serving the old code.
    before = _version_ids(transformed[1])
    assert set(before) == set(ALIASED)
    after = _transformed_version_ids(tmp_path, ROOT / "template.yaml", "--layer-key", "new-layers.zip")
    assert all(after[f] != before[f] for f in ALIASED)


def test_a_change_of_a_function_setting_publishes_a_new_version(
    tmp_path: Path, transformed: tuple[subprocess.CompletedProcess[str], dict[str, Any]]
) -> None:
    source = (ROOT / "template.yaml").read_text()
    assert source.count("Timeout: 300") == 1
    changed = tmp_path / "template.yaml"
    changed.write_text(source.replace("Timeout: 300", "Timeout: 301"))
    after = _transformed_version_ids(tmp_path, changed)
    assert after["ProcessorFunction"] != _version_ids(transformed[1])["ProcessorFunction"]


def test_switching_snapstart_replaces_the_published_version(
    transformed: tuple[subprocess.CompletedProcess[str], dict[str, Any]],
) -> None:
    # The translator hashes the SnapStart property unresolved (its Ref), so a new parameter value would
    # leave the version's logical id alone; CloudFormation replaces a version whose description changes.
    resources = transformed[1]["Resources"]
    for function, version in _version_ids(transformed[1]).items():
        assert resources[version]["Properties"]["Description"] == {"Fn::Sub": "SnapStart ${SnapStart}"}, (
            function
        )
        # Replaced versions go, with their snapshots' caching charge.
        assert resources[version]["DeletionPolicy"] == "Delete"


def test_every_trigger_of_the_api_and_the_processor_invokes_their_snapstart_alias(
    transformed: tuple[subprocess.CompletedProcess[str], dict[str, Any]],
) -> None:
    _, template = transformed
    resources = template["Resources"]
    for function, alias in ALIASED.items():
        props = resources[function]["Properties"]
        assert props["SnapStart"] == {"ApplyOn": {"Ref": "SnapStart"}}
        assert resources[alias]["Type"] == "AWS::Lambda::Alias"
        permissions = [
            r["Properties"]
            for r in resources.values()
            if r["Type"] == "AWS::Lambda::Permission"
            and _refs(r["Properties"]["FunctionName"]) & {function, alias}
        ]
        assert permissions and all(p["FunctionName"] == {"Ref": alias} for p in permissions), function
    # Anywhere else a bare name would invoke $LATEST. Alarms may name it: a FunctionName dimension
    # alone counts every version and alias of the function.
    named_bare = {
        name: res["Type"]
        for name, res in resources.items()
        if _refs(res) & set(ALIASED)
        and res["Type"]
        not in (
            "AWS::Lambda::Version",
            "AWS::Lambda::Alias",
            "AWS::Lambda::EventInvokeConfig",
            "AWS::CloudWatch::Alarm",
        )
    }
    assert named_bare == {}
    # API Gateway's integrations.
    assert "ApiFunctionAliaslive" in _refs(resources["Api"]["Properties"]["Body"])
    # S3's notifications, BatchItemsQueue's mapping, the API's direct invocations and its permission.
    (notifications,) = [
        r["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
        for r in resources.values()
        if r["Type"] == "AWS::S3::Bucket" and "NotificationConfiguration" in r["Properties"]
    ]
    assert {json.dumps(n["Function"]) for n in notifications} == {
        json.dumps({"Ref": "ProcessorFunctionAliaslive"})
    }
    mappings = [
        r["Properties"]["FunctionName"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and _refs(r["Properties"]["FunctionName"]) & {"ProcessorFunction", "ProcessorFunctionAliaslive"}
    ]
    assert mappings == [{"Ref": "ProcessorFunctionAliaslive"}]
    api = resources["ApiFunction"]["Properties"]
    assert api["Environment"]["Variables"]["PROCESSOR_FUNCTION"] == {"Ref": "ProcessorFunctionAliaslive"}
    (invoke,) = [
        st
        for pol in resources["ApiFunctionRole"]["Properties"]["Policies"]
        for st in pol["PolicyDocument"]["Statement"]
        if st.get("Sid") == "InvokeProcessor"
    ]
    assert invoke["Resource"] == {"Ref": "ProcessorFunctionAliaslive"}
    # Retries and the on-failure destination of the asynchronous invocations.
    (invoke_config,) = [
        r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventInvokeConfig"
    ]
    assert invoke_config["FunctionName"] == {"Ref": "ProcessorFunction"}
    assert invoke_config["Qualifier"] == "live"


@pytest.mark.parametrize(
    ("case", "old", "new", "finding"),
    [
        # The processor naming the bucket whose notification names the processor.
        (
            "cycle",
            "RESULTS_BUCKET: !Ref ResultsBucket",
            "RESULTS_BUCKET: !Ref ResultsBucket\n          INGEST_BUCKET: !Ref IngestBucket",
            "E3004",
        ),
        # A Lambda timeout above Lambda's 900 s.
        ("timeout", "Timeout: 300", "Timeout: 1000", "E3717"),
    ],
)
def test_a_broken_template_fails_the_transformed_lint(
    tmp_path: Path, case: str, old: str, new: str, finding: str
) -> None:
    source = (ROOT / "template.yaml").read_text()
    assert source.count(old) == 1, case
    broken = tmp_path / "template.yaml"
    broken.write_text(source.replace(old, new))
    result = _lint_transformed(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert finding in result.stdout, result.stdout
