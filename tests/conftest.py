"""Shared fixtures: AWS never reached for real (fake credentials, moto), resources built from
template.yaml, and the handlers' environment resolved from the template as the local stack does."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.keys import register_local_key
from local.resources import REGION, LocalNames, create_resources
from local.template import Template
from pixelport.ratelimit import RatePolicy
from pixelport.tasks import TaskStore
from tests.support import running_stack
from tests.support.clock import Clock
from tests.support.lambdas import reset_handler_caches
from tests.support.log_scan import LogScan
from tests.support.running_stack import GENEROUS_RATE_LIMITS
from tests.support.storage import ACCOUNT_KEYS

TEST_API_KEY = "test-key-0123456789"
TEST_ACCOUNT = "test-account"
# Fixed secrets of the test suite (keys and credentials made at run time are remembered where made).
KNOWN_TEST_SECRETS = (TEST_API_KEY, *ACCOUNT_KEYS, "customer-secret-0001/abcdefghijklmnopqrstuvwxyz")

_FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "pixelport",
    "POWERTOOLS_SERVICE_NAME": "pixelport",
}


# Handler modules build Powertools' Logger/Metrics at import, as Lambda does after setting the
# function's environment; tests import them at collection, so the environment is set first.
for _name, _value in _FAKE_AWS.items():
    os.environ.setdefault(_name, _value)
# ... and the settings a handler reads at import from a template parameter (the CORS origin), at
# the parameter's default.
_TEMPLATE = Template()
for _spec in _TEMPLATE.functions().values():
    for _name, _value in _spec.environment.items():
        if isinstance(_value, dict) and list(_value) == ["Ref"]:
            _default = _TEMPLATE.parameter_default(_value["Ref"])
            if _default is not None:
                os.environ.setdefault(_name, str(_default))


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _FAKE_AWS.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "PIXELPORT_ALLOWED_SOURCE_NETWORKS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def template() -> Template:
    return Template()


@pytest.fixture
def aws(template: Template, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalNames]:
    """moto in-process with the template's resources, TEST_API_KEY registered with both scopes, and
    every function's environment variables set."""
    with mock_aws():
        names = LocalNames(template, results_base_url="https://results.example.test")
        create_resources(boto3.Session(region_name=REGION), names)
        # TEST_API_KEY opens every route, as make run's key does; tests call the handlers far faster
        # than the default 4 per second, so its account has generous limits (tests/integration/
        # test_rate_limits.py proves the defaults on accounts of its own).
        register_local_key(
            boto3.client("dynamodb"),
            names.table("AccountsTable"),
            TEST_API_KEY,
            RatePolicy.parse(GENEROUS_RATE_LIMITS),
            TEST_ACCOUNT,
        )
        resolver = names.resolver("https://sqs.us-east-1.amazonaws.com")
        for spec in template.functions().values():
            for name, value in spec.environment.items():
                monkeypatch.setenv(name, str(resolver.resolve(value)))
        reset_handler_caches()
        yield names
        reset_handler_caches()


@pytest.fixture
def store(aws: LocalNames) -> TaskStore:
    """The tasks table of the `aws` fixture."""
    return TaskStore(boto3.client("dynamodb"), aws.table("TasksTable"))


@pytest.fixture
def set_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Change limits the way a deployment does: PIXELPORT_* environment variables."""
    from pixelport.contract.limits import limits

    def apply(**values: object) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"PIXELPORT_{name.upper()}", str(value))
        limits.cache_clear()

    yield apply
    limits.cache_clear()


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIXELPORT_ALLOWED_SOURCE_NETWORKS", "127.0.0.0/8")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """`pixelport.tasks.now` answered by a clock the test moves: leases and deadlines pass at once."""
    fake = Clock()
    monkeypatch.setattr("pixelport.tasks.now", fake)
    return fake


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The end-to-end tests start processes; run them last so quick failures show first.
    items.sort(key=lambda item: "e2e" in item.keywords)


# -- No key, secret or credential in any log line of the whole run (tests/support/log_scan.py) --------
LOG_SCAN = LogScan()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """What each test printed and logged, in every phase (setup, call, teardown)."""
    for text in (report.capstdout, report.capstderr, report.caplog):
        LOG_SCAN.scan(report.nodeid, text, KNOWN_TEST_SECRETS)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for stack in running_stack.STARTED:
        LOG_SCAN.scan(f"local stack on {stack.base_url}", "".join(stack.output), KNOWN_TEST_SECRETS)
    if LOG_SCAN.leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    scan = LOG_SCAN
    terminalreporter.write_line(
        f"log scan: {scan.lines} log lines from {scan.sources} captures and local stacks, "
        f"{len(scan.leaks)} holding a key, secret or credential"
    )
    for leak in scan.leaks[:20]:
        terminalreporter.write_line(f"LEAK {leak}", red=True)
