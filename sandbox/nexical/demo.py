"""The sandbox's Nexical demo data: idempotent, with fixed credentials the docs and tests rely on."""

import random
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from .auth import hash_token
from .logscript import job_script
from .models import (
    Branch,
    EnrollmentToken,
    Invitation,
    Job,
    JobLog,
    Membership,
    Project,
    Role,
    Team,
    TeamRole,
    Token,
    User,
    Worker,
)

ENROLLMENT_TOKEN = "nk_worker_sandbox_demo"
ADMIN_EMAIL = "admin@sandbox.local"
ADMIN_PASSWORD = "sandbox-admin"
USERS = [
    # email, password, API token, full name
    ("ada@example.com", "ada-password", "nx_demo_ada_0000000000000001", "Ada Lovelace"),
    ("grace@example.com", "grace-password", "nx_demo_grace_00000000000002", "Grace Hopper"),
    ("linus@example.com", "linus-password", "nx_demo_linus_00000000000003", "Linus Torvalds"),
]
ProjectSpec = tuple[str, str | None, str | None, str, str]  # name, repository, site URL, mode, branch
TEAMS: dict[str, tuple[str, dict[str, TeamRole], list[ProjectSpec]]] = {
    "acme-rockets": (
        "Acme Rockets",
        {
            "ada@example.com": TeamRole.OWNER,
            "grace@example.com": TeamRole.ADMIN,
            "linus@example.com": TeamRole.MEMBER,
        },
        [
            (
                "Rocket Site",
                "https://github.com/acme/rocket-site",
                "https://rockets.example.com",
                "managed",
                "staging",
            ),
            (
                "Launch Control",
                "https://github.com/acme/launch-control",
                None,
                "self_hosted",
                "feature/telemetry",
            ),
        ],
    ),
    "globex-research": (
        "Globex Research",
        {"grace@example.com": TeamRole.OWNER, "ada@example.com": TeamRole.MEMBER},
        [
            (
                "Research Portal",
                "https://github.com/globex/portal",
                "https://research.example.org",
                "managed",
                "develop",
            ),
            ("Lab Runner", None, None, "self_hosted", "experiment-42"),
        ],
    ),
}


def _user(email: str, password: str, token: str, full_name: str, role: str = Role.USER) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create(
            email=email, full_name=full_name, role=role, password=make_password(password)
        )
    elif user.role != role:
        user.role = role
        user.save(update_fields=["role"])
    if not Token.objects.filter(token_hash=hash_token(token)).exists():
        Token.objects.create(
            kind=Token.Kind.API, name="demo", token_hash=hash_token(token), token_prefix=token[:8], user=user
        )
    return user


@transaction.atomic
def ensure_admin() -> User:
    """The system user whose API token is the sandbox admin token; `serve` calls this at every start,
    so an unseeded sandbox can still administer /nexical (create users, enrollment tokens)."""
    return _user(ADMIN_EMAIL, ADMIN_PASSWORD, settings.SANDBOX_ADMIN_TOKEN, "Sandbox Admin", Role.SYSTEM)


@transaction.atomic
def seed() -> dict:
    admin = ensure_admin()
    users = {email: _user(email, password, token, name) for email, password, token, name in USERS}

    if not EnrollmentToken.objects.filter(token_hash=hash_token(ENROLLMENT_TOKEN)).exists():
        EnrollmentToken.objects.create(
            name="demo (public)", token_hash=hash_token(ENROLLMENT_TOKEN), token_prefix=ENROLLMENT_TOKEN[:8]
        )
    worker, _ = Worker.objects.get_or_create(name="demo-worker-01", team=None)

    rng = random.Random(7)  # the same demo every time
    for slug, (name, members, projects) in TEAMS.items():
        team, created = Team.objects.get_or_create(slug=slug, defaults={"name": name})
        if not created:
            continue
        for email, role in members.items():
            Membership.objects.create(team=team, user=users[email], role=role)
        for project_spec in projects:
            _project(team, project_spec, worker, rng)
        if slug == "acme-rockets":
            Invitation.objects.create(
                team=team,
                email="new.hire@example.com",
                role=TeamRole.MEMBER,
                invited_by=users["ada@example.com"],
                token_hash=hash_token("nxi_demo_new_hire"),
                expires_at=timezone.now() + timedelta(days=7),
            )
    worker.last_seen_at = timezone.now()
    worker.save(update_fields=["last_seen_at"])

    return {
        "admin_token": settings.SANDBOX_ADMIN_TOKEN,
        "enrollment_token": ENROLLMENT_TOKEN,
        "users": [
            {
                "id": str(admin.pk),
                "email": ADMIN_EMAIL,
                "password": ADMIN_PASSWORD,
                "token": settings.SANDBOX_ADMIN_TOKEN,
                "role": admin.role,
            },
            *(
                {
                    "id": str(users[email].pk),
                    "email": email,
                    "password": password,
                    "token": token,
                    "role": Role.USER.value,
                }
                for email, password, token, _ in USERS
            ),
        ],
    }


def _project(team: Team, spec: ProjectSpec, worker: Worker, rng: random.Random) -> None:
    name, repo_url, production_url, mode, other_branch = spec
    project = Project.objects.create(
        team=team, name=name, repo_url=repo_url, production_url=production_url, mode=mode
    )
    queue = "public" if mode == Project.Mode.MANAGED else f"private-{team.pk}"
    now = timezone.now()
    for branch_name in ("main", other_branch):
        preview = (
            f"https://{branch_name.replace('/', '-')}.preview.example.com" if mode == "managed" else None
        )
        branch = Branch.objects.create(project=project, name=branch_name, preview_url=preview)
        # Every status once per branch of a managed project; self-hosted ones have no running job
        # because the demo worker is public.
        statuses = ["completed", "failed", "pending"] + (["running"] if mode == "managed" else [])
        for age, status in zip((180, 120, 2, 10), statuses, strict=False):
            _job(branch, queue, status, now - timedelta(minutes=age), worker, rng)


def _job(branch: Branch, queue: str, status: str, created_at, worker: Worker, rng: random.Random) -> None:
    job_type = rng.choice(["build", "deploy"])
    job = Job.objects.create(
        branch=branch, type=job_type, queue=queue, status=status, inputs={"commit": "latest"}
    )
    started = created_at + timedelta(seconds=20)
    fields = {"created_at": created_at}
    if status != "pending":
        fields.update(started_at=started, worker=worker)
    if status == "completed":
        fields.update(completed_at=started + timedelta(minutes=2), outputs={"url": branch.preview_url})
    if status == "failed":
        fields.update(
            completed_at=started + timedelta(minutes=1), outputs={"error": "Step failed: exit code 1"}
        )
    Job.objects.filter(pk=job.pk).update(**fields)
    if status == "pending":
        return
    script = job_script(job_type, fail=status == "failed", rng=rng)
    if status == "running":
        script = script[:4]
    for index, (level, message) in enumerate(script):
        log = JobLog.objects.create(job=job, level=level, message=message, metadata={"step": index + 1})
        JobLog.objects.filter(pk=log.pk).update(timestamp=started + timedelta(seconds=5 * index))
