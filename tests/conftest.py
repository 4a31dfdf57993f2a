"""Shared fixtures: AWS never reached for real (fake credentials, moto), resources built from
template.yaml, and the handlers' environment resolved from the template as the local stack does."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator

import boto3
import pytest
from moto import mock_aws

from local.resources import REGION, LocalNames, create_resources
from local.template import Template
from pixelport.tasks import TaskStore
from tests.support.clock import Clock
from tests.support.lambdas import reset_handler_caches

TEST_API_KEY = "test-key-0123456789"

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
    """moto in-process with the template's resources; every function's environment variables set."""
    with mock_aws():
        names = LocalNames(template, results_base_url="https://results.example.test")
        create_resources(boto3.Session(region_name=REGION), names)
        resolver = names.resolver(
            "https://sqs.us-east-1.amazonaws.com",
            parameters={"ApiKeySha256": hashlib.sha256(TEST_API_KEY.encode()).hexdigest()},
        )
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
