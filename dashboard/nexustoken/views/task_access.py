"""Access helpers shared by the task views: a task or template exists only for its owner."""

from asgiref.sync import sync_to_async
from django.http import Http404

from dashboard.core.http import AuthenticatedRequest
from dashboard.core.rows import columns, rows

from ..models import Task, TaskTemplate

# Every task page and each poll of its live part (twice a second) reads it, so plain SQL: the ORM's
# build took about 0.4 ms of CPU. At most one row (a user's task ids are unique); names from the model only.
_TASK = f"SELECT {columns(Task)} FROM {Task._meta.db_table} WHERE user_id = %s AND task_id = %s"  # noqa: S608


def _task(user_pk: int, task_id: str) -> Task | None:
    return next(iter(rows(Task, _TASK, [user_pk, task_id])), None)


async def task_for_user(request: AuthenticatedRequest, task_id: str) -> Task:
    """The signed-in user's record of this task; someone else's (or an unknown id) is a 404."""
    task = await sync_to_async(_task)(request.user.pk, task_id)
    if task is None:
        raise Http404("No such task among yours.")
    return task


async def template_for_user(request: AuthenticatedRequest, template_id: str) -> TaskTemplate:
    if not template_id.isdigit():
        raise Http404("No such template.")
    template = await TaskTemplate.objects.filter(user=request.user, pk=int(template_id)).afirst()
    if template is None:
        raise Http404("No such template among yours.")
    return template
