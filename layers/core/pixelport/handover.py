"""A sync route's input, handed to the processor by a direct invocation.

An S3 notification reaches Lambda in 100 ms to more than a second. The sync routes stage the input
under `direct/`, which no S3 notification names, and invoke the processor themselves: first
synchronously (InvocationType RequestResponse), so the API hears the end of the work the moment
the handler returns, with no queue between and no polling; when that run does not end the task (a
function error, Lambda refusing it, a run longer than the runner's timeout), the input is queued
by an asynchronous invocation (InvocationType Event), which has Lambda's retries and on-failure
destination as the S3 path does (README "How a sync edit reaches the processor"). Invoking twice is
harmless: the task is claimed once.

The event: {"pixelport_staged_input": {"bucket": <ingest bucket>, "key": "direct/<task id>"}}.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pixelport.contract.limits import limits

DIRECT_EVENT = "pixelport_staged_input"

# Queueing (aws.lambda_): at most QUEUE_TRIES tries of QUEUE_CONNECT_SECONDS to connect and
# QUEUE_ANSWER_SECONDS to answer. Running (aws.lambda_runner): one try of RUN_CONNECT_SECONDS to
# connect and run_seconds() to answer.
QUEUE_TRIES = 2
QUEUE_CONNECT_SECONDS = 1.0
QUEUE_ANSWER_SECONDS = 2.0
RUN_CONNECT_SECONDS = 1.0
# What must still fit before the sync deadline after a run that did not end the task: queueing the
# input at worst, then staging it under inputs/ or answering (2 s).
AFTER_RUN_SECONDS = QUEUE_TRIES * (QUEUE_CONNECT_SECONDS + QUEUE_ANSWER_SECONDS) + 2.0
# What a sync route may have spent before the run (parsing, fetching a small source, staging).
BEFORE_RUN_SECONDS = 1.0


def run_seconds() -> float:
    """How long the API waits for a synchronous run's answer (the runner client's read timeout): the
    sync window (SPEC 2.1) less what must fit around the run; 15 s of the default 25."""
    around = BEFORE_RUN_SECONDS + RUN_CONNECT_SECONDS + AFTER_RUN_SECONDS
    return max(0.0, limits().sync_wait_seconds - around)


def may_run(seconds_left: float) -> bool:
    """Whether a run fits in what is left of the sync window, with queueing after it if it fails."""
    wait = run_seconds()
    return wait > 0 and seconds_left >= wait + RUN_CONNECT_SECONDS + AFTER_RUN_SECONDS


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


class Handover(Protocol):
    """What the API's edit service needs of the processor (ProcessorInvoker; the tests' fakes)."""

    def queue(self, bucket: str, key: str) -> None: ...

    def run(self, bucket: str, key: str) -> bool: ...


@dataclass
class ProcessorInvoker:
    """The processor, invoked on a staged input: run while the caller waits, or queued.

    `runner` is a client that does not retry (a second try of a run would be a second run) and whose
    read timeout is run_seconds(), so the wait for a run that outlasts it ends with time left to
    queue the input and poll (`may_run`).
    """

    client: LambdaClient
    runner: LambdaClient
    function_name: str

    def queue(self, bucket: str, key: str) -> None:
        """One asynchronous invocation (InvocationType Event), with Lambda's retries and on-failure
        destination; raises when Lambda does not accept it."""
        self.client.invoke(
            FunctionName=self.function_name,
            InvocationType="Event",
            Payload=json.dumps(direct_event(bucket, key)).encode(),
        )

    def run(self, bucket: str, key: str) -> bool:
        """One synchronous invocation (InvocationType RequestResponse): True once the handler returned,
        False when it failed (raised, timed out, died: Lambda's function error). Raises when Lambda
        did not take the invocation or its answer did not come within the runner's read timeout."""
        answer = self.runner.invoke(
            FunctionName=self.function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps(direct_event(bucket, key)).encode(),
        )
        payload = answer.get("Payload")
        if payload is not None:
            payload.read()  # the handler's summary; the task itself says how it ended
        return not answer.get("FunctionError")
