"""Projects and branches (seed §Projects, §Branches)."""

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse

from ..access import branch_for, project_for, team_for
from ..auth import Caller
from ..http import Field, conflict, created, invalid, not_found, ok, parse_body
from ..models import Branch, Job, Project, TeamRole
from ..serializers import branch_json, project_json

URL = r"\S+"


def _project_fields(*, creating: bool) -> dict[str, Field]:
    return {
        "name": Field(str, required=creating, max_length=100),
        "repoUrl": Field(str, nullable=True, max_length=2000, pattern=URL),
        "productionUrl": Field(str, nullable=True, max_length=2000, pattern=URL),
        "mode": Field(str, choices=tuple(Project.Mode.values)),
    }


def list_projects(request: HttpRequest, caller: Caller, tid: int) -> JsonResponse:
    # seed: GET /teams/:tid/projects (projects.list)
    team, _ = team_for(caller, tid)
    projects = Project.objects.filter(team=team).order_by("id")
    return JsonResponse({"projects": [project_json(p) for p in projects]})


def create_project(request: HttpRequest, caller: Caller, tid: int) -> JsonResponse:
    # seed: POST /teams/:tid/projects (projects.create)
    team, _ = team_for(caller, tid, TeamRole.ADMIN)
    data = parse_body(request, _project_fields(creating=True))
    project = Project.objects.create(
        team=team,
        name=data["name"].strip(),
        repo_url=data.get("repoUrl"),
        production_url=data.get("productionUrl"),
        mode=data.get("mode", Project.Mode.MANAGED),
    )
    return created({"project": project_json(project)})


def get_project(request: HttpRequest, caller: Caller, tid: int, pid: int) -> JsonResponse:
    # seed: GET /teams/:tid/projects/:pid (projects.get); a worker holding one of its jobs may read it
    if caller.user is None:
        project = Project.objects.filter(pk=pid, team_id=tid).first()
        holder = Job.objects.filter(branch__project=project)
        if caller.worker:
            holder = holder.filter(worker=caller.worker)
        else:
            assert caller.job is not None, "a caller with neither a user nor a worker is a job's agent"
            holder = holder.filter(pk=caller.job.pk)
        if project is None or not holder.exists():
            raise not_found("Project")
    else:
        project = project_for(caller, tid, pid)
    return JsonResponse({"project": project_json(project)})


def update_project(request: HttpRequest, caller: Caller, tid: int, pid: int) -> JsonResponse:
    # seed: PUT /teams/:tid/projects/:pid (projects.update)
    project = project_for(caller, tid, pid, TeamRole.ADMIN)
    data = parse_body(request, _project_fields(creating=False))
    if "name" in data:
        if not data["name"].strip():
            raise invalid({"name": ["May not be blank."]})
        project.name = data["name"].strip()
    if "repoUrl" in data:
        project.repo_url = data["repoUrl"]
    if "productionUrl" in data:
        project.production_url = data["productionUrl"]
    if "mode" in data:
        project.mode = data["mode"]
    project.save()
    return JsonResponse({"project": project_json(project)})


def delete_project(request: HttpRequest, caller: Caller, tid: int, pid: int) -> JsonResponse:
    # seed: DELETE /teams/:tid/projects/:pid (projects.delete); cascades to branches and jobs
    project = project_for(caller, tid, pid, TeamRole.ADMIN)
    with transaction.atomic():
        project.delete()
    return ok()


def list_branches(request: HttpRequest, caller: Caller, tid: int, pid: int) -> JsonResponse:
    # seed: GET /teams/:tid/projects/:pid/branches (branches.list)
    project = project_for(caller, tid, pid)
    branches = Branch.objects.filter(project=project).order_by("id")
    return JsonResponse({"branches": [branch_json(b) for b in branches]})


def create_branch(request: HttpRequest, caller: Caller, tid: int, pid: int) -> JsonResponse:
    # seed: POST /teams/:tid/projects/:pid/branches (branches.create)
    project = project_for(caller, tid, pid)
    data = parse_body(
        request,
        {
            "name": Field(str, required=True, max_length=200, pattern=r"[^\s]+"),
            "previewUrl": Field(str, nullable=True, max_length=2000, pattern=URL),
        },
    )
    try:
        with transaction.atomic():
            branch = Branch.objects.create(
                project=project, name=data["name"], preview_url=data.get("previewUrl")
            )
    except IntegrityError:
        raise conflict("A branch with this name already exists in the project.") from None
    return created({"branch": branch_json(branch)})


def get_branch(request: HttpRequest, caller: Caller, tid: int, pid: int, bid: int) -> JsonResponse:
    # seed: GET /teams/:tid/projects/:pid/branches/:bid (branches.get)
    return JsonResponse({"branch": branch_json(branch_for(caller, tid, pid, bid))})


def delete_branch(request: HttpRequest, caller: Caller, tid: int, pid: int, bid: int) -> JsonResponse:
    # seed: DELETE /teams/:tid/projects/:pid/branches/:bid (branches.delete); cascades to jobs
    branch = branch_for(caller, tid, pid, bid, TeamRole.ADMIN)
    with transaction.atomic():
        branch.delete()
    return ok()
