"""AWS clients, created once per Lambda environment and reused across invocations.

They are botocore's clients, made from one botocore session: boto3's `client()` makes the same ones,
but importing boto3 also imports its resource layer and s3transfer, which the functions never use
(about 50 ms of CPU of every cold start measured here; README "Cold start").
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

from botocore.config import Config
from botocore.session import Session, get_session

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

    from pixelport.handover import LambdaClient
    from pixelport.storage.sealing import KmsClient

Client = TypeVar("Client")


@cache
def session() -> Session:
    """The environment's botocore session: credentials and region from Lambda's environment."""
    return get_session()


def _client(service: str, config: Config) -> object:
    return session().create_client(service, config=config)


_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=3,
    read_timeout=20,
)


@cache
def s3() -> S3Client:
    # SigV4 for presigned POSTs too (botocore would sign them with SigV2, which newer buckets refuse).
    return cast("S3Client", _client("s3", config=_CONFIG.merge(Config(signature_version="s3v4"))))


@cache
def dynamodb() -> DynamoDBClient:
    return cast("DynamoDBClient", _client("dynamodb", config=_CONFIG))


@cache
def kms() -> KmsClient:
    return cast("KmsClient", _client("kms", config=_CONFIG))


@cache
def sqs() -> SQSClient:
    return cast("SQSClient", _client("sqs", config=_CONFIG))


@cache
def lambda_() -> LambdaClient:
    """For queueing (InvocationType Event), which Lambda answers in milliseconds: a sync route falls back
    to S3 rather than wait, so few and short tries (handover's QUEUE_*), not the 5 x (3 + 20) s of the
    others (botocore's `max_attempts` counts the retries, `total_max_attempts` the tries)."""
    from pixelport import handover

    config = _CONFIG.merge(
        Config(
            connect_timeout=handover.QUEUE_CONNECT_SECONDS,
            read_timeout=handover.QUEUE_ANSWER_SECONDS,
            retries={"mode": "standard", "total_max_attempts": handover.QUEUE_TRIES},
        )
    )
    return cast("LambdaClient", _client("lambda", config=config))


@cache
def lambda_runner() -> LambdaClient:
    """For synchronous runs (handover.ProcessorInvoker.run): one try, for a second try would be a second
    run, and an answer awaited for handover.run_seconds(), a run's answer coming when it ends."""
    from pixelport import handover

    config = _CONFIG.merge(
        Config(
            connect_timeout=handover.RUN_CONNECT_SECONDS,
            read_timeout=handover.run_seconds(),
            retries={"mode": "standard", "total_max_attempts": 1},
        )
    )
    return cast("LambdaClient", _client("lambda", config=config))


class _MadeOnFirstUse:
    """Stands for the client `make()` returns until one of its attributes is asked for."""

    def __init__(self, make: Callable[[], object]):
        self._make = make

    def __getattr__(self, name: str) -> Any:
        return getattr(self._make(), name)


def on_first_use(make: Callable[[], Client]) -> Client:
    """The client of `make` (one of the cached functions above), made when it is first called.

    For a client that only some requests use: making one reads its service model, 10-30 ms of a cold
    start (S3's about 0.1 s), paid by the first request of every new environment whether it calls the
    client or not.
    """
    return cast("Client", _MadeOnFirstUse(make))
