"""EventBridge schedules (`Type: Schedule` events in template.yaml), played locally: each enabled
`rate(...)` schedule invokes its function with a Scheduled Event payload, every period, until the
stack stops. A failed invocation is logged and the schedule goes on, as EventBridge's does.

Only rate expressions are supported; a cron expression stops the stack at start with a message that
names it, rather than running on a guessed period. `PIXELPORT_LOCAL_SCHEDULE_SECONDS` replaces every
period (to watch the sweeper at work without waiting minutes).
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.events import describe, log
from local.runtime import Invocable
from local.template import Template

ACCOUNT = "123456789012"  # the account local ARNs name (local.runtime uses the same)
OVERRIDE_VARIABLE = "PIXELPORT_LOCAL_SCHEDULE_SECONDS"
# EventBridge's grammar: the unit is singular for 1 and plural otherwise.
_RATE = re.compile(r"rate\(\s*([1-9][0-9]*)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


class ScheduleError(ValueError):
    """A schedule in the template that the local stack cannot play."""


@dataclass(frozen=True)
class Schedule:
    function: str  # the function's logical id
    event_id: str
    expression: str
    period_seconds: float

    def rule_arn(self, region: str) -> str:
        return f"arn:aws:events:{region}:{ACCOUNT}:rule/pixelport-{self.function}{self.event_id}"


def rate_seconds(expression: str, *, where: str) -> float:
    """The period of a `rate(N unit)` expression, in seconds."""
    found = _RATE.fullmatch(expression.strip())
    if found is None:
        raise ScheduleError(
            f"{where}: the local stack plays only rate(N minute|minutes|hour|hours|day|days) "
            f"schedules, not {expression!r}"
        )
    count, unit = int(found.group(1)), found.group(2)
    if (count == 1) != (not unit.endswith("s")):
        singular = unit.rstrip("s")
        raise ScheduleError(f"{where}: {expression!r} is not valid on AWS ('1 {singular}', 'N {singular}s')")
    return float(count * _UNIT_SECONDS[unit.rstrip("s")])


def _enabled(properties: Mapping[str, Any]) -> bool:
    if properties.get("Enabled") is False:
        return False
    return str(properties.get("State", "ENABLED")).upper() == "ENABLED"


def schedules(template: Template, override_seconds: float | None = None) -> list[Schedule]:
    """Every enabled schedule of every function in the template."""
    found = []
    for name, spec in template.functions().items():
        for event_id, event in spec.events.items():
            if event.get("Type") != "Schedule":
                continue
            properties = event.get("Properties", {})
            if not _enabled(properties):
                continue
            expression = str(properties.get("Schedule", ""))
            period = rate_seconds(expression, where=f"{name}.Events.{event_id}")
            found.append(Schedule(name, event_id, expression, override_seconds or period))
    return found


def override_from(environ: Mapping[str, str]) -> float | None:
    raw = environ.get(OVERRIDE_VARIABLE, "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise ScheduleError(f"{OVERRIDE_VARIABLE} must be a positive number of seconds, not {raw!r}")
    return seconds


def scheduled_event(schedule: Schedule, region: str, at: datetime) -> dict[str, Any]:
    """The payload EventBridge sends to a scheduled target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [schedule.rule_arn(region)],
        "detail": {},
    }


class Scheduler:
    """Invokes one function on one schedule, on its own thread, until the stop event."""

    def __init__(
        self,
        schedule: Schedule,
        runtime: Invocable,
        stop: threading.Event,
        region: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.schedule = schedule
        self.runtime = runtime
        self.stop = stop
        self.region = region
        self.clock = clock
        self.thread = threading.Thread(
            target=self._run, name=f"{schedule.function}-{schedule.event_id}", daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        # Like a new rule, the first run comes one period after start, not at once.
        while not self.stop.wait(self.schedule.period_seconds):
            self.tick()

    def tick(self) -> None:
        """One scheduled invocation; a failure is reported and the schedule carries on."""
        try:
            self.runtime.invoke(scheduled_event(self.schedule, self.region, self.clock()))
        except Exception as exc:
            if not self.stop.is_set():
                log(f"{self.thread.name}: scheduled run failed: {describe(exc)}")
