"""Metrics in CloudWatch embedded metric format (printed to stdout; CloudWatch picks them up on AWS).

Dimensioned metrics use `single_metric` so each record carries its own dimension even when one
invocation handles several records.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric


def count_failure(error_code: str, stage: str) -> None:
    with single_metric(name="Failures", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="error_code", value=error_code)
        metric.add_dimension(name="stage", value=stage)


def record_processed(*, output_format: str, bytes_in: int, bytes_out: int, seconds: float) -> None:
    with single_metric(name="ImagesProcessed", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="output_format", value=output_format)
        metric.add_metric(name="BytesIn", unit=MetricUnit.Bytes, value=bytes_in)
        metric.add_metric(name="BytesOut", unit=MetricUnit.Bytes, value=bytes_out)
        metric.add_metric(name="ProcessingTime", unit=MetricUnit.Milliseconds, value=seconds * 1000)


def count_task_busy() -> None:
    """An invocation that found its task held by a live one and raises so that Lambda retries it: not
    a failure (template.yaml's ProcessorErrorsAlarm subtracts these from the function's Errors)."""
    with single_metric(name="TaskBusy", unit=MetricUnit.Count, value=1):
        pass
