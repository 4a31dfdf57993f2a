"""Event sources, played locally the way Lambda runs them on AWS.

- S3 notifications reach a function through moto's S3->SQS notification (moto cannot run Lambda
  without Docker); each message is one asynchronous invocation, retried `MaximumRetryAttempts`
  times, then sent to the function's on-failure destination, as Lambda does.
- SQS event source mappings poll their queue and invoke with batches, honouring
  ReportBatchItemFailures.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from local.runtime import FunctionError, FunctionRuntime

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef


class _Pump(threading.Thread):
    def __init__(
        self, name: str, sqs: SQSClient, queue_url: str, runtime: FunctionRuntime, stop: threading.Event
    ):
        super().__init__(name=name, daemon=True)
        self.sqs = sqs
        self.queue_url = queue_url
        self.runtime = runtime
        self.stop = stop

    def receive(self, count: int) -> list[MessageTypeDef]:
        try:
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=count,
                WaitTimeSeconds=1,
                MessageSystemAttributeNames=["All"],
            )
        except Exception:
            if self.stop.is_set():
                return []
            raise
        return answer.get("Messages", [])


class AsyncInvoker(_Pump):
    """S3 events -> asynchronous invocations with Lambda's retry and on-failure semantics."""

    def __init__(
        self,
        name: str,
        sqs: SQSClient,
        queue_url: str,
        runtime: FunctionRuntime,
        stop: threading.Event,
        *,
        max_retries: int,
        on_failure_queue_url: str | None,
        retry_delay: float,
        concurrency: int,
    ):
        super().__init__(name, sqs, queue_url, runtime, stop)
        self.max_retries = max_retries
        self.on_failure_queue_url = on_failure_queue_url
        self.retry_delay = retry_delay
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=name)
        self.in_flight = threading.Semaphore(concurrency)

    def run(self) -> None:
        while not self.stop.is_set():
            for message in self.receive(10):
                self.in_flight.acquire()
                self.pool.submit(self._invoke, message)
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _invoke(self, message: MessageTypeDef) -> None:
        try:
            event = json.loads(message["Body"])
            if event.get("Event") == "s3:TestEvent":  # sent when a notification is configured
                self._delete(message)
                return
            attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            try:
                self.runtime.invoke(event)
            except FunctionError as exc:
                if self.stop.is_set():
                    return
                if attempt <= self.max_retries:
                    # Lambda waits about 1 then 2 minutes; locally the same doubling, in seconds.
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=max(1, round(self.retry_delay * 2 ** (attempt - 1))),
                    )
                    return
                self._send_to_destination(event, exc.payload, attempt)
            self._delete(message)
        finally:
            self.in_flight.release()

    def _delete(self, message: MessageTypeDef) -> None:
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _send_to_destination(self, event: Any, error: dict[str, Any], attempts: int) -> None:
        if self.on_failure_queue_url is None:
            return
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
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
    """An SQS event source mapping."""

    def __init__(
        self,
        name: str,
        sqs: SQSClient,
        queue_url: str,
        queue_arn: str,
        runtime: FunctionRuntime,
        stop: threading.Event,
        *,
        batch_size: int,
    ):
        super().__init__(name, sqs, queue_url, runtime, stop)
        self.queue_arn = queue_arn
        self.batch_size = batch_size

    def run(self) -> None:
        while not self.stop.is_set():
            messages = self.receive(min(self.batch_size, 10))
            if not messages:
                continue
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
            except FunctionError:
                time.sleep(0.5)
                continue  # every message comes back after its visibility timeout
            failed = {f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])}
            for m in messages:
                if m["MessageId"] not in failed:
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
