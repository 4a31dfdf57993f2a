"""Lambda's Invoke API on loopback, for the functions' own boto3 Lambda clients (moto cannot run
Lambda without Docker): POST /2015-03-31/functions/{name}/invocations. InvocationType Event
queues an asynchronous invocation, which the stack runs with Lambda's retries and on-failure
destination (local/events.py's AsyncInvoker), as the S3 path does. RequestResponse (the default)
runs the function on the request's thread and answers its payload, 200; when the handler raises,
times out or dies, 200 with X-Amz-Function-Error: Unhandled and Lambda's error payload, as Lambda
does. The functions reach it through AWS_ENDPOINT_URL_LAMBDA. DryRun is refused: nothing uses it.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from local.runtime import FunctionError

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/([^/?]+)/invocations(?:\?.*)?$")
# FunctionName may be a name, a partial ARN (123456789012:function:name) or an ARN, with a qualifier.
FUNCTION_IN_ARN = re.compile(r"(?:^|:)function:([^:]+)(?::[^:]+)?$")

# Queues one asynchronous invocation of a function (by name) with this event.
Enqueue = Callable[[str, Any], None]
# Runs a function (by name) on this event and answers its payload; raises when the handler fails.
Run = Callable[[str, Any], Any]


class LambdaInvokeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, functions: frozenset[str], enqueue: Enqueue, run: Run, log: Callable[[str], None]):
        self.functions = functions
        self.enqueue = enqueue
        self.run = run
        self.log = log
        super().__init__(("127.0.0.1", 0), _Handler)
        self.endpoint = f"http://127.0.0.1:{self.server_port}"
        self.thread = threading.Thread(target=self.serve_forever, name="lambda-api", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def function_name(path_name: str) -> str:
    name = unquote(path_name)
    found = FUNCTION_IN_ARN.search(name)
    return found.group(1) if found else name.split(":", 1)[0]


class _Handler(BaseHTTPRequestHandler):
    server: LambdaInvokeServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body are two writes: no waiting for the client's delayed ACK in between.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        found = INVOKE_PATH.match(self.path)
        if found is None:
            self._error(404, "UnknownOperationException", f"no such operation: POST {self.path}")
            return
        name = function_name(found.group(1))
        if name not in self.server.functions:
            self._error(404, "ResourceNotFoundException", f"Function not found: {name}")
            return
        kind = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        if kind not in ("Event", "RequestResponse"):
            message = f"make run's Lambda API plays InvocationType Event and RequestResponse, not {kind}"
            self._error(400, "InvalidParameterValueException", message)
            return
        try:
            event = json.loads(body or b"{}")
        except ValueError:
            self._error(400, "InvalidRequestContentException", "Could not parse request body into json")
            return
        if kind == "Event":
            self.server.enqueue(name, event)
            self._send(202, b"", {})
            return
        try:
            payload = self.server.run(name, event)
        except FunctionError as exc:
            self._function_error(exc.payload)
            return
        except Exception as exc:  # a handler run in process (the tests'): Lambda's payload of its error
            self._function_error({"errorMessage": str(exc), "errorType": type(exc).__name__})
            return
        self._send(200, json.dumps(payload).encode(), {"Content-Type": "application/json"})

    def _function_error(self, payload: dict[str, Any]) -> None:
        headers = {"X-Amz-Function-Error": "Unhandled", "Content-Type": "application/json"}
        self._send(200, json.dumps(payload).encode(), headers)

    def _error(self, status: int, error_type: str, message: str) -> None:
        body = json.dumps({"Type": "User", "Message": message}).encode()
        self._send(status, body, {"x-amzn-ErrorType": error_type, "Content-Type": "application/json"})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log(f"lambda: {self.address_string()} {format % args}")
