"""ApiFunction: the /v1/image/* routes. Thin: parse the event, call the core, shape the response."""

from __future__ import annotations

import base64
import json
import re
import time
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from pixelport import aws, settings
from pixelport.auth import authenticate
from pixelport.contract.limits import limits
from pixelport.editing import EditService, parse_body
from pixelport.errors import BODY_NOT_JSON, INTERNAL, ROUTE_NOT_FOUND, TASK_NOT_FOUND, PixelportError
from pixelport.observability import count_failure
from pixelport.responses import async_payload, edit_result
from pixelport.tasks import Status, Task, TaskStore
from pixelport.uploads import read_upload

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()

ASYNC_RESULT_PATH = "/v1/image/edit/async/"
# Task ids are ASCII digits (they stay below 2**53); str.isdigit would also take "²", which int() refuses.
TASK_ID = re.compile(r"[0-9]{1,18}")


@cache
def service() -> EditService:
    return EditService(
        store=TaskStore(aws.dynamodb(), settings.tasks_table()),
        s3=aws.s3(),
        ingest_bucket=settings.ingest_bucket(),
    )


def json_response(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


def account() -> str:
    return str(app.context["account"])


def request_id() -> str:
    return str(app.current_event.request_context.request_id)


def result_url(task_id: int) -> str:
    """The absolute URL of GET /v1/image/edit/async/{id}, as the client reached this API."""
    event = app.current_event
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    ctx = event.raw_event.get("requestContext", {})
    host = ctx.get("domainName") or headers.get("host", "")
    proto = headers.get("x-forwarded-proto", "https")
    # requestContext.path carries the stage ("/prod/v1/...") when called on the execute-api host.
    full_path: str = ctx.get("path") or event.path
    prefix = full_path[: len(full_path) - len(event.path)] if full_path.endswith(event.path) else ""
    return f"{proto}://{host}{prefix}{ASYNC_RESULT_PATH}{task_id}"


def authenticated(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    app.append_context(account=authenticate(app.current_event.headers.get("Authorization")))
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


@app.post("/v1/image/edit")
@tracer.capture_method
def edit() -> Response[str]:
    started = time.monotonic()
    task = service().submit(parse_body(app.current_event.body), account=account(), request_id=request_id())
    return finished_response(wait_for(task, started))


def wait_for(task: Task, started: float) -> Task:
    """The sync routes wait for the task within the sync window (SPEC 2.1) and the function's time."""
    window = limits().sync_wait_seconds - (time.monotonic() - started)
    remaining = app.lambda_context.get_remaining_time_in_millis() / 1000 - 1.0
    return service().wait(task, deadline=time.monotonic() + min(window, remaining))


@app.post("/v1/image/edit/upload")
@tracer.capture_method
def edit_upload() -> Response[str]:
    started = time.monotonic()
    event = app.current_event
    raw = event.body or ""
    try:
        body = base64.b64decode(raw, validate=True) if event.is_base64_encoded else raw.encode("utf-8")
    except ValueError:
        raise PixelportError(BODY_NOT_JSON, "the request body is not valid base64") from None
    upload = read_upload(body, event.get_header_value("content-type"))
    task = service().submit_upload(upload, account=account(), request_id=request_id())
    return finished_response(wait_for(task, started))


@app.post("/v1/image/edit/upload/url")
@tracer.capture_method
def edit_upload_url() -> Response[str]:
    body = parse_body(app.current_event.body)
    task, slot = service().open_upload(body, account=account(), request_id=request_id())
    return json_response(
        200, {"data": {**async_payload(task, result_url(task.id)), "upload": slot.payload()}}
    )


@app.post("/v1/image/edit/async")
@tracer.capture_method
def edit_async() -> Response[str]:
    task = service().accept(parse_body(app.current_event.body), account=account(), request_id=request_id())
    return json_response(200, {"data": async_payload(task, result_url(task.id))})


@app.get("/v1/image/edit/async/<task_id>")
@tracer.capture_method
def edit_async_result(task_id: str) -> Response[str]:
    task = service().get(int(task_id), account=account()) if TASK_ID.fullmatch(task_id) else None
    if task is None:
        raise PixelportError(TASK_NOT_FOUND, "Image edit task not found.")
    return json_response(200, {"data": async_payload(task, result_url(task.id))})


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
    response = app.resolve(event, context)
    request_id = str(event.get("requestContext", {}).get("requestId", ""))
    response.setdefault("headers", {})["x-request-id"] = request_id
    if "multiValueHeaders" in response:
        response["multiValueHeaders"]["x-request-id"] = [request_id]
    return response
