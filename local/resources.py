"""The template's buckets, table and queues, created in moto (the local stack and the tests share this,
so neither can drift from the deployment)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from local.template import Resolver, Template

if TYPE_CHECKING:
    import boto3

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
PREFIX = "pixelport-local"


@dataclass
class LocalNames:
    """Physical names the local stack gives the template's resources."""

    template: Template
    results_base_url: str = "http://127.0.0.1:3000"

    def bucket(self, logical_id: str) -> str:
        return f"{PREFIX}-{logical_id}".lower()

    def table(self, logical_id: str) -> str:
        return f"{PREFIX}-{logical_id}"

    def queue(self, logical_id: str) -> str:
        return f"{PREFIX}-{logical_id}"

    def key_alias(self, logical_id: str) -> str:
        """KMS keys get random ids; the local stack names each by an alias, which KMS accepts as KeyId."""
        return f"alias/{PREFIX}-{logical_id}"

    def queue_arn(self, name: str) -> str:
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"

    def queue_url(self, name: str, endpoint: str) -> str:
        return f"{endpoint}/{ACCOUNT}/{name}"

    def resolver(self, endpoint: str, parameters: dict[str, str] | None = None) -> Resolver:
        refs: dict[str, Any] = dict(parameters or {})
        attrs: dict[tuple[str, str], Any] = {}
        t = self.template
        for name in t.of_type("AWS::S3::Bucket"):
            refs[name] = self.bucket(name)
            attrs[(name, "Arn")] = f"arn:aws:s3:::{self.bucket(name)}"
            attrs[(name, "RegionalDomainName")] = f"{self.bucket(name)}.s3.{REGION}.amazonaws.com"
        for name in t.of_type("AWS::DynamoDB::Table"):
            refs[name] = self.table(name)
            attrs[(name, "Arn")] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{self.table(name)}"
        for name in t.of_type("AWS::KMS::Key"):
            refs[name] = self.key_alias(name)
            attrs[(name, "Arn")] = f"arn:aws:kms:{REGION}:{ACCOUNT}:{self.key_alias(name)}"
        # Functions keep their logical ids as names (local/runtime.py's function_arn).
        for name, res in t.of_type("AWS::Serverless::Function").items():
            refs[name] = name
            attrs[(name, "Arn")] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
            # SAM's `!Ref Function.Alias` (AutoPublishAlias): the alias's ARN, a qualified one.
            if alias := res.get("Properties", {}).get("AutoPublishAlias"):
                refs[f"{name}.Alias"] = f"{attrs[(name, 'Arn')]}:{alias}"
        for name in t.of_type("AWS::SQS::Queue"):
            refs[name] = self.queue_url(self.queue(name), endpoint)
            attrs[(name, "Arn")] = self.queue_arn(self.queue(name))
            attrs[(name, "QueueName")] = self.queue(name)
        # CloudFront is played by the local gateway, which serves the results bucket under /tmp/.
        host = self.results_base_url.split("://", 1)[-1]
        for name in t.of_type("AWS::CloudFront::Distribution"):
            refs[name] = "local"
            attrs[(name, "DomainName")] = host
        return Resolver(
            refs=refs,
            attrs=attrs,
            pseudo={
                "AWS::Region": REGION,
                "AWS::AccountId": ACCOUNT,
                "AWS::StackName": PREFIX,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
            },
            fallback=lambda name: t.parameter_default(name),
        )


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule in the S3 API's shape."""
    out: dict[str, Any] = {"ID": rule.get("Id", "rule"), "Status": rule["Status"]}
    out["Filter"] = {"Prefix": rule.get("Prefix", "")}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    return out


def s3_event_queue(function_id: str, event_id: str) -> str:
    """The SQS queue that carries a function's S3 notifications locally (Lambda cannot run in moto)."""
    return f"{PREFIX}-s3events-{function_id}-{event_id}"


def async_invocation_queue(function_id: str) -> str:
    """The SQS queue that carries a function's asynchronous invocations (Lambda's Invoke, Event) locally."""
    return f"{PREFIX}-async-{function_id}"


def create_resources(session: boto3.Session, names: LocalNames, endpoint: str | None = None) -> None:
    """Create every bucket, table, key and queue of the template, and wire S3 events to SQS queues."""
    t = names.template
    kwargs: dict[str, Any] = {"region_name": REGION}
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    # Typed loosely: the values come from the template, in the API's own shape.
    s3: Any = session.client("s3", **kwargs)
    dynamodb: Any = session.client("dynamodb", **kwargs)
    sqs: Any = session.client("sqs", **kwargs)
    kms: Any = session.client("kms", **kwargs)
    resolver = names.resolver(endpoint or "http://localhost")

    for logical, res in t.of_type("AWS::S3::Bucket").items():
        bucket = names.bucket(logical)
        props = res.get("Properties", {})
        s3.create_bucket(Bucket=bucket)
        if rules := props.get("LifecycleConfiguration", {}).get("Rules"):
            s3.put_bucket_lifecycle_configuration(
                Bucket=bucket, LifecycleConfiguration={"Rules": [_lifecycle_rule(r) for r in rules]}
            )
        if block := props.get("PublicAccessBlockConfiguration"):
            s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=block)
        if enc := props.get("BucketEncryption"):
            s3.put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {"ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"]}
                        for r in enc["ServerSideEncryptionConfiguration"]
                    ]
                },
            )

    for logical, res in t.of_type("AWS::DynamoDB::Table").items():
        props = res["Properties"]
        table = names.table(logical)
        indexes = {
            kind: props[kind] for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes") if kind in props
        }
        dynamodb.create_table(
            TableName=table,
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
            **indexes,
        )
        if ttl := props.get("TimeToLiveSpecification"):
            dynamodb.update_time_to_live(TableName=table, TimeToLiveSpecification=ttl)

    for logical, res in t.of_type("AWS::KMS::Key").items():
        props = res.get("Properties", {})
        key = kms.create_key(Description=props.get("Description", logical))["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=names.key_alias(logical), TargetKeyId=key)

    queues = t.of_type("AWS::SQS::Queue")
    for logical in queues:  # first without redrive: a redrive names another queue
        sqs.create_queue(QueueName=names.queue(logical))
    for logical, res in queues.items():
        props = resolver.resolve(res.get("Properties", {}))
        attrs = {k: str(props[k]) for k in ("VisibilityTimeout", "MessageRetentionPeriod") if k in props}
        if "RedrivePolicy" in props:
            attrs["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        if attrs:
            url = sqs.get_queue_url(QueueName=names.queue(logical))["QueueUrl"]
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attrs)

    notifications: dict[str, list[dict[str, Any]]] = {}
    for fn in t.functions().values():
        for event_id, event in fn.events.items():
            if event.get("Type") != "S3":
                continue
            props = event["Properties"]
            queue = s3_event_queue(fn.logical_id, event_id)
            sqs.create_queue(QueueName=queue)
            events = props["Events"] if isinstance(props["Events"], list) else [props["Events"]]
            config: dict[str, Any] = {"QueueArn": names.queue_arn(queue), "Events": events}
            if rules := props.get("Filter", {}).get("S3Key", {}).get("Rules"):
                config["Filter"] = {"Key": {"FilterRules": rules}}
            notifications.setdefault(props["Bucket"]["Ref"], []).append(config)
    for logical, configs in notifications.items():
        s3.put_bucket_notification_configuration(
            Bucket=names.bucket(logical), NotificationConfiguration={"QueueConfigurations": configs}
        )
