"""Batches (SPEC 2.3): a folder or a list of images edited one child task per image.

    POST  -> validate, check the folder has objects, a batch record, one message on BatchQueue
    BatchQueue -> BatchFunction: list a page (99 images), write the page's children and move the
             listing on in one transaction, send each child to BatchItemsQueue; go on in a follow-up
             message before the invocation's time runs out (a listing of 100,000 keys is ~1,000 pages)
    BatchItemsQueue -> ProcessorFunction, one image per message, as many in parallel as Lambda runs
    each child that ends counts itself in its batch in the same transaction; the last one ends the batch

A page is committed before its messages are sent; a lister that dies in between leaves the page's
`sent` mark behind, and its retry sends that page again (a second delivery of a child is harmless:
the claim lets one through).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pixelport.capabilities import unsupported
from pixelport.contract.batch import BatchRequest, check_batch_request
from pixelport.contract.references import StorageRef
from pixelport.editing import StorageLookup, _storage_problems
from pixelport.errors import (
    BATCH_FOLDER_EMPTY,
    PROCESSING_FAILED,
    PixelportError,
    ValidationFailed,
    merge_details,
)
from pixelport.storage.buckets import BucketStorage
from pixelport.storage.connect import connector
from pixelport.storage.registry import StorageRegistry
from pixelport.tasks import IdTaken, Status, Task, TaskStore, task_item

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# Children per page: one transaction holds at most 100 writes, the batch's own update among them.
PAGE_SIZE = 99
# Children (results and errors together) per page of GET /v1/image/edit/batch/{id}.
ANSWER_PAGE = 1000
# A lister stops taking pages this long before its invocation's end and goes on in a new message.
LISTING_MARGIN_SECONDS = 15.0


def validate_batch(body: Any, *, storages: StorageLookup | None) -> BatchRequest:
    check = check_batch_request(body)
    problems = merge_details(
        check.errors,
        *(unsupported(block) for block in check.operations),
        _storage_problems(check.storage_refs, storages),
    )
    for path, ref in check.storage_refs.items():
        record = storages(ref.storage) if storages is not None else None
        if path == "input" and record is not None and record.type == "web_folder":
            problems.setdefault(path, []).append(
                f"storage '{ref.storage}' is a web folder, which cannot be listed; list its images instead"
            )
    if problems:
        raise ValidationFailed(problems)
    assert check.request is not None
    return check.request


def input_object(reference: str) -> dict[str, str]:
    """How a batch's answer names an input: its storage:// URI or its URL."""
    return {"object_uri": reference} if reference.startswith("storage://") else {"url": reference}


def child_payload(child: Task) -> tuple[str, dict[str, Any]]:
    """("result", {...}) or ("error", {...}) of an ended child, as SPEC 2.3 lists them."""
    named = input_object(str(child.request.get("input", "")))
    if child.status is Status.DONE and child.result:
        return "result", {
            "input_object": {**child.result["input"], **named},
            "output_object": child.result["output"],
        }
    error = child.error or {}
    return "error", {
        "error": error.get("message", ""),
        "created_at": error.get("created_at"),
        "input_object": named,
    }


def batch_payload(
    batch: Task, children: list[Task], result_url: str, next_url: str | None, *, first_page: bool = True
) -> dict[str, Any]:
    """GET's answer; the batch's own error (its listing failed) leads the first page's `errors`."""
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    if first_page and (entry := listing_error_entry(batch)) is not None:
        errors.append(entry)
    for child in children:
        if child.finished:
            kind, entry = child_payload(child)
            (results if kind == "result" else errors).append(entry)
    return {
        "id": batch.id,
        "status": batch.status.value,
        "result_url": result_url,
        "created_at": batch.created_at,
        "request": batch.request,
        "results": results,
        "errors": errors,
        "progress": {
            "images": batch.pending + batch.succeeded + batch.failed,
            "done": batch.succeeded,
            "failed": batch.failed,
            "listing_complete": batch.listed and batch.listing_error is None,
        },
        "next_url": next_url,
    }


@dataclass
class BatchService:
    """The API side: accept a batch, read it back."""

    store: TaskStore
    sqs: SQSClient
    batch_queue_url: str
    storages: StorageRegistry | None

    def accept(
        self,
        body: dict[str, Any],
        *,
        account: str,
        lookup: StorageLookup | None,
        request_id: str,
        result_url: Callable[[int], str],
    ) -> Task:
        request = validate_batch(body, storages=lookup)
        if (folder := request.folder) is not None:
            self._require_objects(account, *folder)
        batch = self.store.create(
            account=account,
            request=body,
            source_name="",
            request_id=request_id,
            notify=True,
            kind="batch",
            result_url=result_url,
        )
        self.sqs.send_message(QueueUrl=self.batch_queue_url, MessageBody=f'{{"batch_id": {batch.id}}}')
        return batch

    def _require_objects(self, account: str, folder: StorageRef, recursive: bool) -> None:
        """A folder with nothing in it is the client's mistake, said at once (400), not an empty batch."""
        assert self.storages is not None
        record = self.storages.by_name(account, folder.storage)
        assert record is not None  # validate_batch refused unknown storages
        storage = connector(record, self.storages)
        assert isinstance(storage, BucketStorage)
        paths, more = storage.list_folder(folder.path, recursive=recursive, limit=1000)
        while not paths and more:
            paths, more = storage.list_folder(folder.path, recursive=recursive, start_after=more, limit=1000)
        if not paths:
            where = f"storage://{folder.storage}/{quote(folder.path)}"
            inner = "" if recursive else " (subfolders are not read without recursive: true)"
            raise PixelportError(BATCH_FOLDER_EMPTY, f"there is no object in {where}{inner}")

    def get(self, batch_id: int, *, account: str) -> Task | None:
        batch = self.store.get(batch_id)
        if batch is None or batch.account != account or batch.kind != "batch":
            return None
        return batch

    def page(self, batch: Task, *, after: int) -> tuple[list[Task], int | None]:
        return self.store.children(batch.id, after=after, limit=ANSWER_PAGE)


def send_children(sqs: SQSClient, items_queue_url: str, ids: list[int]) -> None:
    """One BatchItemsQueue message per child, ten per call; raises if SQS keeps refusing some."""
    for start in range(0, len(ids), 10):
        entries = [{"Id": str(i), "MessageBody": f'{{"task_id": {i}}}'} for i in ids[start : start + 10]]
        for _ in range(5):
            answer = sqs.send_message_batch(QueueUrl=items_queue_url, Entries=entries)  # type: ignore[arg-type]
            failed = {f["Id"] for f in answer.get("Failed", [])}
            entries = [e for e in entries if e["Id"] in failed]
            if not entries:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"SQS refused {len(entries)} messages; the retry sends the page again")


def resend_unsent(store: TaskStore, sqs: SQSClient, items_queue_url: str, batch: Task) -> None:
    """The page committed last by a lister that died before it sent the page's messages."""
    if batch.page == 0 or batch.sent >= batch.page:
        return
    first = (batch.page - 1) * PAGE_SIZE
    children, _ = store.children(batch.id, after=first - 1, limit=PAGE_SIZE)
    send_children(sqs, items_queue_url, [c.id for c in children if not c.finished])
    store.mark_sent(batch.id, batch.page)


def listing_failed(batch: Task) -> PixelportError:
    """Why a batch whose listing ran out of deliveries holds only what was listed before."""
    listed = batch.pending + batch.succeeded + batch.failed
    request = BatchRequest.model_validate(batch.request)
    if (folder := request.folder) is not None:
        ref, recursive = folder
        where = f"storage://{ref.storage}/{quote(ref.path)}" + (" (recursive)" if recursive else "")
        rest = f"after {batch.cursor}" if batch.cursor else "from its start"
        unread = f"the folder {where} was not listed {rest}"
    else:
        start = int(batch.cursor or 0)
        unread = f"input.{start} to input.{len(request.items) - 1} were not started"
    return PixelportError(
        PROCESSING_FAILED,
        f"listing this batch's input failed on every attempt after {listed} images: {unread}; "
        f"the batch holds the {listed} images listed before (quote the batch id to support)",
    )


def listing_error_entry(batch: Task) -> dict[str, Any] | None:
    """A batch's own entry in `errors` when its listing failed: it names the folder or the list."""
    if batch.listing_error is None:
        return None
    written = batch.request.get("input")
    source = written.get("source") if isinstance(written, dict) else written
    named = {"object_uri": source} if isinstance(source, str) else {"list": "input"}
    return {
        "error": batch.listing_error.get("message", ""),
        "created_at": batch.listing_error.get("created_at"),
        "input_object": named,
    }


@dataclass
class Lister:
    """The BatchFunction side: turn a batch's input into child tasks, page by page."""

    store: TaskStore
    sqs: SQSClient
    batch_queue_url: str
    items_queue_url: str
    storages: StorageRegistry | None

    def run(self, batch_id: int, *, remaining: Callable[[], float]) -> str:
        batch = self.store.get(batch_id)
        if batch is None or batch.kind != "batch" or batch.finished:
            return "nothing to do"
        request = BatchRequest.model_validate(batch.request)
        resend_unsent(self.store, self.sqs, self.items_queue_url, batch)
        while not batch.listed:
            if remaining() < LISTING_MARGIN_SECONDS:
                self.sqs.send_message(
                    QueueUrl=self.batch_queue_url, MessageBody=f'{{"batch_id": {batch.id}}}'
                )
                return "continued"
            children, cursor = self._next_page(batch, request)
            try:
                written = self.store.add_children(batch, children, cursor)
            except IdTaken:
                continue  # a child's id belongs to another task already: draw the page's ids again
            if written:
                send_children(self.sqs, self.items_queue_url, [int(c["id"]["N"]) for c in children])
                self.store.mark_sent(batch.id, batch.page + 1)
            reread = self.store.get(batch.id)
            assert reread is not None
            batch = reread
        self.store.settle_batch(batch.id)
        return "listed"

    def _next_page(self, batch: Task, request: BatchRequest) -> tuple[list[dict[str, Any]], str]:
        """The next page's child records and the cursor after it ("" when the input is exhausted)."""
        first_seq = batch.page * PAGE_SIZE
        written = batch.request.get("output") or {}
        output = {"destination": written} if isinstance(written, str) else dict(written)
        destination = request.output.destination_ref
        inputs: list[tuple[str, str, str]] = []  # (input reference, relative folder, name)
        if (folder := request.folder) is not None:
            ref, recursive = folder
            paths, cursor = self._list(batch.account, ref, recursive, batch.cursor)
            for path in paths:
                relative = path[len(ref.path) :]
                inner, _, name = relative.rpartition("/")
                inputs.append((f"storage://{ref.storage}/{quote(path)}", f"{inner}/" if inner else "", name))
        else:
            start = int(batch.cursor or 0)
            chosen = request.items[start : start + PAGE_SIZE]
            end = start + len(chosen)
            cursor = str(end) if end < len(request.items) else ""
            for item, raw in zip(chosen, request.input[start:end], strict=True):  # type: ignore[index]
                name = item.basename if isinstance(item, StorageRef) else ""
                inputs.append((str(raw), "", name))
        children: list[dict[str, Any]] = []
        ids: set[str] = set()
        for index, (reference, inner, name) in enumerate(inputs):
            child_output = dict(output)
            if destination is not None:
                child_output["destination"] = (
                    f"storage://{destination.storage}/{quote(destination.path + inner)}"
                )
            child_request = {
                "input": reference,
                "operations": batch.request.get("operations", {}),
                "output": child_output,
            }
            while True:
                # A page's ids are drawn in the same millisecond: 12 random bits each, so draw again
                # until they differ (one transaction cannot write one item twice).
                child = task_item(
                    account=batch.account,
                    request=child_request,
                    source_name=name,
                    request_id=batch.request_id,
                    batch=(batch.id, first_seq + index),
                )
                if child["id"]["N"] not in ids:
                    break
            ids.add(child["id"]["N"])
            children.append(child)
        return children, cursor

    def _list(self, account: str, folder: StorageRef, recursive: bool, cursor: str) -> tuple[list[str], str]:
        if self.storages is None:
            raise RuntimeError("a folder batch needs the storages registry")
        record = self.storages.by_name(account, folder.storage)
        if record is None:
            return [], ""  # disconnected since: the batch ends with what it has
        storage = connector(record, self.storages)
        assert isinstance(storage, BucketStorage)
        paths, after = storage.list_folder(
            folder.path, recursive=recursive, start_after=cursor, limit=PAGE_SIZE
        )
        return paths, after or ""
