"""Lint the stack that deploys: template.yaml through the SAM transform, then cfn-lint on the result.

cfn-lint (1.54+) checks a SAM template against schemas without transforming it, so a dependency
cycle, a Ref to a resource the transform never makes or an impossible timeout pass unseen. This
script transforms the template as `sam package` + `sam deploy` would (code URIs pointed at dummy S3
objects), writes the CloudFormation JSON and runs cfn-lint on it; exit status 0 only with no errors
and no warnings. It needs samtranslator, which ships with the SAM CLI: run it with that venv's Python,

    .venv-sam/bin/python scripts/lint_transformed.py [template.yaml] [--output transformed.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from boto3.session import Session
from cfnlint.api import ManualArgs, lint_by_config
from cfnlint.decode import decode
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

ROOT = Path(__file__).resolve().parent.parent
# What `sam package` would upload the local code to; the translator only needs a well-formed S3 URI.
DUMMY_CODE = {"Bucket": "pixelport-package-lint", "Key": "code.zip"}
# The region the translated ARNs and the lint use; any commercial region lints the same template.
REGION = "us-east-1"


def _point_code_at_s3(template: dict[str, Any], layer_key: str) -> None:
    uri = f"s3://{DUMMY_CODE['Bucket']}/{DUMMY_CODE['Key']}"
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and "InlineCode" not in props:
            props["CodeUri"] = uri
        elif resource.get("Type") == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = f"s3://{DUMMY_CODE['Bucket']}/{layer_key}"
        elif resource.get("Type") in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi") and isinstance(
            props.get("DefinitionUri"), str
        ):
            props["DefinitionUri"] = uri


def transform(path: Path, layer_key: str = DUMMY_CODE["Key"]) -> dict[str, Any]:
    """template.yaml as CloudFormation receives it after the SAM transform (the layers' code at
    `layer_key`: `sam package` names an upload by its content's hash)."""
    template, problems = decode(str(path))
    if problems or template is None:
        raise SystemExit("\n".join(str(p) for p in problems) or f"{path}: not a template")
    # Plain dicts and strings: the translator deep-copies and compares them.
    plain = json.loads(json.dumps(template))
    _point_code_at_s3(plain, layer_key)
    translator = Translator(
        managed_policy_map=None,
        sam_parser=Parser(),
        plugins=[],
        boto_session=Session(region_name=REGION),
    )
    translated: dict[str, Any] = translator.translate(
        sam_template=plain,
        parameter_values={"AWS::Region": REGION, "AWS::Partition": "aws"},
        # Only managed policies named (not by ARN) in Policies need IAM's list; this template has none.
        get_managed_policy_map=dict,
    )
    return translated


def lint(transformed: dict[str, Any], output: Path) -> list[str]:
    output.write_text(json.dumps(transformed, indent=1))
    matches = lint_by_config(ManualArgs(templates=[str(output)], regions=[REGION]))
    # Informational findings are not failures; errors and warnings are.
    return [str(m) for m in matches if m.rule.severity.lower() in ("error", "warning")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", nargs="?", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--output", type=Path, help="keep the transformed template here")
    parser.add_argument(
        "--layer-key", default=DUMMY_CODE["Key"], help="the layers' code, as if uploaded there"
    )
    args = parser.parse_args(argv)
    transformed = transform(args.template, args.layer_key)
    with tempfile.TemporaryDirectory() as tmp:
        output = args.output or Path(tmp) / "transformed.json"
        findings = lint(transformed, output)
    for finding in findings:
        print(finding)
    print(f"{len(findings)} errors or warnings in the transformed {args.template.name}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
