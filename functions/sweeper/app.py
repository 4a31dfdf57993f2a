"""SweeperFunction: on a schedule, ends every task still unfinished past its deadline (ERROR 5002)."""

from __future__ import annotations

# First of all: Python's garbage collector paused while this module imports (pixelport/init_gc.py).
from pixelport import init_gc  # isort: skip

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from pixelport.ended import deployed_store
from pixelport.sweeper import sweep
from pixelport.tasks import TaskStore
from pixelport.tracing import new_tracer

logger = Logger()
tracer = new_tracer()
metrics = Metrics()


@cache
def store() -> TaskStore:
    return deployed_store()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ended = sweep(store())
    # Any task ended here means something crashed without settling it: the alarm watches this.
    metrics.add_metric(name="TasksExpired", unit=MetricUnit.Count, value=sum(ended.values()))
    return {"expired": dict(ended)}


init_gc.resume()  # the last statement: what the import made frozen, the collector on again
