"""Event sources, played locally the way Lambda runs them on AWS.

- S3 notifications reach a function through moto's S3->SQS notification (moto cannot run Lambda
  without Docker); each message is one asynchronous invocation, retried `MaximumRetryAttempts`
  times, then sent to the function's on-failure destination, as Lambda does.
- SQS event source mappings poll their queue and invoke with batches, honouring
  ReportBatchItemFailures.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from local.runtime import FunctionError, Invocable

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

# After a failed receive (moto busy or restarting): long enough not to spin, short enough to catch up.
RECEIVE_BACKOFF_SECONDS = 1.0


def log(line: str) -> None:
    sys.stderr.write(f"pixelport: {line}\n")


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class _Pump:
    """Receives from one queue on its own thread until the stop event; no error ends it early, since a
    dead pump would leave the gateway accepting work that never finishes."""

    def __init__(
        self,
        name: str,
        sqs: SQSClient,
        queue_url: str,
        runtime: Invocable,
        stop: threading.Event,
        concurrency: int = 1,
    ):
        self.name = name
        self.sqs = sqs
        self.queue_url = queue_url
        self.runtime = runtime
        self.stop = stop
        # Invocations run on a pool as wide as the function's concurrency; a free worker is awaited
        # before work is taken, so nothing is held while it waits.
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=name)
        self.in_flight = threading.Semaphore(concurrency)
        # Owned rather than inherited: Thread's private methods are not ours to shadow.
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                messages = self._receive()
            except Exception as exc:
                if self.stop.is_set():
                    break  # moto stops with the stack
                log(f"{self.name}: receive failed, retrying in {RECEIVE_BACKOFF_SECONDS:g}s: {describe(exc)}")
                self.stop.wait(RECEIVE_BACKOFF_SECONDS)
                continue
            if not messages:
                continue
            try:
                self._handle(messages)
            except Exception as exc:
                # The messages come back after their visibility timeout.
                log(f"{self.name}: handling {len(messages)} message(s) failed: {describe(exc)}")
        self._stopped()

    def _receive(self) -> list[MessageTypeDef]:
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self._batch_size(),
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["All"],
        )
        return answer.get("Messages", [])

    def _batch_size(self) -> int:
        return 10

    def _handle(self, messages: list[MessageTypeDef]) -> None:
        raise NotImplementedError

    def _stopped(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _worker_free(self) -> bool:
        """Waits for a free worker and takes it; False when the stack stops first."""
        while not self.in_flight.acquire(timeout=0.5):
            if self.stop.is_set():
                return False
        return True

    def _dispatch(self, work: Callable[[], None]) -> None:
        """Runs `work` on a free worker, which it gives back when done; waits for one first."""
        if not self._worker_free():
            return

        def run() -> None:
            try:
                work()
            finally:
                self.in_flight.release()

        try:
            future = self.pool.submit(run)
        except BaseException:
            self.in_flight.release()
            raise
        future.add_done_callback(self._report)

    def _report(self, future: Future[None]) -> None:
        if not future.cancelled() and (exc := future.exception()) is not None:
            log(f"{self.name}: invocation failed: {describe(exc)}")

    def _delete_message(self, message: MessageTypeDef) -> None:
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


class AsyncInvoker(_Pump):
    """S3 events -> asynchronous invocations with Lambda's retry and on-failure semantics."""

    def __init__(
        self,
        name: str,
        sqs: SQSClient,
        queue_url: str,
        runtime: Invocable,
        stop: threading.Event,
        *,
        max_retries: int,
        on_failure_queue_url: str | None,
        retry_delay: float,
        concurrency: int,
        on_result: Callable[[Any], None] | None = None,
    ):
        super().__init__(name, sqs, queue_url, runtime, stop, concurrency)
        self.on_result = on_result  # told each successful invocation's answer
        self.max_retries = max_retries
        self.on_failure_queue_url = on_failure_queue_url
        self.retry_delay = retry_delay

    def _handle(self, messages: list[MessageTypeDef]) -> None:
        for message in messages:  # no faster than the workers invoke, never blocking the stop
            if self.stop.is_set():
                return
            self._dispatch(functools.partial(self._invoke, message))

    def _invoke(self, message: MessageTypeDef) -> None:
        event = json.loads(message["Body"])
        if event.get("Event") == "s3:TestEvent":  # sent when a notification is configured
            self._delete_message(message)
            return
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        try:
            answer = self.runtime.invoke(event)
            if self.on_result is not None:
                self.on_result(answer)
        except FunctionError as exc:
            if self.stop.is_set():
                return
            if attempt <= self.max_retries:
                # Lambda waits about 1 then 2 minutes; locally the same doubling, in seconds.
                delay = max(1, round(self.retry_delay * 2 ** (attempt - 1)))
                log(f"{self.name}: attempt {attempt} failed ({exc}), retrying in {delay}s")
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=delay,
                )
                return
            log(f"{self.name}: attempt {attempt} failed ({exc}), retries exhausted")
            self._send_to_destination(event, exc.payload, attempt)
        self._delete_message(message)

    def _send_to_destination(self, event: Any, error: dict[str, Any], attempts: int) -> None:
        if self.on_failure_queue_url is None:
            return
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{self.runtime.function_arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {k: error.get(k) for k in ("errorMessage", "errorType")},
        }
        self.sqs.send_message(QueueUrl=self.on_failure_queue_url, MessageBody=json.dumps(record))


class SqsPoller(_Pump):
    """An SQS event source mapping: batches of up to BatchSize, invoked in parallel up to the
    function's concurrency (Lambda's pollers scale out with the queue); a failed invocation's messages
    come back after their visibility timeout. A partial response (batchItemFailures) is honoured only
    when the mapping says ReportBatchItemFailures: without it Lambda ignores it and deletes the batch."""

    def __init__(
        self,
        name: str,
        sqs: SQSClient,
        queue_url: str,
        queue_arn: str,
        runtime: Invocable,
        stop: threading.Event,
        *,
        batch_size: int,
        concurrency: int = 1,
        report_failures: bool = False,
    ):
        super().__init__(name, sqs, queue_url, runtime, stop, concurrency)
        self.queue_arn = queue_arn
        self.batch_size = batch_size
        self.report_failures = report_failures

    def _batch_size(self) -> int:
        return min(self.batch_size, 10)

    def _receive(self) -> list[MessageTypeDef]:
        # Receive only when a worker is free, so messages are not held invisible while they wait.
        if not self._worker_free():
            return []
        try:
            messages = super()._receive()
        finally:
            self.in_flight.release()
        return messages

    def _handle(self, messages: list[MessageTypeDef]) -> None:
        self._dispatch(functools.partial(self._invoke_batch, messages))

    def _invoke_batch(self, messages: list[MessageTypeDef]) -> None:
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": self.queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
        try:
            answer = self.runtime.invoke({"Records": records})
        except FunctionError as exc:
            if not self.stop.is_set():
                log(f"{self.name}: batch of {len(messages)} failed ({exc}); it comes back when visible")
            self.stop.wait(0.5)
            return
        reported = (answer or {}).get("batchItemFailures", []) if self.report_failures else []
        failed = {f["itemIdentifier"] for f in reported}
        for m in messages:
            if m["MessageId"] not in failed:
                self._delete_message(m)
