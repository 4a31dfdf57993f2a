"""`make run`: the whole service on one machine, no Docker, no AWS account.

moto (S3, DynamoDB, SQS, KMS) on 127.0.0.1:$PIXELPORT_MOTO_PORT (5000; customers' buckets can be made
there too), the template's resources created in it, a gateway on
127.0.0.1:$PORT turning HTTP into API Gateway proxy events for the real handlers, S3 events
reaching the processor through moto's S3->SQS notifications, Lambda's Invoke API (InvocationType
Event, for the sync routes' direct invocations) on a loopback port of its own, the template's
schedules (the sweeper) played on their period, and /tmp/... served from the results bucket in place
of CloudFront.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3

from local.apigw import (
    INTEGRATION_TIMEOUT_SECONDS,
    MAX_PAYLOAD_BYTES,
    GatewayAnswer,
    Route,
    binary_media_types,
    cors_preflight,
    gateway_response,
    is_binary,
    match,
    proxy_answer,
    proxy_event,
    routes_from,
)
from local.chunked import BodyTooLarge, MalformedBody, read_chunked
from local.cloudfront import expired, response_headers
from local.console import Console, open_console
from local.events import AsyncInvoker, SqsPoller
from local.keys import LocalKeyError, local_rate_limits, register_local_key
from local.lambda_api import LambdaInvokeServer
from local.moto_server import LocalMotoServer, read_in_process, send_in_process
from local.resources import (
    ACCOUNT,
    REGION,
    LocalNames,
    async_invocation_queue,
    create_resources,
    s3_event_queue,
)
from local.runtime import FunctionError, FunctionRuntime
from local.schedule import ScheduleError, Scheduler, override_from, schedules
from local.template import Template

DEFAULT_LOCAL_API_KEY = "pixelport-local-development-key"
DEFAULT_MOTO_PORT = 5000
CONCURRENCY = {"ApiFunction": 4, "ProcessorFunction": 2}
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
TMP_PREFIX = "/tmp/"  # noqa: S108 - a URL path, not a file
CONTENT_LENGTH = re.compile(r"[0-9]+")
# How long a refused request's unread body is drained before the connection closes.
DRAIN_SECONDS = 2.0


class GatewayServer(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: a burst of clients on a busy machine (the e2e tests
    # send 20 at once) can overflow it. API Gateway has no such queue; 128 is the usual server default.
    request_queue_size = 128


def moto_port() -> int:
    """Where moto listens: a fixed, printed port, so a "customer" bucket can be made there by hand."""
    port = int(os.environ.get("PIXELPORT_MOTO_PORT") or DEFAULT_MOTO_PORT)
    with socket.socket() as sock:  # moto's server thread would wait forever on a port it cannot bind
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise OSError(
                f"moto's port 127.0.0.1:{port} is taken ({exc.strerror}); set PIXELPORT_MOTO_PORT"
            ) from None
    return port


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    port: int
    api_key: str
    template: Template = field(default_factory=Template)
    retry_delay: float = 1.0
    clock: Callable[[], float] = time.time  # the results' expiry is judged by it (tests move it)
    console: Console = field(default_factory=Console)  # verbose unless given one with a log file

    def __post_init__(self) -> None:
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.stop_event = threading.Event()
        self.runtimes: dict[str, FunctionRuntime] = {}
        self.threads: list[threading.Thread] = []
        self.results_headers = self._results_headers()
        self.async_queues: dict[str, str] = {}  # function -> its direct asynchronous invocations' queue
        self._async_lock = threading.Lock()

    # -- start -----------------------------------------------------------------------------------
    def start(self) -> None:
        # A schedule the stack cannot play stops it before anything starts.
        self.schedules = schedules(self.template, override_from(os.environ))
        rate_limits = local_rate_limits(os.environ)
        port = moto_port()
        secrets = {FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"]: FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}
        self.moto = LocalMotoServer("127.0.0.1", port, secrets)
        self.moto.start()
        self.endpoint = f"http://127.0.0.1:{port}"
        os.environ.update(FAKE_CREDENTIALS)
        session = boto3.Session(
            region_name=REGION,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        self.names = LocalNames(self.template, results_base_url=self.base_url)
        create_resources(session, self.names, self.endpoint)
        self.s3 = session.client("s3", endpoint_url=self.endpoint)
        self.sqs = session.client("sqs", endpoint_url=self.endpoint)
        self.dynamodb = session.client("dynamodb", endpoint_url=self.endpoint)
        register_local_key(self.dynamodb, self.names.table("AccountsTable"), self.api_key, rate_limits)

        resolver = self.names.resolver(self.endpoint)
        self.resolver = resolver
        functions = self.template.functions()
        self.lambda_api = LambdaInvokeServer(
            frozenset(functions), self.invoke_async, self.invoke_sync, self.console.detail
        )
        self.lambda_api.start()
        for name, spec in functions.items():
            env = {k: str(resolver.resolve(v)) for k, v in spec.environment.items()}
            # CloudFront's https:// is played by this gateway over plain http.
            env = {k: v.replace(f"https://127.0.0.1:{self.port}", self.base_url) for k, v in env.items()}
            env.update(
                FAKE_CREDENTIALS,
                AWS_ENDPOINT_URL=self.endpoint,
                AWS_ENDPOINT_URL_LAMBDA=self.lambda_api.endpoint,
                AWS_DEFAULT_REGION=REGION,
                AWS_REGION=REGION,
                POWERTOOLS_TRACE_DISABLED="true",
                # As Lambda sets it: the processor's memory rule reads it (imaging/memory.py).
                AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(spec.memory),
            )
            # gcs storages speak S3's XML API: locally, moto plays Google's endpoint unless told otherwise.
            if not os.environ.get("PIXELPORT_GCS_ENDPOINT"):
                env["PIXELPORT_GCS_ENDPOINT"] = self.endpoint
            layers = [str(self.template.layer_dir(layer)) for layer in spec.layers]
            log_path = None if self.console.log_path is None else str(self.console.log_path)
            self.runtimes[name] = FunctionRuntime(
                spec, env, layers, CONCURRENCY.get(name, 1), log_path=log_path
            )
        with ThreadPoolExecutor() as pool:  # warm the environments in parallel
            list(pool.map(lambda rt: rt.warm(), self.runtimes.values()))

        self._start_event_sources(resolver)
        self.routes = routes_from(self.template)
        self.binary_types = binary_media_types(self.template)
        self.results_bucket = self._results_bucket()
        self.server = GatewayServer(("127.0.0.1", self.port), self._handler_class())
        self.server.daemon_threads = True
        thread = threading.Thread(target=self.server.serve_forever, name="gateway", daemon=True)
        thread.start()
        self.threads.append(thread)

    def _start_event_sources(self, resolver: Any) -> None:
        for name, spec in self.template.functions().items():
            runtime = self.runtimes[name]
            for event_id, event in spec.events.items():
                if event["Type"] == "S3":
                    url = self.sqs.get_queue_url(QueueName=s3_event_queue(name, event_id))["QueueUrl"]
                    pump: AsyncInvoker | SqsPoller = self._async_invoker(name, f"{name}-{event_id}", url)
                elif event["Type"] == "SQS":
                    arn = str(resolver.resolve(event["Properties"]["Queue"]))
                    url = self.sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
                    pump = SqsPoller(
                        f"{name}-{event_id}",
                        self.sqs,
                        url,
                        arn,
                        runtime,
                        self.stop_event,
                        batch_size=int(event["Properties"].get("BatchSize", 10)),
                        concurrency=CONCURRENCY.get(name, 1),
                        report_failures="ReportBatchItemFailures"
                        in event["Properties"].get("FunctionResponseTypes", []),
                    )
                else:
                    continue
                pump.start()
                self.threads.append(pump.thread)
        for schedule in self.schedules:
            scheduler = Scheduler(schedule, self.runtimes[schedule.function], self.stop_event, REGION)
            scheduler.start()
            self.threads.append(scheduler.thread)

    def _async_invoker(self, function: str, label: str, queue_url: str) -> AsyncInvoker:
        """Asynchronous invocations queued in `queue_url`, run as Lambda runs them: the function's
        EventInvokeConfig (retries, on-failure destination), its concurrency."""
        spec = self.template.functions()[function]
        self.sqs.set_queue_attributes(
            QueueUrl=queue_url, Attributes={"VisibilityTimeout": str(int(spec.timeout) + 30)}
        )
        destination = spec.event_invoke_config.get("DestinationConfig", {}).get("OnFailure", {})
        on_failure = None
        if destination.get("Type") == "SQS":
            queue_name = str(self.resolver.resolve(destination["Destination"])).rsplit(":", 1)[-1]
            on_failure = self.sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        return AsyncInvoker(
            label,
            self.sqs,
            queue_url,
            self.runtimes[function],
            self.stop_event,
            max_retries=int(spec.event_invoke_config.get("MaximumRetryAttempts", 2)),
            on_failure_queue_url=on_failure,
            retry_delay=self.retry_delay,
            concurrency=CONCURRENCY.get(function, 1),
            on_result=functools.partial(self.console.task_outcomes, function),
        )

    def invoke_sync(self, function: str, event: Any) -> Any:
        """Lambda's Invoke with InvocationType RequestResponse (local/lambda_api.py): the function runs
        now, on the caller's thread, and its payload is the answer; raises FunctionError as it fails.
        The console tells its outcome as it does an asynchronous invocation's."""
        try:
            answer = self.runtimes[function].invoke(event)
        except FunctionError as exc:
            self.console.detail(f"{function}-Run: failed ({exc})")
            raise
        self.console.task_outcomes(function, answer)
        return answer

    def invoke_async(self, function: str, event: Any) -> None:
        """Lambda's Invoke with InvocationType Event (local/lambda_api.py): queued for the function's
        asynchronous invoker, started with the first such invocation. Sent in process, as moto's S3
        notifications are: an HTTP round trip to moto from this busy process cost tens of ms."""
        queue = async_invocation_queue(function)
        with self._async_lock:
            if function not in self.async_queues:
                url = self.sqs.create_queue(QueueName=queue)["QueueUrl"]
                invoker = self._async_invoker(function, f"{function}-Invoke", url)
                invoker.start()
                self.threads.append(invoker.thread)
                self.async_queues[function] = url
        send_in_process(ACCOUNT, REGION, queue, json.dumps(event))

    def _results_bucket(self) -> str:
        """The bucket behind the CloudFront distribution: the origin's RegionalDomainName."""
        for dist in self.template.of_type("AWS::CloudFront::Distribution").values():
            for origin in dist["Properties"]["DistributionConfig"]["Origins"]:
                return self.names.bucket(origin["DomainName"]["Fn::GetAtt"][0])
        raise RuntimeError("template.yaml has no CloudFront distribution for results")

    def _results_headers(self) -> dict[str, str]:
        """What the distribution's response headers policy adds to every /tmp/ answer."""
        headers: dict[str, str] = {}
        for dist in self.template.of_type("AWS::CloudFront::Distribution").values():
            headers.update(response_headers(dist))
        return headers

    # -- stop ------------------------------------------------------------------------------------
    def stop(self) -> None:
        self.stop_event.set()
        if hasattr(self, "server"):
            self.server.shutdown()
            self.server.server_close()
        if hasattr(self, "lambda_api"):
            self.lambda_api.stop()
        for runtime in self.runtimes.values():
            runtime.close()
        for thread in self.threads:
            thread.join(timeout=3)
        if hasattr(self, "moto"):
            self.moto.stop()

    # -- HTTP ------------------------------------------------------------------------------------
    def answer(
        self, method: str, target: str, headers: dict[str, list[str]], body: bytes, peer: str
    ) -> GatewayAnswer:
        parts = urlsplit(target)
        path = unquote(parts.path)
        if path.startswith(TMP_PREFIX) and method in ("GET", "HEAD"):
            return self._serve_result(path.lstrip("/"))
        if method == "OPTIONS" and (preflight := cors_preflight(self.template)) is not None:
            return preflight
        found = match(self.routes, method, path)
        if found is None:
            return gateway_response(
                self.template, "MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token"
            )
        route, params = found
        return self._invoke_route(route, params, method, path, parts.query, headers, body, peer)

    def _invoke_route(
        self,
        route: Route,
        params: dict[str, str],
        method: str,
        path: str,
        query: str,
        headers: dict[str, list[str]],
        body: bytes,
        peer: str,
    ) -> GatewayAnswer:
        content_type = next((v[-1] for k, v in headers.items() if k.lower() == "content-type"), None)
        event = proxy_event(
            route=route,
            params=params,
            method=method,
            path=path,
            query=parse_qs(query, keep_blank_values=True),
            headers={**headers, "X-Forwarded-Proto": ["http"]},
            body=body,
            host=f"127.0.0.1:{self.port}",
            source_ip=peer,
            binary=is_binary(content_type, self.binary_types),
        )
        try:
            response = self.runtimes[route.function].invoke(event, timeout=INTEGRATION_TIMEOUT_SECONDS)
        except FunctionError as exc:
            if exc.payload.get("errorType") == "Sandbox.Timedout":
                return gateway_response(
                    self.template, "INTEGRATION_TIMEOUT", 504, "Endpoint request timed out"
                )
            sys.stderr.write(f"{route.function} failed: {exc.payload.get('errorMessage')}\n")
            return gateway_response(self.template, "DEFAULT_5XX", 502, "Internal server error")
        answer = proxy_answer(response)
        if answer is None:
            return gateway_response(self.template, "DEFAULT_5XX", 502, "Internal server error")
        return answer

    def _serve_result(self, key: str) -> GatewayAnswer:
        if expired(key, self.clock()):
            headers = {"Content-Type": "text/plain", **self.results_headers}
            return GatewayAnswer(410, headers, b"this result has expired\n")
        # Read from moto in this process, as CloudFront reads its origin: an HTTP round trip to moto
        # from this busy process cost 15-20 ms of each sync edit's result download.
        found = read_in_process(ACCOUNT, self.results_bucket, key)
        if found is None:
            return GatewayAnswer(404, {"Content-Type": "text/plain", **self.results_headers}, b"not found\n")
        data, stored = found
        headers = {
            "Content-Type": stored.get("content-type", "application/octet-stream"),
            **self.results_headers,
        }
        for name in ("Cache-Control", "Content-Disposition", "Expires"):  # as S3 answers them
            if (value := stored.get(name.lower())) is not None:
                headers[name] = value
        return GatewayAnswer(200, headers, data)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stack = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "pixelport-local"
            # A client that stalls mid-body (or idles between requests) frees its thread in the end.
            timeout = 60

            def setup(self) -> None:
                super().setup()
                # Headers and body are two writes: with Nagle's algorithm the body waited for the
                # client's delayed ACK of the headers, 40 ms per request on a kept-alive connection.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _handle(self) -> None:
                self._started = time.monotonic()
                body = self._body()
                if body is None:
                    return
                headers: dict[str, list[str]] = {}
                for name, value in self.headers.items():
                    if name.lower() != "transfer-encoding":  # the body is whole by now
                        headers.setdefault(name, []).append(value)
                self._send(stack.answer(self.command, self.path, headers, body, self.client_address[0]))

            def _body(self) -> bytes | None:
                """The whole body, of Content-Length bytes or chunked; None once a refusal is sent. A
                declared length is judged on the header alone, as API Gateway does: the body is never
                read when the request cannot be served."""
                codings = self.headers.get_all("Transfer-Encoding")
                if codings is not None:
                    return self._chunked_body(codings)
                length = self._content_length()
                if length is None:
                    self._refuse("Bad Request: invalid Content-Length")
                    return None
                if length > MAX_PAYLOAD_BYTES:
                    self._refuse_too_large()
                    return None
                return self.rfile.read(length) if length else b""

            def _chunked_body(self, codings: list[str]) -> bytes | None:
                # Both framings at once is how requests get smuggled past a proxy; any coding but
                # chunked alone cannot be read.
                if self.headers.get_all("Content-Length") is not None:
                    self._refuse("Bad Request: both Transfer-Encoding and Content-Length")
                    return None
                if [c.strip().lower() for value in codings for c in value.split(",")] != ["chunked"]:
                    self._refuse("Bad Request: unsupported Transfer-Encoding (only chunked is read)")
                    return None
                try:
                    return read_chunked(self.rfile, MAX_PAYLOAD_BYTES)
                except BodyTooLarge:
                    self._refuse_too_large()
                except MalformedBody as exc:
                    self._refuse(f"Bad Request: invalid chunked body ({exc})")
                return None

            def _refuse(self, message: str) -> None:
                self._send(gateway_response(stack.template, "DEFAULT_4XX", 400, message), close=True)

            def _refuse_too_large(self) -> None:
                too_large = gateway_response(stack.template, "REQUEST_TOO_LARGE", 413, "Request Too Long")
                self._send(too_large, close=True)

            def _content_length(self) -> int | None:
                """The declared body length; None when it is not one plain decimal number."""
                values = {v.strip() for v in self.headers.get_all("Content-Length") or []}
                if not values:
                    return 0
                # Differing lengths are how requests get smuggled; int() would also take "+1", "1_0".
                if len(values) > 1 or not CONTENT_LENGTH.fullmatch(value := values.pop()):
                    return None
                return int(value)

            def _send(self, answer: GatewayAnswer, *, close: bool = False) -> None:
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                if close:
                    self.send_header("Connection", "close")  # also sets close_connection
                self.end_headers()
                if self.command != "HEAD":
                    try:
                        self.wfile.write(answer.body)
                    except (BrokenPipeError, ConnectionResetError):
                        # The client went away (a browser closing a tab): its loss, not the stack's error.
                        self.close_connection = True
                        stack.console.detail(f"gateway: {self.command} {self.path}: the client went away")
                        return
                started = getattr(self, "_started", None) or time.monotonic()
                path = urlsplit(self.path).path  # the query may carry what a terminal should not show
                milliseconds = (time.monotonic() - started) * 1000
                stack.console.request(self.command, path, answer.status, milliseconds, answer.body)
                if close:
                    self._drain()

            def _drain(self) -> None:
                """Closing with unread bytes makes the kernel send a reset, which can destroy the
                answer before the client reads it: stop writing, then discard what still comes, briefly."""
                self.wfile.flush()
                deadline = time.monotonic() + DRAIN_SECONDS
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_WR)
                    while (left := deadline - time.monotonic()) > 0:
                        self.connection.settimeout(left)
                        if not self.connection.recv(65536):
                            break

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle  # noqa: N815

            def _refuse_method(self) -> None:
                self._started = time.monotonic()
                # API Gateway's ANY covers the seven methods above; TRACE, CONNECT or an invented
                # token never reaches the function. Answered in the envelope, not http.server's 501 page.
                refused = gateway_response(stack.template, "DEFAULT_4XX", 405, "Method Not Allowed")
                self._send(refused, close=True)

            def __getattr__(self, name: str) -> Any:
                if name.startswith("do_"):  # http.server looks up do_<METHOD> for any method token
                    return self._refuse_method
                raise AttributeError(name)

            def log_message(self, format: str, *args: Any) -> None:
                stack.console.detail(f"gateway: {self.address_string()} {format % args}")

        return Handler


def main() -> int:
    port = int(os.environ.get("PORT", "3000"))
    api_key = os.environ.get("PIXELPORT_LOCAL_API_KEY") or DEFAULT_LOCAL_API_KEY
    console = open_console(os.environ)
    stack = Stack(port=port, api_key=api_key, console=console)
    stopping = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack.start()
    except OSError as exc:
        stack.stop()
        print(f"pixelport: cannot start: {exc} (is port {port} free? set PORT=...)", file=sys.stderr)
        return 1
    except (ScheduleError, LocalKeyError) as exc:
        stack.stop()
        print(f"pixelport: cannot start: {exc}", file=sys.stderr)
        return 1
    allowed = os.environ.get("PIXELPORT_ALLOWED_SOURCE_NETWORKS", "")
    # A key of the user's own is never printed; the development default is public (README).
    own_key = bool(os.environ.get("PIXELPORT_LOCAL_API_KEY"))
    key_line = (
        "from PIXELPORT_LOCAL_API_KEY (not shown)"
        if own_key
        else f"{api_key}  (development default; set PIXELPORT_LOCAL_API_KEY)"
    )
    shown_key = "$PIXELPORT_LOCAL_API_KEY" if own_key else api_key
    schedule_lines = "".join(
        f"  schedule:       {s.function} every {s.period_seconds:g}s\n" for s in stack.schedules
    )
    log_line = (
        ""
        if console.log_path is None
        else f"  log file:       {console.log_path}  (moto, function logs, metrics; "
        "PIXELPORT_LOCAL_VERBOSE=1 prints them here)\n"
    )
    print(
        f"pixelport local stack listening on {stack.base_url}\n"
        f"  API key:        {key_line}\n"
        f"  try:            curl -s -X POST {stack.base_url}/v1/image/edit "
        f"-H \"Authorization: Bearer {shown_key}\" -H 'Content-Type: application/json' "
        f"""-d '{{"input": "https://...", "operations": {{}}}}'\n"""
        f"  playground:     {stack.base_url}/playground\n"
        f"  API reference:  {stack.base_url}/v1/docs  (Swagger UI; loads swagger-ui from a CDN)\n"
        f"  results:        {stack.base_url}{TMP_PREFIX}... (stands in for CloudFront)\n"
        f"  moto (S3, DynamoDB, SQS, KMS): {stack.endpoint}  (make customer buckets here; "
        f"gcs storages reach {os.environ.get('PIXELPORT_GCS_ENDPOINT') or stack.endpoint})\n"
        f"  source networks opened: {allowed or 'none (public addresses only)'}\n"
        f"{schedule_lines}"
        f"{log_line}"
        "  Ctrl-C stops everything.",
        flush=True,
    )
    # With a timeout: Python runs a signal's handler in the main thread, and a SIGINT that the kernel
    # hands to another thread may not wake a wait without one (a Ctrl-C once went unheeded under load).
    while not stopping.wait(0.5):
        pass
    print("pixelport: stopping", flush=True)
    stack.stop()
    return 0
