"""Task records in the Tasks table and their state machine.

    ACCEPTED --claim--> PROCESSING --complete--> DONE
        ^                   |  \\--fail--> ERROR
        +------release------+
    ACCEPTED or PROCESSING past the task's deadline --expire--> ERROR (the sweeper)

A claim is a conditional write, so one S3 event delivered twice (or two processors racing) yields one
result: the second claim finds the task taken or finished. A claim holds a short lease that the
holder renews while it works; a processor that dies stops renewing, so its lease runs out before
Lambda's first retry (a minute later) and the retry takes the task over. Every transition is guarded
by the claim token, so a processor whose lease was taken over cannot write a second result.

Every unfinished task carries `open_shard` and `settle_by`, the keys of the sparse `Unfinished`
index; finishing removes `open_shard`, so the index holds only what the sweeper may have to end.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pixelport.contract.limits import limits
from pixelport.errors import PixelportError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

# The sparse index of unfinished tasks is spread over this many partitions, so that index writes
# (one when a task is created, one when it ends) never throttle the table at a few thousand tasks/s.
OPEN_SHARDS = 10
UNFINISHED_INDEX = "Unfinished"

# Ids are integers (the published API's task ids are), time-ordered, without a shared counter:
# milliseconds since 2025-01-01 in the high bits, 12 random bits below. They stay under 2**53, so
# JavaScript clients read them exactly, until the year 2094.
_EPOCH_MS = 1_735_689_600_000
_RANDOM_BITS = 12


class Status(StrEnum):
    ACCEPTED = "ACCEPTED"
    PROCESSING = "PROCESSING"
    DONE = "DONE"
    ERROR = "ERROR"


FINISHED = (Status.DONE, Status.ERROR)


def new_task_id(now_ms: int | None = None) -> int:
    ms = (int(time.time() * 1000) if now_ms is None else now_ms) - _EPOCH_MS
    return (ms << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)


def now() -> float:
    """The clock of every lease and deadline (tests move it instead of waiting)."""
    return time.time()


def iso_timestamp(seconds: float | None = None) -> str:
    """SPEC 2.2's timestamps: always microseconds and the UTC offset."""
    moment = datetime.now(UTC) if seconds is None else datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat(timespec="microseconds")


def _now_iso() -> str:
    return iso_timestamp(now())


@dataclass
class Task:
    id: int
    account: str
    status: Status
    request: dict[str, Any]
    created_at: str
    source_name: str = ""
    request_id: str = ""  # the API request that created it: the correlation id of every log line
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None  # PixelportError.to_record() plus "created_at"
    history: list[dict[str, str]] = field(default_factory=list)
    attempts: int = 0
    claim_token: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def failure(self) -> PixelportError | None:
        return PixelportError.from_record(self.error) if self.error else None


@dataclass(frozen=True)
class Claimed:
    task: Task


@dataclass(frozen=True)
class NotClaimable:
    reason: str  # "missing", "finished" or "busy"
    task: Task | None


def _s(value: str) -> AttributeValueTypeDef:
    return {"S": value}


def _n(value: float) -> AttributeValueTypeDef:
    return {"N": str(value)}


def _event(status: Status) -> AttributeValueTypeDef:
    return {"L": [{"M": {"status": _s(status.value), "at": _s(_now_iso())}}]}


class TaskStore:
    def __init__(self, client: DynamoDBClient, table: str):
        self._db = client
        self._table = table

    # -- reading ---------------------------------------------------------------------------------
    def get(self, task_id: int) -> Task | None:
        item = self._db.get_item(TableName=self._table, Key={"id": _n(task_id)}, ConsistentRead=True)
        return _task_from_item(item["Item"]) if "Item" in item else None

    def overdue(self, at: float) -> Iterator[int]:
        """Ids of unfinished tasks whose deadline passed before `at` (the sparse index, every shard)."""
        for shard in range(OPEN_SHARDS):
            paginator = self._db.get_paginator("query")
            pages = paginator.paginate(
                TableName=self._table,
                IndexName=UNFINISHED_INDEX,
                KeyConditionExpression="open_shard = :shard AND settle_by < :at",
                ExpressionAttributeValues={":shard": _n(shard), ":at": _n(at)},
            )
            for page in pages:
                for item in page.get("Items", []):
                    yield int(item["id"]["N"])

    # -- writing ---------------------------------------------------------------------------------
    def create(
        self, *, account: str, request: Mapping[str, Any], source_name: str, request_id: str = ""
    ) -> Task:
        created = now()
        created_at = iso_timestamp(created)
        expires_at = int(created) + limits().task_retention_days * 86400
        for _ in range(8):
            task_id = new_task_id()
            item: dict[str, AttributeValueTypeDef] = {
                "id": _n(task_id),
                "account": _s(account),
                "status": _s(Status.ACCEPTED.value),
                "request": _s(json.dumps(request, separators=(",", ":"))),
                "created_at": _s(created_at),
                "source_name": _s(source_name),
                "request_id": _s(request_id),
                "attempts": _n(0),
                "history": _event(Status.ACCEPTED),
                "expires_at": _n(expires_at),
                "open_shard": _n(task_id % OPEN_SHARDS),
                "settle_by": _n(created + limits().task_deadline_seconds),
            }
            try:
                self._db.put_item(
                    TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(id)"
                )
            except ClientError as exc:
                if _conditional_failed(exc):
                    continue  # 1 in 4096 within the same millisecond: draw again
                raise
            return _task_from_item(item)
        raise RuntimeError("could not allocate a task id")

    def claim(self, task_id: int, *, lease_seconds: float) -> Claimed | NotClaimable:
        at = now()
        token = uuid.uuid4().hex
        try:
            out = self._db.update_item(
                TableName=self._table,
                Key={"id": _n(task_id)},
                UpdateExpression=(
                    "SET #s = :processing, claim_token = :token, lease_until = :lease, "
                    "attempts = attempts + :one, history = list_append(history, :event)"
                ),
                ConditionExpression=(
                    "attribute_exists(id) AND (#s = :accepted OR (#s = :processing AND lease_until < :now))"
                ),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":processing": _s(Status.PROCESSING.value),
                    ":accepted": _s(Status.ACCEPTED.value),
                    ":token": _s(token),
                    ":lease": _n(at + lease_seconds),
                    ":now": _n(at),
                    ":one": _n(1),
                    ":event": _event(Status.PROCESSING),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
            current = self.get(task_id)
            if current is None:
                return NotClaimable("missing", None)
            return NotClaimable("finished" if current.finished else "busy", current)
        return Claimed(_task_from_item(out["Attributes"]))

    def renew(self, task: Task, *, lease_seconds: float) -> bool:
        """Extend the lease of a task this holder still holds; False once it was taken over or ended."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"id": _n(task.id)},
                UpdateExpression="SET lease_until = :lease",
                ConditionExpression="#s = :processing AND claim_token = :token",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":lease": _n(now() + lease_seconds),
                    ":processing": _s(Status.PROCESSING.value),
                    ":token": _s(task.claim_token or ""),
                },
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def release(self, task: Task) -> bool:
        """Give a claimed task back (status ACCEPTED) so a retried event can take it."""
        return self._transition(task, Status.ACCEPTED, {})

    def complete(self, task: Task, result: Mapping[str, Any]) -> bool:
        return self._transition(task, Status.DONE, {"result": _s(json.dumps(result, separators=(",", ":")))})

    def fail(self, task: Task, error: PixelportError) -> bool:
        return self._transition(task, Status.ERROR, {"error": _error_value(error)})

    def fail_unfinished(self, task_id: int, error: PixelportError) -> bool:
        """ERROR for a task nobody holds (its events ran out of retries); False if held or finished."""
        return self._end_unfinished(
            task_id, error, "(#s = :accepted OR (#s = :processing AND lease_until < :now))"
        )

    def expire(self, task_id: int, error: PixelportError) -> bool:
        """ERROR for a task past its deadline, held or not: the bound on every task is a promise.

        A holder that is still working then fails to complete (its token is gone) and its result is
        discarded."""
        return self._end_unfinished(
            task_id, error, "(#s = :accepted OR #s = :processing) AND settle_by < :now"
        )

    def _end_unfinished(self, task_id: int, error: PixelportError, condition: str) -> bool:
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"id": _n(task_id)},
                UpdateExpression="SET #s = :error, #e = :err, history = list_append(history, :event) "
                "REMOVE claim_token, lease_until, open_shard",
                ConditionExpression=f"attribute_exists(id) AND {condition}",
                ExpressionAttributeNames={"#s": "status", "#e": "error"},
                ExpressionAttributeValues={
                    ":error": _s(Status.ERROR.value),
                    ":err": _error_value(error),
                    ":event": _event(Status.ERROR),
                    ":accepted": _s(Status.ACCEPTED.value),
                    ":processing": _s(Status.PROCESSING.value),
                    ":now": _n(now()),
                },
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def _transition(self, task: Task, status: Status, values: dict[str, AttributeValueTypeDef]) -> bool:
        sets = ", ".join(f"#{k} = :{k}" for k in values)
        # A finished task leaves the sparse index of unfinished ones.
        removed = "claim_token, lease_until" + (", open_shard" if status in FINISHED else "")
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"id": _n(task.id)},
                UpdateExpression=(
                    f"SET #s = :status{', ' + sets if sets else ''}, history = list_append(history, :event) "
                    f"REMOVE {removed}"
                ),
                ConditionExpression="#s = :processing AND claim_token = :token",
                ExpressionAttributeNames={"#s": "status", **{f"#{k}": k for k in values}},
                ExpressionAttributeValues={
                    ":status": _s(status.value),
                    ":processing": _s(Status.PROCESSING.value),
                    ":token": _s(task.claim_token or ""),
                    ":event": _event(status),
                    **{f":{k}": v for k, v in values.items()},
                },
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False  # the lease was taken over; the new holder decides the outcome
            raise
        return True


def _error_value(error: PixelportError) -> AttributeValueTypeDef:
    return _s(json.dumps({**error.to_record(), "created_at": _now_iso()}, separators=(",", ":")))


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _task_from_item(item: Mapping[str, Any]) -> Task:
    def text(name: str) -> str | None:
        value = item.get(name)
        return value["S"] if value and "S" in value else None

    def loads(name: str) -> Any:
        raw = text(name)
        return json.loads(raw) if raw else None

    history = [{k: v["S"] for k, v in entry["M"].items()} for entry in item.get("history", {}).get("L", [])]
    return Task(
        id=int(item["id"]["N"]),
        account=text("account") or "",
        status=Status(text("status") or Status.ERROR.value),
        request=loads("request") or {},
        created_at=text("created_at") or "",
        source_name=text("source_name") or "",
        request_id=text("request_id") or "",
        result=loads("result"),
        error=loads("error"),
        history=history,
        attempts=int(item.get("attempts", {}).get("N", "0")),
        claim_token=text("claim_token"),
    )
