"""Payloads of the image-editing routes (SPEC 2.1, 2.2), shaped from task records."""

from __future__ import annotations

from typing import Any

from pixelport.tasks import Status, Task


def edit_result(task: Task) -> dict[str, Any]:
    """The sync answer of a DONE task: {"input": {...}, "output": {...}}."""
    assert task.result is not None
    return {"input": task.result["input"], "output": task.result["output"]}


def async_payload(task: Task, result_url: str) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": task.id,
        "status": task.status.value,
        "result_url": result_url,
        "created_at": task.created_at,
        "request": task.request,
        "errors": [],
        "result": {},
    }
    if task.status is Status.ERROR and task.error:
        payload["errors"] = [
            {"error": task.error.get("message", ""), "created_at": task.error.get("created_at")}
        ]
    if task.status is Status.DONE and task.result:
        payload["result"] = {"input_object": task.result["input"], "output_object": task.result["output"]}
    return payload
