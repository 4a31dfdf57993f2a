"""Delivering an ended task or batch to its account's webhook (WebhookFunction, from WebhookQueue).

At least once: a delivery that fails (no answer, not 2xx, a refused address) is retried by SQS after
a backoff that doubles (limits.webhook_retry_base_seconds, 2x, 4x, ...), until the queue's
maxReceiveCount sends it to the dead-letter queue. A receiver can get one event twice: the header
X-Pixelport-Delivery is the same on every delivery of one event (and the payload's `id` and `status`
identify it too). Processing never waits for any of this.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from pixelport.batches import ANSWER_PAGE, batch_payload
from pixelport.contract.limits import limits
from pixelport.responses import async_payload
from pixelport.sources.network_guard import policy_from_env
from pixelport.sources.url import post
from pixelport.tasks import Task, TaskStore
from pixelport.webhook_signing import DELIVERY, delivery_id, signature_headers
from pixelport.webhook_store import WebhookStore

logger = Logger(child=True)

MAX_VISIBILITY_SECONDS = 12 * 3600  # SQS's ceiling


class DeliveryFailed(Exception):
    """The receiver did not take it; SQS brings the message back after the backoff."""


def get_payload(store: TaskStore, task: Task) -> dict[str, Any]:
    """What GET answers for this task or batch (a batch's first page, with its next_url)."""
    if task.kind != "batch":
        return {"data": async_payload(task, task.result_url)}
    children, after = store.children(task.id, limit=ANSWER_PAGE)
    next_url = f"{task.result_url}?after={after}" if after is not None else None
    return {"data": batch_payload(task, children, task.result_url, next_url)}


def backoff_seconds(receive_count: int) -> int:
    delay: int = limits().webhook_retry_base_seconds * 2 ** max(0, receive_count - 1)
    return min(MAX_VISIBILITY_SECONDS, delay)


Poster = Callable[[str, bytes, dict[str, str]], int]


def guarded_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    return post(url, body, headers, policy=policy_from_env(), limits=limits())


@dataclass
class WebhookSender:
    store: TaskStore
    webhooks: WebhookStore
    poster: Poster = guarded_post

    def deliver(self, task_id: int) -> str:
        task = self.store.get(task_id)
        if task is None or not task.finished:
            return "no such ended task"
        hook = self.webhooks.get(task.account)
        if hook is None:
            return "no webhook"
        body = json.dumps(get_payload(self.store, task), separators=(",", ":")).encode()
        headers = signature_headers(body, self.webhooks.secret(hook), int(time.time()))
        ended_at = task.history[-1].get("at", "") if task.history else ""
        headers[DELIVERY] = delivery_id(task.id, task.status.value, ended_at)
        try:
            status = self.poster(hook.url, body, headers)
        except Exception as exc:  # a refused address, a timeout: the receiver's problem, retried
            raise DeliveryFailed(f"webhook for task {task_id} not delivered: {exc}") from None
        if not 200 <= status < 300:
            raise DeliveryFailed(f"webhook for task {task_id} answered HTTP {status}")
        logger.info("webhook delivered", extra={"task_id": task_id, "status": status})
        return "delivered"
