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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pixelport.contract.limits import limits
from pixelport.errors import PixelportError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        TransactWriteItemTypeDef,
        UpdateTypeDef,
    )

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
    kind: str = "task"  # "task", or "batch" (a batch's own record; its images are child tasks)
    batch_id: int | None = None  # a child task: its batch
    batch_seq: int | None = None  # a child task: its place in the batch (the order of GET's pages)
    notify: bool = False  # the account's webhook hears when it ends (every task an edit route made, batches)
    result_url: str = ""  # the GET of this task as the client reached the API (the webhook's payload)
    # A batch's progress: children created and not ended, ended DONE, ended ERROR; listing finished.
    pending: int = 0
    succeeded: int = 0
    failed: int = 0
    listed: bool = False
    page: int = 0  # pages of the input written as children so far
    sent: int = 0  # pages whose children were sent to the processor
    cursor: str = ""  # where listing the next page starts (a bucket key, or the list index)
    # A batch whose listing ran out of deliveries: why, and what was not listed (error plus created_at).
    listing_error: dict[str, Any] | None = None

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


class IdTaken(Exception):
    """A new record's id belongs to an existing one (1 in 4096 within a millisecond): draw again."""


# Called with the id of an ended task or batch whose client asked to hear of it (the webhook queue).
Notifier = Callable[[int], None]
BATCH_INDEX = "ByBatch"


class TaskStore:
    def __init__(self, client: DynamoDBClient, table: str, notifier: Notifier | None = None):
        self._db = client
        self._table = table
        self._notifier = notifier

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
        self,
        *,
        account: str,
        request: Mapping[str, Any],
        source_name: str,
        request_id: str = "",
        notify: bool = False,
        kind: str = "task",
        result_url: Callable[[int], str] | None = None,
    ) -> Task:
        for _ in range(8):
            item = task_item(
                account=account,
                request=request,
                source_name=source_name,
                request_id=request_id,
                notify=notify,
                kind=kind,
                result_url=result_url,
            )
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

    def extend_deadline(self, task_id: int, seconds: float) -> None:
        """A batch still listing or waiting for children past its deadline: they have their own."""
        self._db.update_item(
            TableName=self._table,
            Key={"id": _n(task_id)},
            UpdateExpression="SET settle_by = :settle",
            ConditionExpression="attribute_exists(open_shard)",
            ExpressionAttributeValues={":settle": _n(now() + seconds)},
        )

    def claim(self, task_id: int, *, lease_seconds: float) -> Claimed | NotClaimable:
        at = now()
        token = uuid.uuid4().hex
        try:
            out = self._db.update_item(
                TableName=self._table,
                Key={"id": _n(task_id)},
                UpdateExpression=(
                    "SET #s = :processing, claim_token = :token, lease_until = :lease, "
                    "attempts = attempts + :one, history = list_append(history, :event), "
                    # A batch's child waits in its queue as long as the batch needs (throttling
                    # slows a batch, never fails it): its deadline starts when it is first claimed.
                    "open_shard = if_not_exists(open_shard, :shard), "
                    "settle_by = if_not_exists(settle_by, :settle)"
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
                    ":shard": _n(task_id % OPEN_SHARDS),
                    ":settle": _n(at + limits().task_deadline_seconds),
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
        # A child's batch is counted in the same write; a rare path, so one read to learn it.
        task = self.get(task_id)
        if task is None:
            return False
        update: UpdateTypeDef = {
            "TableName": self._table,
            "Key": {"id": _n(task_id)},
            "UpdateExpression": "SET #s = :error, #e = :err, history = list_append(history, :event) "
            "REMOVE claim_token, lease_until, open_shard",
            "ConditionExpression": f"attribute_exists(id) AND {condition}",
            "ExpressionAttributeNames": {"#s": "status", "#e": "error"},
            "ExpressionAttributeValues": {
                ":error": _s(Status.ERROR.value),
                ":err": _error_value(error),
                ":event": _event(Status.ERROR),
                ":accepted": _s(Status.ACCEPTED.value),
                ":processing": _s(Status.PROCESSING.value),
                ":now": _n(now()),
            },
        }
        return self._end(task, update, Status.ERROR)

    def _transition(self, task: Task, status: Status, values: dict[str, AttributeValueTypeDef]) -> bool:
        sets = ", ".join(f"#{k} = :{k}" for k in values)
        # A finished task leaves the sparse index of unfinished ones.
        removed = "claim_token, lease_until" + (", open_shard" if status in FINISHED else "")
        update: UpdateTypeDef = {
            "TableName": self._table,
            "Key": {"id": _n(task.id)},
            "UpdateExpression": (
                f"SET #s = :status{', ' + sets if sets else ''}, history = list_append(history, :event) "
                f"REMOVE {removed}"
            ),
            "ConditionExpression": "#s = :processing AND claim_token = :token",
            "ExpressionAttributeNames": {"#s": "status", **{f"#{k}": k for k in values}},
            "ExpressionAttributeValues": {
                ":status": _s(status.value),
                ":processing": _s(Status.PROCESSING.value),
                ":token": _s(task.claim_token or ""),
                ":event": _event(status),
                **{f":{k}": v for k, v in values.items()},
            },
        }
        # False: the lease was taken over; the new holder decides the outcome.
        return self._end(task, update, status)

    def _end(self, task: Task, update: UpdateTypeDef, status: Status) -> bool:
        """One conditional write of the task; a child that ends is counted in its batch in the same
        transaction, so a duplicate delivery or a retry can never count an image twice or lose it."""
        if status not in FINISHED or task.batch_id is None:
            try:
                self._db.update_item(**update)
            except ClientError as exc:
                if _conditional_failed(exc):
                    return False
                raise
            if status in FINISHED:
                self._notify(task)
            return True
        ended = "succeeded" if status is Status.DONE else "failed"
        counted: UpdateTypeDef = {
            "TableName": self._table,
            "Key": {"id": _n(task.batch_id)},
            "UpdateExpression": f"ADD pending :minus, {ended} :one",
            "ExpressionAttributeValues": {":minus": _n(-1), ":one": _n(1)},
        }
        for attempt in range(5):
            try:
                self._db.transact_write_items(TransactItems=[{"Update": update}, {"Update": counted}])
                break
            except ClientError as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if "ConditionalCheckFailed" in reasons or _conditional_failed(exc):
                    return False
                if (
                    exc.response.get("Error", {}).get("Code") != "TransactionCanceledException"
                    or attempt == 4
                ):
                    raise
                time.sleep(0.05 * 2**attempt)  # another child of the batch wrote the same counters
        self.settle_batch(task.batch_id)
        return True

    def _notify(self, task: Task) -> None:
        if task.notify and self._notifier is not None:
            self._notifier(task.id)

    # -- batches ---------------------------------------------------------------------------------
    def settle_batch(self, batch_id: int) -> bool:
        """End a batch whose listing is done and whose every child ended: DONE, or ERROR when every
        child failed. Safe to call any number of times from anywhere: one call ends it."""
        batch = self.get(batch_id)
        if batch is None or batch.finished or not batch.listed or batch.pending > 0:
            return False
        # ERROR only when nothing succeeded and something failed: a child, or the listing itself.
        failed = batch.failed > 0 or batch.listing_error is not None
        status = Status.ERROR if batch.succeeded == 0 and failed else Status.DONE
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"id": _n(batch_id)},
                UpdateExpression="SET #s = :status, history = list_append(history, :event) REMOVE open_shard",
                ConditionExpression="#s IN (:accepted, :processing) AND listed = :yes AND pending = :zero",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":status": _s(status.value),
                    ":event": _event(status),
                    ":accepted": _s(Status.ACCEPTED.value),
                    ":processing": _s(Status.PROCESSING.value),
                    ":yes": {"BOOL": True},
                    ":zero": _n(0),
                },
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        self._notify(batch)
        return True

    def add_children(
        self, batch: Task, children: list[dict[str, AttributeValueTypeDef]], cursor: str
    ) -> bool:
        """Write one page of a batch's children and move its listing on, in one transaction: a lister
        that dies before it commits leaves nothing, and its retry finds the page already written
        (False) once it has. An empty `cursor` means the listing is complete."""
        items: list[TransactWriteItemTypeDef] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"id": _n(batch.id)},
                    "UpdateExpression": "SET page = :next, #c = :cursor, listed = :listed, #s = :processing "
                    "ADD pending :count",
                    # Not once the listing was ended for good (end_listing): that page is not written.
                    "ConditionExpression": "page = :page AND listed = :no",
                    "ExpressionAttributeNames": {"#c": "cursor", "#s": "status"},
                    "ExpressionAttributeValues": {
                        ":next": _n(batch.page + 1),
                        ":page": _n(batch.page),
                        ":no": {"BOOL": False},
                        ":cursor": _s(cursor),
                        ":listed": {"BOOL": not cursor},
                        ":processing": _s(Status.PROCESSING.value),
                        ":count": _n(len(children)),
                    },
                }
            },
        ]
        for child in children:
            put: TransactWriteItemTypeDef = {
                "Put": {
                    "TableName": self._table,
                    "Item": child,
                    "ConditionExpression": "attribute_not_exists(id)",
                }
            }
            items.append(put)
        try:
            self._db.transact_write_items(TransactItems=items)
        except ClientError as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons[:1] == ["ConditionalCheckFailed"]:
                return False
            if "ConditionalCheckFailed" in reasons:
                raise IdTaken("a child's id is taken") from None
            raise
        return True

    def end_listing(self, batch: Task, error: PixelportError) -> bool:
        """A batch whose listing cannot go on: what was listed is the whole batch, and `error` says
        why. False if a page was written since `batch` was read (read it again), or it was listed."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"id": _n(batch.id)},
                UpdateExpression="SET listed = :yes, listing_error = :err",
                ConditionExpression="page = :page AND listed = :no AND #s IN (:accepted, :processing)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":yes": {"BOOL": True},
                    ":no": {"BOOL": False},
                    ":err": _error_value(error),
                    ":page": _n(batch.page),
                    ":accepted": _s(Status.ACCEPTED.value),
                    ":processing": _s(Status.PROCESSING.value),
                },
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def mark_sent(self, batch_id: int, pages: int) -> None:
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"id": _n(batch_id)},
                UpdateExpression="SET sent = :pages",
                ConditionExpression="sent < :pages",
                ExpressionAttributeValues={":pages": _n(pages)},
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise

    def children(
        self, batch_id: int, *, after: int = -1, limit: int = 1000, status: Status | None = None
    ) -> tuple[list[Task], int | None]:
        """A batch's children in their order, from place `after` + 1; and the place to go on after,
        None when there are no more."""
        found: list[Task] = []
        start: dict[str, AttributeValueTypeDef] | None = None
        while len(found) < limit:
            kwargs: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": BATCH_INDEX,
                "KeyConditionExpression": "batch_id = :batch AND batch_seq > :after",
                "ExpressionAttributeValues": {":batch": _n(batch_id), ":after": _n(after)},
                "Limit": limit - len(found),
            }
            if status is not None:
                kwargs["FilterExpression"] = "#s = :status"
                kwargs["ExpressionAttributeNames"] = {"#s": "status"}
                kwargs["ExpressionAttributeValues"][":status"] = _s(status.value)
            if start is not None:
                kwargs["ExclusiveStartKey"] = start
            page = self._db.query(**kwargs)
            found.extend(_task_from_item(item) for item in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if start is None:
                return found, None
        last = found[-1].batch_seq if found else None
        return found, last


def _error_value(error: PixelportError) -> AttributeValueTypeDef:
    return _s(json.dumps({**error.to_record(), "created_at": _now_iso()}, separators=(",", ":")))


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def task_item(
    *,
    account: str,
    request: Mapping[str, Any],
    source_name: str,
    request_id: str = "",
    notify: bool = False,
    kind: str = "task",
    result_url: Callable[[int], str] | None = None,
    batch: tuple[int, int] | None = None,
) -> dict[str, AttributeValueTypeDef]:
    """A new task's record. A batch's child (`batch`: its batch's id and its place) has no deadline
    until it is first claimed; every other record starts in the index of unfinished ones."""
    created = now()
    task_id = new_task_id()
    item: dict[str, AttributeValueTypeDef] = {
        "id": _n(task_id),
        "kind": _s(kind),
        "account": _s(account),
        "status": _s(Status.ACCEPTED.value),
        "request": _s(json.dumps(request, separators=(",", ":"))),
        "created_at": _s(iso_timestamp(created)),
        "source_name": _s(source_name),
        "request_id": _s(request_id),
        "attempts": _n(0),
        "history": _event(Status.ACCEPTED),
        "expires_at": _n(int(created) + limits().task_retention_days * 86400),
        "notify": {"BOOL": notify},
        "result_url": _s(result_url(task_id) if result_url is not None else ""),
    }
    if batch is not None:
        item["batch_id"], item["batch_seq"] = _n(batch[0]), _n(batch[1])
    else:
        item["open_shard"] = _n(task_id % OPEN_SHARDS)
        item["settle_by"] = _n(created + limits().task_deadline_seconds)
    if kind == "batch":
        item.update(
            pending=_n(0), succeeded=_n(0), failed=_n(0), listed={"BOOL": False}, page=_n(0), sent=_n(0)
        )
        item["cursor"] = _s("")
    return item


def _task_from_item(item: Mapping[str, Any]) -> Task:
    def text(name: str) -> str | None:
        value = item.get(name)
        return value["S"] if value and "S" in value else None

    def number(name: str) -> int | None:
        value = item.get(name)
        return int(value["N"]) if value and "N" in value else None

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
        kind=text("kind") or "task",
        batch_id=number("batch_id"),
        batch_seq=number("batch_seq"),
        notify=bool(item.get("notify", {}).get("BOOL", False)),
        result_url=text("result_url") or "",
        pending=number("pending") or 0,
        succeeded=number("succeeded") or 0,
        failed=number("failed") or 0,
        listed=bool(item.get("listed", {}).get("BOOL", False)),
        page=number("page") or 0,
        sent=number("sent") or 0,
        cursor=text("cursor") or "",
        listing_error=loads("listing_error"),
    )
