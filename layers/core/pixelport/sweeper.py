"""The bound on every task: the sweeper ends each task still ACCEPTED or PROCESSING past its deadline.

Whatever crashed (an API function killed between creating a task and staging its input, an S3 event
lost, a processor dying on its last attempt, a failure record that never arrived), the task is ERROR
with code 5002 at most one schedule period after its deadline. It runs on EventBridge's schedule on
AWS and on the local stack's in `make run`.
"""

from __future__ import annotations

from collections import Counter

from aws_lambda_powertools import Logger

from pixelport import tasks
from pixelport.contract.limits import limits
from pixelport.errors import TASK_OVERDUE, PixelportError
from pixelport.tasks import Status, Task, TaskStore

logger = Logger(child=True)


def _duration(seconds: int) -> str:
    return f"{seconds // 60} minutes" if seconds % 60 == 0 else f"{seconds} seconds"


def overdue_error(task: Task) -> PixelportError:
    within = _duration(limits().task_deadline_seconds)
    quote = f"quote request id {task.request_id} to support" if task.request_id else "please retry"
    if task.status is Status.ACCEPTED and task.attempts == 0:
        reason = f"the input never reached the processor within {within}"
    else:
        reason = f"processing did not finish within {within} ({task.attempts} attempts)"
    return PixelportError(TASK_OVERDUE, f"{reason}; {quote}")


def sweep(store: TaskStore, *, at: float | None = None) -> Counter[str]:
    """End every task whose deadline passed before `at`; answers how many were ended, by prior status."""
    at = tasks.now() if at is None else at
    ended: Counter[str] = Counter()
    for task_id in store.overdue(at):
        task = store.get(task_id)
        if task is None or task.finished:
            continue  # the index is eventually consistent: it may still list a task that just ended
        if task.kind == "batch" and task.page > 0:
            # A batch lasts as long as its listing and its children, each bounded on its own: end it
            # if they all ended (its last child's process died before it could), else look again later.
            if not store.settle_batch(task_id):
                store.extend_deadline(task_id, limits().task_deadline_seconds)
            continue
        if store.expire(task_id, overdue_error(task)):
            logger.warning(
                "task ended by the sweeper",
                extra={"task_id": task_id, "was": task.status.value, "attempts": task.attempts},
            )
            ended[task.status.value] += 1
    return ended
