"""Deployment configuration read from the environment that template.yaml (or the local stack) sets.

Only names of resources and URLs live here; limits and defaults live in the contract.
"""

from __future__ import annotations

import os


class MissingSetting(RuntimeError):
    pass


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise MissingSetting(f"environment variable {name} is not set (template.yaml sets it on AWS)")
    return value


def tasks_table() -> str:
    return _required("TASKS_TABLE")


def ingest_bucket() -> str:
    return _required("INGEST_BUCKET")


def processor_function() -> str:
    """The processor's function name: the sync routes invoke it directly (handover.py)."""
    return _required("PROCESSOR_FUNCTION")


def results_bucket() -> str:
    return _required("RESULTS_BUCKET")


def results_base_url() -> str:
    """Where the results bucket is served: the CloudFront domain on AWS, the gateway locally."""
    return _required("RESULTS_BASE_URL").rstrip("/")


def accounts_table() -> str:
    """API keys (hashed) and accounts' own rate limits."""
    return _required("ACCOUNTS_TABLE")


def rate_counters_table() -> str:
    """Requests counted per account and fixed window (items expire by TTL)."""
    return _required("RATE_COUNTERS_TABLE")


def storages_table() -> str:
    return _required("STORAGES_TABLE")


def storage_secrets_key() -> str:
    """The KMS key that seals storage secrets."""
    return _required("STORAGE_SECRETS_KEY")


GCS_DEFAULT_ENDPOINT = "https://storage.googleapis.com"


def gcs_endpoint() -> str:
    """Google Cloud Storage's S3-interoperable XML API; PIXELPORT_GCS_ENDPOINT aims it elsewhere (tests,
    `make run`)."""
    return (os.environ.get("PIXELPORT_GCS_ENDPOINT", "").strip() or GCS_DEFAULT_ENDPOINT).rstrip("/")


def batch_queue_url() -> str:
    """Batches to list: one message per batch, continued by a follow-up message while listing lasts."""
    return _required("BATCH_QUEUE_URL")


def batch_items_queue_url() -> str:
    """One message per image of a batch, consumed by the processor."""
    return _required("BATCH_ITEMS_QUEUE_URL")


def webhook_queue_url() -> str:
    """Tasks and batches that ended, for their account's webhook."""
    return _required("WEBHOOK_QUEUE_URL")


def cors_allow_origin() -> str:
    """The origin whose browser pages may call the API: template.yaml's CorsAllowOrigin ("*" by default)."""
    return _required("PIXELPORT_CORS_ALLOW_ORIGIN")
