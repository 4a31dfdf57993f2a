"""The API side of an edit: validate, create the task, and hand its input to the processor.

The sync route fetches the input here (a refused source answers before any task exists) and stages
the bytes; the async route answers at once, after validating only, and leaves the fetch to the
processor (staging.Staged.REQUEST). Both give the same errors for the same source: one fetch, one
sniff. Runs in the API function, which never imports Pillow: the input is only sniffed here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from pixelport import tasks
from pixelport.capabilities import unsupported
from pixelport.contract.base import details_from
from pixelport.contract.edit import EditCheck, EditRequest, UploadEdit, check_edit_request
from pixelport.contract.limits import limits
from pixelport.contract.references import StorageRef
from pixelport.contract.upload import UploadSlotRequest
from pixelport.errors import (
    BODY_NOT_JSON,
    BODY_TOO_LARGE,
    INPUT_TOO_LARGE,
    INTERNAL,
    Details,
    PixelportError,
    ValidationFailed,
    merge_details,
)
from pixelport.handover import Handover, may_run
from pixelport.sniff import media_type, require_image
from pixelport.sources.storage import read_input
from pixelport.sources.url import Fetched, fetch_input
from pixelport.staging import Staged, input_key, staged_key
from pixelport.storage.registry import StorageRecord, StorageRegistry
from pixelport.storage.web_folder import read_only_message
from pixelport.tasks import Task, TaskStore
from pixelport.upload_slots import UploadSlot, presign_upload
from pixelport.uploads import Upload

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = Logger(child=True)

# The sync routes' wait (SPEC 2.1): the task is read every POLL_FIRST_SECONDS while most edits end,
# then at intervals growing by POLL_GROWTH up to POLL_MAX_SECONDS. Within the 25 s sync window
# that is at most about 100 consistent reads of one item (poll_delays's bound, tested).
POLL_FIRST_SECONDS = 0.025
POLL_TIGHT_SECONDS = 1.0
POLL_GROWTH = 1.5
POLL_MAX_SECONDS = 0.5


def poll_delays() -> Iterator[float]:
    """The pauses between reads of a task a sync route waits for."""
    for _ in range(round(POLL_TIGHT_SECONDS / POLL_FIRST_SECONDS)):
        yield POLL_FIRST_SECONDS
    delay = POLL_FIRST_SECONDS
    while True:
        delay = min(delay * POLL_GROWTH, POLL_MAX_SECONDS)
        yield delay


def parse_body(body: str | bytes | None) -> Any:
    raw = body.encode() if isinstance(body, str) else (body or b"")
    if len(raw) > limits().max_request_body_bytes:
        raise PixelportError(
            BODY_TOO_LARGE, f"request body is larger than {limits().max_request_body_bytes} bytes"
        )
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise PixelportError(BODY_NOT_JSON, "request body is not valid JSON") from None
    except RecursionError:
        raise PixelportError(BODY_NOT_JSON, "request body is nested too deeply") from None
    if not isinstance(parsed, dict):
        raise PixelportError(BODY_NOT_JSON, "request body must be a JSON object")
    return parsed


# The account's storage of a name, or None: another account's storages are not found (SPEC 5).
StorageLookup = Callable[[str], StorageRecord | None]


def _storage_problems(refs: Mapping[str, StorageRef], lookup: StorageLookup | None) -> Details:
    """SPEC 1: an edit naming a storage the account does not have is 422; so is writing to a web folder."""
    problems: Details = {}
    for path, ref in refs.items():
        record = lookup(ref.storage) if lookup is not None else None
        if record is None:
            problems[path] = [f"storage '{ref.storage}' is not connected to this account"]
        elif path == "output.destination" and record.type == "web_folder":
            problems[path] = [read_only_message(ref.storage)]
    return problems


def _problems(check: EditCheck, storages: StorageLookup | None) -> Details:
    """Every problem of a request (SPEC 1): the contract's, the operations this deployment cannot do,
    and the storages the account does not have (none without `storages`)."""
    return merge_details(
        check.errors,
        *(unsupported(block) for block in check.operations),
        _storage_problems(check.storage_refs, storages),
    )


def validate_edit(body: Any, *, storages: StorageLookup | None = None) -> EditRequest:
    """The request, or one 422 listing every problem of it."""
    check = check_edit_request(body)
    if problems := _problems(check, storages):
        raise ValidationFailed(problems)
    assert isinstance(check.request, EditRequest)
    return check.request


def validate_upload_slot(body: Any, *, storages: StorageLookup | None = None) -> UploadSlotRequest:
    """The presigned route's body: `file` and `data` checked together, in one 422."""
    problems: Details = {}
    try:
        found: UploadSlotRequest | None = UploadSlotRequest.model_validate(body)
    except ValidationError as exc:
        found, problems = None, details_from(exc)
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, dict):
        try:
            validate_upload_data(data, storages=storages)
        except ValidationFailed as exc:
            problems = merge_details(problems, exc.details)
    if problems or found is None:
        raise ValidationFailed(problems)
    return found


def validate_upload_data(data: Any, *, storages: StorageLookup | None = None) -> UploadEdit:
    """An upload's `data` part, or one 422 listing every problem of it, each path under `data.`."""
    if isinstance(data, dict) and "input" in data:
        problems: Details = {"input": ["not accepted in an upload: the file part is the input"]}
        data = {k: v for k, v in data.items() if k != "input"}
    else:
        problems = {}
    check = check_edit_request(data, UploadEdit)
    if problems := merge_details(problems, _problems(check, storages)):
        raise ValidationFailed(
            {f"data.{path}" if path else "data": messages for path, messages in problems.items()}
        )
    assert isinstance(check.request, UploadEdit)
    return check.request


@dataclass
class EditService:
    store: TaskStore
    s3: S3Client
    ingest_bucket: str
    fetcher: Callable[[str], Fetched] | None = None
    storages: StorageRegistry | None = None  # None: no storage is connected
    # Runs or queues the processor on a staged input (handover.ProcessorInvoker); None: S3 notifies it.
    processor: Handover | None = None

    def _fetch(self, url: str) -> Fetched:
        if self.fetcher is not None:
            return self.fetcher(url)
        return fetch_input(url)

    def lookup(self, account: str) -> StorageLookup | None:
        registry = self.storages
        if registry is None:
            return None
        found: dict[str, StorageRecord | None] = {}

        def lookup(name: str) -> StorageRecord | None:
            if name not in found:
                found[name] = registry.by_name(account, name)
            return found[name]

        return lookup

    def submit(
        self,
        body: dict[str, Any],
        *,
        account: str,
        request_id: str = "",
        result_url: Callable[[int], str] | None = None,
        deadline: float | None = None,
    ) -> Task:
        """The sync route: everything that can be refused is refused here, before a task exists. Given
        `result_url`, the account's webhook hears when it ends (as for every task: an edit that outlasts
        the sync window is answered 202 and read with that URL). Given `deadline` (time.monotonic()),
        the end of the sync window, the processor may run while this waits (`_hand_over`): the task
        answered is then the ended one."""
        lookup = self.lookup(account)
        request = validate_edit(body, storages=lookup)
        source = request.source
        if isinstance(source, StorageRef):
            assert lookup is not None and self.storages is not None
            record = lookup(source.storage)
            assert record is not None  # validate_edit refused unknown storages
            fetched = read_input(self.storages, record, source, fetcher=self.fetcher)
        else:
            fetched = self._fetch(source.url)
        require_image(fetched.data)
        task = self.store.create(
            account=account,
            request=body,
            source_name=fetched.name,
            request_id=request_id,
            notify=result_url is not None,
            result_url=result_url,
        )
        return self._hand_over(task, fetched.data, deadline)

    def accept(
        self,
        body: dict[str, Any],
        *,
        account: str,
        request_id: str = "",
        result_url: Callable[[int], str] | None = None,
    ) -> Task:
        """The async route (SPEC 2.2, decided): validate the body only; the processor fetches the source
        and ends the task ERROR with the sync route's code and message if the source fails. The
        account's webhook hears when it ends."""
        validate_edit(body, storages=self.lookup(account))
        task = self.store.create(
            account=account,
            request=body,
            source_name="",
            request_id=request_id,
            notify=result_url is not None,
            result_url=result_url,
        )
        self._stage(task, staged_key(Staged.REQUEST, task.id), b"", "application/octet-stream")
        return task

    def submit_upload(
        self,
        upload: Upload,
        *,
        account: str,
        request_id: str = "",
        result_url: Callable[[int], str] | None = None,
        deadline: float | None = None,
    ) -> Task:
        """The multipart route (SPEC 2.4): the file is the input, `data` the request without `input`;
        the webhook hears its end given `result_url`; `deadline` as for `submit`."""
        validate_upload_data(upload.data, storages=self.lookup(account))
        if len(upload.file) > limits().max_input_bytes:
            raise PixelportError(INPUT_TOO_LARGE, f"input is larger than {limits().max_input_bytes} bytes")
        require_image(upload.file)
        task = self.store.create(
            account=account,
            request=upload.data,
            source_name=upload.filename,
            request_id=request_id,
            notify=result_url is not None,
            result_url=result_url,
        )
        return self._hand_over(task, upload.file, deadline)

    def open_upload(
        self,
        body: Any,
        *,
        account: str,
        request_id: str = "",
        result_url: Callable[[int], str] | None = None,
    ) -> tuple[Task, UploadSlot]:
        """The presigned route: a task waiting for its upload, and the slot to upload into; the task is
        read like an async one, and the webhook hears its end given `result_url`."""
        slot_request = validate_upload_slot(body, storages=self.lookup(account))
        task = self.store.create(
            account=account,
            request=slot_request.data,
            source_name=slot_request.file.name,
            request_id=request_id,
            notify=result_url is not None,
            result_url=result_url,
        )
        try:
            slot = presign_upload(self.s3, self.ingest_bucket, task.id, slot_request.file, now=tasks.now())
        except Exception:
            self.store.fail_unfinished(task.id, PixelportError(INTERNAL, "the upload could not be prepared"))
            raise
        return task, slot

    def _stage(self, task: Task, key: str, data: bytes, content_type: str) -> None:
        try:
            self.s3.put_object(Bucket=self.ingest_bucket, Key=key, Body=data, ContentType=content_type)
        except Exception:
            self.store.fail_unfinished(task.id, PixelportError(INTERNAL, "the input could not be staged"))
            raise

    def _hand_over(self, task: Task, data: bytes, deadline: float | None) -> Task:
        """A sync route's input to the processor, staged under direct/. With time left in the sync
        window for a whole run, the processor runs while this waits, and the task is answered as it
        ended. Otherwise, and whenever that run did not end the task, the input is queued for the
        processor (an Event invocation: Lambda's retries and on-failure destination); if Lambda does
        not take that either, it is staged under inputs/, whose S3 notification invokes the processor.
        A second delivery is harmless: the task is claimed once."""
        content_type = media_type(data)
        if self.processor is None:
            self._stage(task, input_key(task.id), data, content_type)
            return task
        key = staged_key(Staged.DIRECT, task.id)
        self._stage(task, key, data, content_type)
        if deadline is not None and may_run(deadline - time.monotonic()):
            ended = self._run(self.processor, task, key)
            if ended is not None:
                return ended
        try:
            self.processor.queue(self.ingest_bucket, key)
        except Exception as exc:
            logger.warning(
                "invoking the processor failed; handing the input over through S3",
                extra={"task_id": task.id, "reason": f"{type(exc).__name__}: {exc}"},
            )
            self._stage(task, input_key(task.id), data, content_type)
        return task

    def _run(self, processor: Handover, task: Task, key: str) -> Task | None:
        """The task as a synchronous run of the processor left it, if that ended it; None otherwise."""
        try:
            returned = processor.run(self.ingest_bucket, key)
        except Exception as exc:  # not taken (throttled, refused) or no answer within run_seconds()
            logger.warning(
                "running the processor failed; queueing the input",
                extra={"task_id": task.id, "reason": f"{type(exc).__name__}: {exc}"},
            )
            return None
        if not returned:
            # A function error; the handler may still have ended the task before it failed.
            logger.warning("the processor's run failed", extra={"task_id": task.id})
        try:
            ended = self.store.get(task.id)
        except Exception as exc:  # the read's failure is not the edit's: queue, then poll
            logger.warning(
                "reading the task after its run failed; queueing the input",
                extra={"task_id": task.id, "reason": f"{type(exc).__name__}: {exc}"},
            )
            return None
        return ended if ended is not None and ended.finished else None

    def wait(self, task: Task, *, deadline: float) -> Task:
        """Poll the task until it ends or the deadline passes; answers the latest state."""
        delays = poll_delays()
        while not task.finished and time.monotonic() < deadline:
            time.sleep(min(next(delays), max(0.0, deadline - time.monotonic())))
            task = self.store.get(task.id) or task
        return task

    def get(self, task_id: int, *, account: str) -> Task | None:
        task = self.store.get(task_id)
        # A batch is read at /v1/image/edit/batch/{id}; its children are tasks like any other.
        return task if task is not None and task.account == account and task.kind != "batch" else None
