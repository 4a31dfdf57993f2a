"""template.yaml for connected storage: the table and KMS key the code uses, built locally from the
template, and grants that keep customer buckets out of the functions' own roles."""

from __future__ import annotations

from typing import Any

import boto3

from local.resources import LocalNames
from local.template import Template


def statements(template: Template, function: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = template.resources[function]["Properties"]["Policies"][0]["Statement"]
    return found


def actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def test_the_storages_table_has_the_keys_and_index_the_registry_queries(template: Template) -> None:
    from pixelport.storage.registry import BY_ID_INDEX

    table = template.resources["StoragesTable"]["Properties"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["account", "name"]
    (index,) = table["LocalSecondaryIndexes"]
    assert index["IndexName"] == BY_ID_INDEX
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["account", "id"]


def test_secrets_are_sealed_by_the_templates_kms_key_which_only_the_api_uses_to_encrypt(
    template: Template,
) -> None:
    key = template.resources["StorageSecretsKey"]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    functions = template.functions()
    for name in ("ApiFunction", "ProcessorFunction"):
        assert functions[name].environment["STORAGE_SECRETS_KEY"] == {"Ref": "StorageSecretsKey"}
        assert functions[name].environment["STORAGES_TABLE"] == {"Ref": "StoragesTable"}
    kms = {
        name: set().union(*(actions(s) for s in statements(template, name) if s["Sid"] == "StorageSecrets"))
        for name in ("ApiFunction", "ProcessorFunction")
    }
    assert kms == {"ApiFunction": {"kms:Encrypt", "kms:Decrypt"}, "ProcessorFunction": {"kms:Decrypt"}}


def test_no_function_role_may_touch_a_bucket_it_does_not_own(template: Template) -> None:
    """Customer buckets are reached with the storage's keys only: every S3 grant names a stack bucket."""
    own = set(template.of_type("AWS::S3::Bucket"))
    for name in template.of_type("AWS::Serverless::Function"):
        for statement in statements(template, name):
            if any(a.startswith("s3:") for a in actions(statement)):
                resources = statement["Resource"]
                for resource in resources if isinstance(resources, list) else [resources]:
                    assert isinstance(resource, dict) and "Fn::Sub" in resource, (name, resource)
                    bucket = resource["Fn::Sub"].split("${", 1)[1].split(".", 1)[0]
                    assert bucket in own, (name, resource)


def test_the_local_stack_builds_the_key_and_the_table_from_the_template(aws: LocalNames) -> None:
    kms = boto3.client("kms")
    metadata = kms.describe_key(KeyId=aws.key_alias("StorageSecretsKey"))["KeyMetadata"]
    assert metadata["Description"] == "pixelport - seals the secrets of connected storages"
    table = boto3.client("dynamodb").describe_table(TableName=aws.table("StoragesTable"))["Table"]
    assert [i["IndexName"] for i in table["LocalSecondaryIndexes"]] == ["ById"]
