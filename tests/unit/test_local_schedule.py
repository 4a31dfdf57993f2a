"""The local stack plays the template's EventBridge schedules: which ones, how often, with what
payload, and a failed run never stops the schedule."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from local.runtime import FunctionError
from local.schedule import (
    Schedule,
    ScheduleError,
    Scheduler,
    override_from,
    rate_seconds,
    scheduled_event,
    schedules,
)
from local.template import ROOT, Template

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:Fake"


def template_with(events: dict[str, Any]) -> Template:
    function = {"CodeUri": "functions/sweeper/", "Handler": "app.lambda_handler", "Events": events}
    return Template(
        data={
            "Resources": {
                "Sweeper": {"Type": "AWS::Serverless::Function", "Properties": function},
                "Other": {"Type": "AWS::SQS::Queue", "Properties": {}},
            }
        }
    )


def schedule_event(expression: str, **properties: Any) -> dict[str, Any]:
    return {"Type": "Schedule", "Properties": {"Schedule": expression, **properties}}


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
        ("rate(3 days)", 259200),
    ],
)
def test_rate_expressions_give_their_period_in_seconds(expression: str, seconds: int) -> None:
    assert rate_seconds(expression, where="F.Events.E") == seconds


@pytest.mark.parametrize(
    "expression", ["rate(1 minutes)", "rate(2 minute)", "rate(0 minutes)", "rate(5 weeks)"]
)
def test_rate_expressions_aws_refuses_are_refused_naming_where(expression: str) -> None:
    with pytest.raises(ScheduleError, match=r"F\.Events\.E"):
        rate_seconds(expression, where="F.Events.E")


def test_a_cron_schedule_stops_the_stack_with_a_message_naming_the_function_and_expression() -> None:
    template = template_with({"Nightly": schedule_event("cron(0 3 * * ? *)")})
    with pytest.raises(ScheduleError, match=r"Sweeper\.Events\.Nightly.*cron\(0 3 \* \* \? \*\)"):
        schedules(template)


def test_only_enabled_schedule_events_are_played() -> None:
    template = template_with(
        {
            "Sweep": schedule_event("rate(1 minute)"),
            "Off": schedule_event("rate(1 minute)", Enabled=False),
            "Disabled": schedule_event("rate(1 minute)", State="DISABLED"),
            "Upload": {"Type": "S3", "Properties": {"Bucket": {"Ref": "B"}, "Events": "s3:ObjectCreated:*"}},
        }
    )
    assert schedules(template) == [Schedule("Sweeper", "Sweep", "rate(1 minute)", 60.0)]


def test_the_override_replaces_every_period() -> None:
    template = template_with({"Sweep": schedule_event("rate(1 hour)")})
    assert [s.period_seconds for s in schedules(template, override_seconds=0.5)] == [0.5]


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "nan", "inf"])
def test_an_override_that_is_not_a_positive_number_is_refused(raw: str) -> None:
    with pytest.raises(ScheduleError, match="PIXELPORT_LOCAL_SCHEDULE_SECONDS"):
        override_from({"PIXELPORT_LOCAL_SCHEDULE_SECONDS": raw})


def test_no_override_when_the_variable_is_unset_or_empty() -> None:
    assert override_from({}) is None
    assert override_from({"PIXELPORT_LOCAL_SCHEDULE_SECONDS": " "}) is None
    assert override_from({"PIXELPORT_LOCAL_SCHEDULE_SECONDS": "2.5"}) == 2.5


def test_the_real_template_schedules_the_sweeper_every_minute() -> None:
    assert [(s.function, s.period_seconds) for s in schedules(Template())] == [("SweeperFunction", 60.0)]


def test_the_payload_has_the_shape_of_eventbridges_scheduled_event() -> None:
    sample = json.loads((ROOT / "events" / "schedule.json").read_text())
    at = datetime(2026, 12, 2, 3, 4, 5, 678000, tzinfo=UTC)
    event = scheduled_event(Schedule("SweeperFunction", "Sweep", "rate(1 minute)", 60), "us-east-1", at)
    assert set(event) == set(sample)
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["time"] == "2026-12-02T03:04:05Z"
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/pixelport-SweeperFunctionSweep"]


class CountingRuntime:
    """Stands in for FunctionRuntime: fails the first `failures` invocations, then succeeds."""

    function_arn = FUNCTION_ARN

    def __init__(self, failures: int, done: threading.Event, wanted: int):
        self.failures = failures
        self.events: list[Any] = []
        self.done = done
        self.wanted = wanted

    def invoke(self, event: Any, timeout: float | None = None) -> Any:
        self.events.append(event)
        if len(self.events) >= self.wanted:
            self.done.set()
        if len(self.events) <= self.failures:
            raise FunctionError({"errorType": "Boom", "errorMessage": "sweeper failed"})
        return {"expired": {}}


def test_a_failed_run_is_logged_and_the_schedule_goes_on(capsys: pytest.CaptureFixture[str]) -> None:
    stop, done = threading.Event(), threading.Event()
    runtime = CountingRuntime(failures=2, done=done, wanted=4)
    scheduler = Scheduler(Schedule("Sweeper", "Sweep", "rate(1 minute)", 0.01), runtime, stop, "us-east-1")
    scheduler.start()
    try:
        assert done.wait(10), "the schedule stopped after a failure"
    finally:
        stop.set()
        scheduler.thread.join(5)
    assert not scheduler.thread.is_alive()
    assert len({e["id"] for e in runtime.events}) == len(runtime.events)  # a new event id per run
    assert "Sweeper-Sweep: scheduled run failed: FunctionError: sweeper failed" in capsys.readouterr().err


def test_the_first_run_waits_one_period_like_a_new_rule() -> None:
    stop, done = threading.Event(), threading.Event()
    runtime = CountingRuntime(failures=0, done=done, wanted=1)
    scheduler = Scheduler(Schedule("Sweeper", "Sweep", "rate(1 minute)", 60), runtime, stop, "us-east-1")
    scheduler.start()
    stop.set()
    scheduler.thread.join(5)
    assert runtime.events == []
