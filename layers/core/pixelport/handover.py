"""A sync route's input, handed to the processor by a direct asynchronous invocation.

An S3 notification reaches Lambda in 100 ms to more than a second; `lambda:InvokeFunction` with
InvocationType=Event queues the invocation in tens of milliseconds, with the same retries and
on-failure destination as the S3 path (README "How a sync edit reaches the processor"). The input
is staged under `direct/` first, which no S3 notification names, so the processor is invoked once.

The event: {"pixelport_staged_input": {"bucket": <ingest bucket>, "key": "direct/<task id>"}}.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

DIRECT_EVENT = "pixelport_staged_input"


def direct_event(bucket: str, key: str) -> dict[str, Any]:
    return {DIRECT_EVENT: {"bucket": bucket, "key": key}}


def staged_input_of(event: Mapping[str, Any]) -> tuple[str, str] | None:
    """(bucket, key) of a direct event; None for any other event (S3 records, SQS batches)."""
    body = event.get(DIRECT_EVENT)
    if not isinstance(body, Mapping):
        return None
    bucket, key = body.get("bucket"), body.get("key")
    return (bucket, key) if isinstance(bucket, str) and isinstance(key, str) else None


class LambdaClient(Protocol):
    """The one call of boto3's Lambda client used here (no stubs package for one call)."""

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> Any: ...  # noqa: N803


@dataclass
class ProcessorInvoker:
    """Queues one asynchronous invocation of the processor; raises when Lambda does not accept it."""

    client: LambdaClient
    function_name: str

    def __call__(self, bucket: str, key: str) -> None:
        self.client.invoke(
            FunctionName=self.function_name,
            InvocationType="Event",
            Payload=json.dumps(direct_event(bucket, key)).encode(),
        )
