"""ApiFunction: the /v1/image/* and /v1/storage/* routes.

Thin: parse the event, call the core, shape the response."""

# First of all: Python's garbage collector paused while this module imports (pixelport/init_gc.py).
from pixelport import init_gc  # isort: skip

import base64
import json
import re
import time
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from pixelport import aws, init_ahead, settings
from pixelport.accounts import AccountStore
from pixelport.api_document import StorageId, TaskId, answers, openapi_json, takes_body
from pixelport.auth import Gate
from pixelport.batches import BatchService, batch_payload
from pixelport.contract.answers import (
    BatchAnswer,
    EditAnswer,
    StorageAnswer,
    StorageListAnswer,
    StorageTypesAnswer,
    TaskAnswer,
    UploadTaskAnswer,
    WebhookAnswer,
)
from pixelport.contract.base import details_from
from pixelport.contract.batch import BatchRequest
from pixelport.contract.edit import EditRequest, UploadEdit
from pixelport.contract.limits import limits
from pixelport.contract.storage import StorageChangeBody, StorageCreateBody
from pixelport.contract.upload import UploadForm, UploadSlotBody
from pixelport.contract.webhook import WebhookBody
from pixelport.cors import cors_config
from pixelport.docs_page import docs_page
from pixelport.editing import EditService, parse_body
from pixelport.errors import (
    BODY_NOT_JSON,
    INTERNAL,
    ROUTE_NOT_FOUND,
    TASK_NOT_FOUND,
    WEBHOOK_NOT_FOUND,
    PixelportError,
    ValidationFailed,
)
from pixelport.handover import ProcessorInvoker
from pixelport.observability import count_failure
from pixelport.playground_page import playground_page
from pixelport.ratelimit import RateCounter
from pixelport.responses import async_payload, edit_result
from pixelport.storage.registry import deployed_registry
from pixelport.storage.service import StorageService
from pixelport.tasks import Status, Task, TaskStore
from pixelport.tracing import new_tracer
from pixelport.uploads import read_upload
from pixelport.webhook_store import WebhookStore

logger = Logger()
tracer = new_tracer()
metrics = Metrics()
app = APIGatewayRestResolver(cors=cors_config(settings.cors_allow_origin()))

ASYNC_RESULT_PATH = "/v1/image/edit/async/"
BATCH_RESULT_PATH = "/v1/image/edit/batch/"
OPENAPI_PATH = "/v1/openapi.json"
DOCS_PATH = "/v1/docs"
PLAYGROUND_PATH = "/playground"
# Routes that answer without a key: the API's own description, Swagger UI over it, and the playground
# (a static page: the key is typed into it and sent by the browser).
PUBLIC_PATHS = frozenset({OPENAPI_PATH, DOCS_PATH, PLAYGROUND_PATH})
# Headers the gate sets for the answer of the current invocation (RateLimit-*), whatever that answer is.
answer_headers: dict[str, str] = {}
# Task ids are ASCII digits (they stay below 2**53); str.isdigit would also take "²", which int() refuses.
TASK_ID = re.compile(r"[0-9]{1,18}")


@cache
def service() -> EditService:
    # S3's and Lambda's clients are made by the first request that uses them: reading a task (the
    # polling GET) needs neither.
    return EditService(
        store=TaskStore(aws.dynamodb(), settings.tasks_table()),
        s3=aws.on_first_use(aws.s3),
        ingest_bucket=settings.ingest_bucket(),
        storages=deployed_registry(),
        processor=ProcessorInvoker(
            aws.on_first_use(aws.lambda_), aws.on_first_use(aws.lambda_runner), settings.processor_function()
        ),
    )


@cache
def batches() -> BatchService:
    return BatchService(
        store=TaskStore(aws.dynamodb(), settings.tasks_table()),
        sqs=aws.on_first_use(aws.sqs),  # reading a batch (the polling GET) does not queue one
        batch_queue_url=settings.batch_queue_url(),
        storages=deployed_registry(),
    )


@cache
def webhooks() -> WebhookStore:
    return WebhookStore(aws.dynamodb(), settings.accounts_table(), aws.kms(), settings.storage_secrets_key())


@cache
def gate() -> Gate:
    return Gate(
        AccountStore(aws.dynamodb(), settings.accounts_table()),
        RateCounter(aws.dynamodb(), settings.rate_counters_table()),
    )


@cache
def storages() -> StorageService:
    return StorageService(deployed_registry())


def warm() -> None:
    """What a SnapStart snapshot or provisioned concurrency's init holds (pixelport/init_ahead.py)."""
    service(), batches(), webhooks(), gate(), storages()
    for make_client in (aws.dynamodb, aws.s3, aws.sqs, aws.kms, aws.lambda_, aws.lambda_runner):
        make_client()  # its service model and endpoint rules read; no request sent
    # The edit routes' models (the storage routes', rarely called, are built by their first call).
    init_ahead.build_models((EditRequest, UploadEdit, BatchRequest, UploadForm, UploadSlotBody, WebhookBody))
    limits()


init_ahead.prepare(warm)


def json_response(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


def account() -> str:
    return str(app.context["account"])


def request_id() -> str:
    return str(app.current_event.request_context.request_id)


def base_path() -> str:
    """The path before the route's, as the client reached this API: "/prod" on the execute-api host
    (requestContext.path carries the stage), "" on a custom domain or locally."""
    event = app.current_event
    full_path: str = event.raw_event.get("requestContext", {}).get("path") or event.path
    return full_path[: len(full_path) - len(event.path)] if full_path.endswith(event.path) else ""


def result_url(task_id: int, path: str = ASYNC_RESULT_PATH) -> str:
    """The absolute URL of GET /v1/image/edit/async/{id} (or `path`), as the client reached this API."""
    event = app.current_event
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    host = event.raw_event.get("requestContext", {}).get("domainName") or headers.get("host", "")
    proto = headers.get("x-forwarded-proto", "https")
    return f"{proto}://{host}{base_path()}{path}{task_id}"


def batch_url(batch_id: int) -> str:
    return result_url(batch_id, BATCH_RESULT_PATH)


def authenticated(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    event = app.current_event
    # A CORS preflight never carries the key (API Gateway answers it before the function on AWS).
    if event.path in PUBLIC_PATHS or event.http_method == "OPTIONS":
        return next_middleware(app)
    account = gate().admit(event.path, event.headers.get("Authorization"), answer_headers)
    app.append_context(account=account)
    return next_middleware(app)


app.use(middlewares=[authenticated])


def finished_response(task: Task) -> Response[str]:
    if task.status is Status.DONE:
        return json_response(200, {"data": edit_result(task)})
    if task.status is Status.ERROR:
        failure = task.failure()
        assert failure is not None
        # The processor counted this failure already; answering it is not a second one.
        return error_response(failure)
    # Still running at the end of the sync window (SPEC 2.1): the async "accepted" payload.
    return json_response(202, {"data": async_payload(task, result_url(task.id))})


@app.post(
    "/v1/image/edit",
    summary="Edit an image and wait for the result",
    responses=answers(
        EditAnswer, "the result, written", accepted=TaskAnswer, errors=(400, 403, 413, 422, 429)
    ),
    tags=["image editing"],
)
@takes_body(EditRequest, "input, operations and output (SPEC 2.1)")
@tracer.capture_method
def edit() -> Response[str]:
    deadline = sync_deadline()
    task = service().submit(
        parse_body(app.current_event.body),
        account=account(),
        request_id=request_id(),
        result_url=result_url,
        deadline=deadline,
    )
    return finished_response(service().wait(task, deadline=deadline))


def sync_deadline() -> float:
    """When a sync route stops waiting (time.monotonic()): the sync window (SPEC 2.1) from now, within
    the function's own time."""
    remaining = app.lambda_context.get_remaining_time_in_millis() / 1000 - 1.0
    return time.monotonic() + min(limits().sync_wait_seconds, remaining)


@app.post(
    "/v1/image/edit/upload",
    summary="Edit an uploaded image (multipart/form-data, up to the upload body limit)",
    responses=answers(
        EditAnswer, "the result, written", accepted=TaskAnswer, errors=(400, 403, 413, 422, 429)
    ),
    tags=["image editing"],
)
@takes_body(
    UploadForm, "`file` (the image) and `data` (the edit request without input)", "multipart/form-data"
)
@tracer.capture_method
def edit_upload() -> Response[str]:
    deadline = sync_deadline()
    event = app.current_event
    raw = event.body or ""
    try:
        body = base64.b64decode(raw, validate=True) if event.is_base64_encoded else raw.encode("utf-8")
    except ValueError:
        raise PixelportError(BODY_NOT_JSON, "the request body is not valid base64") from None
    upload = read_upload(body, event.headers.get("Content-Type"))
    task = service().submit_upload(
        upload, account=account(), request_id=request_id(), result_url=result_url, deadline=deadline
    )
    return finished_response(service().wait(task, deadline=deadline))


@app.post(
    "/v1/image/edit/upload/url",
    summary="A presigned S3 upload for a large file; the upload starts the task",
    responses=answers(UploadTaskAnswer, "the task and its upload slot", errors=(400, 403, 413, 422, 429)),
    tags=["image editing"],
)
@takes_body(UploadSlotBody, "the file to upload (name, size) and the edit request without input")
@tracer.capture_method
def edit_upload_url() -> Response[str]:
    body = parse_body(app.current_event.body)
    task, slot = service().open_upload(
        body, account=account(), request_id=request_id(), result_url=result_url
    )
    return json_response(
        200, {"data": {**async_payload(task, result_url(task.id)), "upload": slot.payload()}}
    )


@app.post(
    "/v1/image/edit/async",
    summary="Accept an edit and answer at once; poll result_url",
    responses=answers(TaskAnswer, "the accepted task", errors=(400, 403, 413, 422, 429)),
    tags=["image editing"],
)
@takes_body(EditRequest, "input, operations and output (SPEC 2.1)")
@tracer.capture_method
def edit_async() -> Response[str]:
    task = service().accept(
        parse_body(app.current_event.body), account=account(), request_id=request_id(), result_url=result_url
    )
    return json_response(200, {"data": async_payload(task, result_url(task.id))})


@app.get(
    "/v1/image/edit/async/<task_id>",
    summary="A task: its status, result or errors",
    responses=answers(TaskAnswer, "the task", errors=(403, 404, 429)),
    tags=["image editing"],
)
@tracer.capture_method
def edit_async_result(task_id: TaskId) -> Response[str]:
    task = service().get(int(task_id), account=account()) if TASK_ID.fullmatch(task_id) else None
    if task is None:
        raise PixelportError(TASK_NOT_FOUND, "Image edit task not found.")
    return json_response(200, {"data": async_payload(task, result_url(task.id))})


@app.post(
    "/v1/image/edit/batch",
    summary="Accept a batch (a storage folder or a list of images) and answer at once; poll result_url",
    responses=answers(BatchAnswer, "the accepted batch", errors=(400, 403, 413, 422, 429)),
    tags=["image editing"],
)
@takes_body(BatchRequest, "input (a folder or a list), operations and output (SPEC 2.3)")
@tracer.capture_method
def edit_batch() -> Response[str]:
    batch = batches().accept(
        parse_body(app.current_event.body),
        account=account(),
        lookup=service().lookup(account()),
        request_id=request_id(),
        result_url=batch_url,
    )
    return json_response(200, {"data": batch_payload(batch, [], batch_url(batch.id), None)})


@app.get(
    "/v1/image/edit/batch/<task_id>",
    summary="A batch: its status, progress, and a page of results and errors (?after= for the next)",
    responses=answers(BatchAnswer, "the batch", errors=(403, 404, 422, 429)),
    tags=["image editing"],
)
@tracer.capture_method
def edit_batch_result(task_id: TaskId) -> Response[str]:
    batch = batches().get(int(task_id), account=account()) if TASK_ID.fullmatch(task_id) else None
    if batch is None:
        raise PixelportError(TASK_NOT_FOUND, "Batch not found.")
    after_text = app.current_event.get_query_string_value("after", "-1") or "-1"
    if not re.fullmatch(r"-1|[0-9]{1,9}", after_text):
        raise ValidationFailed({"after": ["must be the number a next_url carries"]})
    children, after = batches().page(batch, after=int(after_text))
    url = batch_url(batch.id)
    next_url = f"{url}?after={after}" if after is not None else None
    page = batch_payload(batch, children, url, next_url, first_page=after_text == "-1")
    return json_response(200, {"data": page})


@app.put(
    "/v1/account/webhook",
    summary="Set the account's webhook: ended tasks and batches are POSTed to it, signed",
    responses=answers(WebhookAnswer, "the webhook (never its secret)", errors=(400, 413, 422)),
    tags=["account"],
)
@takes_body(WebhookBody, "url and secret")
def webhook_put() -> Response[str]:
    body = parse_body(app.current_event.body)
    try:
        hook = WebhookBody.model_validate(body)
    except ValidationError as exc:
        raise ValidationFailed(details_from(exc)) from None
    return json_response(200, {"data": webhooks().put(account(), hook.url, hook.secret).shown()})


@app.get(
    "/v1/account/webhook",
    summary="The account's webhook (never its secret)",
    responses=answers(WebhookAnswer, "the webhook", errors=(404,)),
    tags=["account"],
)
def webhook_get() -> Response[str]:
    hook = webhooks().get(account())
    if hook is None:
        raise PixelportError(WEBHOOK_NOT_FOUND, "This account has no webhook.")
    return json_response(200, {"data": hook.shown()})


@app.delete(
    "/v1/account/webhook",
    summary="Remove the account's webhook",
    responses=answers(WebhookAnswer, "the webhook as it was", errors=(404,)),
    tags=["account"],
)
def webhook_delete() -> Response[str]:
    hook = webhooks().delete(account())
    if hook is None:
        raise PixelportError(WEBHOOK_NOT_FOUND, "This account has no webhook.")
    return json_response(200, {"data": hook.shown()})


@app.get(
    "/v1/storage/storage-types",
    summary="The storage types",
    responses=answers(StorageTypesAnswer, "the types", errors=(403,)),
    tags=["storage"],
)
def storage_types() -> Response[str]:
    return json_response(200, {"data": storages().types()})


@app.get(
    "/v1/storage/storages",
    summary="The account's connected storages (no credentials)",
    responses=answers(StorageListAnswer, "the storages", errors=(403,)),
    tags=["storage"],
)
def storage_list() -> Response[str]:
    return json_response(200, {"data": storages().list(account())})


@app.post(
    "/v1/storage/storages",
    summary="Connect a storage",
    responses=answers(
        StorageAnswer, "the storage, with credentials.access_key only", errors=(400, 403, 409, 413, 422)
    ),
    tags=["storage"],
)
@takes_body(StorageCreateBody, "name, type and the type's parameters (SPEC 5)")
def storage_create() -> Response[str]:
    created = storages().create(account(), parse_body(app.current_event.body))
    return json_response(200, {"data": created})


@app.get(
    "/v1/storage/storages/<storage_id>",
    summary="A connected storage",
    responses=answers(StorageAnswer, "the storage, with credentials.access_key only", errors=(403, 404)),
    tags=["storage"],
)
def storage_read(storage_id: StorageId) -> Response[str]:
    return json_response(200, {"data": storages().get(account(), storage_id)})


@app.patch(
    "/v1/storage/storages/<storage_id>",
    summary="Change a storage's name, type or parameters",
    responses=answers(StorageAnswer, "the storage as changed", errors=(400, 403, 404, 409, 413, 422)),
    tags=["storage"],
)
@takes_body(StorageChangeBody, "any of name, type, parameters")
def storage_change(storage_id: StorageId) -> Response[str]:
    changed = storages().change(account(), storage_id, parse_body(app.current_event.body))
    return json_response(200, {"data": changed})


@app.delete(
    "/v1/storage/storages/<storage_id>",
    summary="Disconnect a storage (the bucket is untouched)",
    responses=answers(StorageAnswer, "the storage as it was", errors=(403, 404)),
    tags=["storage"],
)
def storage_delete(storage_id: StorageId) -> Response[str]:
    return json_response(200, {"data": storages().delete(account(), storage_id)})


@app.get(OPENAPI_PATH, include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type="application/json", body=api_document(base_path()))


@app.get(DOCS_PATH, include_in_schema=False)
def api_docs() -> Response[str]:
    page = docs_page(f"{base_path()}{OPENAPI_PATH}")
    return Response(
        status_code=200,
        content_type="text/html; charset=utf-8",
        body=page.html,
        headers={"Content-Security-Policy": page.content_security_policy},
    )


@app.get(PLAYGROUND_PATH, include_in_schema=False)
def playground() -> Response[str]:
    return Response(
        status_code=200,
        content_type="text/html; charset=utf-8",
        body=playground_page(),
        headers={"Cache-Control": "no-cache"},
    )


@cache
def api_document(base: str) -> str:
    return openapi_json(app, base)


@app.not_found
def not_found(_: Exception) -> Response[str]:
    event = app.current_event
    return refused(PixelportError(ROUTE_NOT_FOUND, f"no route {event.http_method} {event.path}"))


def error_response(error: PixelportError) -> Response[str]:
    return json_response(error.status, error.envelope())


@app.exception_handler(PixelportError)
def refused(error: PixelportError) -> Response[str]:
    if error.status >= 500:
        logger.error("request failed", extra={"error_code": error.kind.code, "reason": error.message})
    else:
        logger.info("request refused", extra={"error_code": error.kind.code, "reason": error.message})
    count_failure(error.kind.code, "api")
    return error_response(error)


@app.exception_handler(Exception)
def crashed(error: Exception) -> Response[str]:
    logger.exception("unhandled error")
    return refused(PixelportError(INTERNAL, "internal error; quote the x-request-id to support"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="ApiRequests", unit=MetricUnit.Count, value=1)
    answer_headers.clear()
    response = app.resolve(event, context)
    request_id = str(event.get("requestContext", {}).get("requestId", ""))
    for name, value in {**answer_headers, "x-request-id": request_id}.items():
        response.setdefault("headers", {})[name] = value
        if "multiValueHeaders" in response:
            response["multiValueHeaders"][name] = [value]
    return response


init_gc.resume()  # the last statement: what the import made frozen, the collector on again
