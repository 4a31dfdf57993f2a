"""The limits of SPEC section 7, in one place. Each can be changed with an environment variable
`PIXELPORT_<FIELD NAME IN UPPER CASE>` (documented in the README)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

# No configuration raises a limit on a request's text above this.
TEXT_CEILING = 4096
_ACCEPTED: ContextVar[bool] = ContextVar("pixelport_request_accepted", default=False)


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_input_url_length: int = Field(512, ge=1, le=TEXT_CEILING)
    max_destination_length: int = Field(4096, ge=1, le=TEXT_CEILING)
    max_input_bytes: int = Field(50 * 1024 * 1024, ge=1)
    max_input_megapixels: float = Field(100.0, gt=0)
    max_output_megapixels: float = Field(100.0, gt=0)
    max_request_body_bytes: int = Field(64 * 1024, ge=1024)
    # A multipart upload reaches the function base64-encoded inside a 6 MB Lambda event: about 4.7 MB of
    # file at most. Larger files go through the presigned upload.
    max_upload_body_bytes: int = Field(4_500_000, ge=1024, le=4_600_000)
    max_redirects: int = Field(5, ge=0, le=20)
    connect_timeout_seconds: float = Field(5.0, gt=0)
    fetch_timeout_seconds: float = Field(20.0, gt=0)
    # API Gateway ends a REST integration at 29 s; the sync call answers 202 before that.
    sync_wait_seconds: float = Field(25.0, gt=0, le=28)
    # How long a task record (and so GET /v1/image/edit/async/{id}) stays readable.
    task_retention_days: int = Field(7, ge=1)
    # Every task is DONE or ERROR this long after its creation, plus one period of the sweeper's
    # schedule (README: "every task ends within 20 minutes"). It covers the processor's three
    # attempts (3 x 300 s) and Lambda's retry delays (60 s + 120 s), with a minute to spare; a task
    # still unfinished then is ended ERROR (code 5002) whatever crashed.
    task_deadline_seconds: int = Field(19 * 60, ge=1, le=24 * 3600)
    # SPEC 6: requests per account on the image routes, for accounts without limits of their own
    # (`python -m pixelport.admin accounts set-limits` gives an account its own).
    rate_limit_per_minute: int = Field(120, ge=1)
    rate_limit_per_second: int = Field(4, ge=1)
    # How long a warm API function trusts a key (and an account's limits) it has looked up: a revoked
    # key is refused, and changed limits apply, within this many seconds.
    key_cache_seconds: float = Field(30.0, ge=0, le=300)
    # A batch's `input` list (SPEC 2.3); a folder has no limit (it is listed page by page).
    max_batch_items: int = Field(1000, ge=1, le=10000)
    # Webhook deliveries are retried after this many seconds, doubling each time (30, 60, 120, ...),
    # until the webhook queue's maxReceiveCount (template.yaml) moves the delivery to its dead-letter queue.
    webhook_retry_base_seconds: int = Field(30, ge=1, le=3600)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Limits:
        env = os.environ if environ is None else environ
        values = {
            name: env[f"PIXELPORT_{name.upper()}"]
            for name in cls.model_fields
            if f"PIXELPORT_{name.upper()}" in env
        }
        return cls.model_validate(values)


@cache
def limits() -> Limits:
    return Limits.from_env()


@contextmanager
def accepted_request() -> Iterator[None]:
    """Re-reading a request this service already accepted (a stored task): a deploy may have lowered
    a configurable length limit since, and the task must not fail for a check it already passed."""
    token = _ACCEPTED.set(True)
    try:
        yield
    finally:
        _ACCEPTED.reset(token)


def text_limit(configured: int) -> int:
    """The length limit for a request's text: the configured one, or the ceiling for an accepted request."""
    return TEXT_CEILING if _ACCEPTED.get() else configured
