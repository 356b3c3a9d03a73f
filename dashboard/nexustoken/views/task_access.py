"""Access helpers shared by the task views: a task or template exists only for its owner."""

from django.http import Http404

from dashboard.core.http import AuthenticatedRequest

from ..models import Task, TaskTemplate


async def task_for_user(request: AuthenticatedRequest, task_id: str) -> Task:
    """The signed-in user's record of this task; someone else's (or an unknown id) is a 404."""
    task = await Task.objects.filter(user=request.user, task_id=task_id).afirst()
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
