"""The emulated Nexical Orchestrator's data (Gen-1 contract, see /work/shared/contracts/nexical.md).

Secrets (API, session, worker, agent and enrollment tokens, invite tokens, device codes) are stored
as sha256 hashes only; the raw value is handed out once.
"""

import uuid

from django.db import models


class Role(models.TextChoices):
    USER = "user"
    SYSTEM = "system"


class TeamRole(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


# Higher ranks may do everything lower ranks may.
ROLE_RANK: dict[str, int] = {TeamRole.MEMBER: 1, TeamRole.ADMIN: 2, TeamRole.OWNER: 3}


class User(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, null=True, blank=True)
    avatar_url = models.CharField(max_length=2000, null=True, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.USER)
    password = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.email


class Team(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    billing_plan = models.CharField(max_length=30, default="free")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=TeamRole.choices)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="nexical_one_membership")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.team_id} ({self.role})"


class Invitation(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        REVOKED = "revoked"
        EXPIRED = "expired"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=TeamRole.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    token_hash = models.CharField(max_length=64, null=True, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # At most one open invitation per team and email (contract §5), even for two requests at once.
            models.UniqueConstraint(
                fields=["team", "email"],
                condition=models.Q(status="pending"),
                name="nexical_one_open_invitation",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.team_id}"


class OutboxMessage(models.Model):
    """The mails the emulator would send (invites); read back through /_sandbox/nexical/outbox."""

    to = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    invite_token = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.subject


class Project(models.Model):
    class Mode(models.TextChoices):
        MANAGED = "managed"
        SELF_HOSTED = "self_hosted"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=100)
    repo_url = models.CharField(max_length=2000, null=True)
    production_url = models.CharField(max_length=2000, null=True)
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.MANAGED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class Branch(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="branches")
    name = models.CharField(max_length=200)
    preview_url = models.CharField(max_length=2000, null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="nexical_unique_branch")]

    def __str__(self) -> str:
        return self.name


class Worker(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    # Null for managed/public workers, which take the `public` queue.
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, related_name="workers")
    last_seen_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    @property
    def queue(self) -> str:
        return "public" if self.team_id is None else f"private-{self.team_id}"


class Job(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="jobs")
    type = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    queue = models.CharField(max_length=50)
    inputs = models.JSONField(null=True)
    outputs = models.JSONField(null=True)
    worker = models.ForeignKey(Worker, on_delete=models.SET_NULL, null=True, related_name="jobs")
    started_at = models.DateTimeField(null=True)
    completed_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "queue", "created_at"], name="nexical_job_claim")]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.status})"


class JobLog(models.Model):
    class Level(models.TextChoices):
        INFO = "info"
        WARN = "warn"
        ERROR = "error"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="logs")
    level = models.CharField(max_length=5, choices=Level.choices, default=Level.INFO)
    message = models.TextField()
    metadata = models.JSONField(null=True)
    timestamp = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.message[:50]


class Token(models.Model):
    """Every bearer token the API accepts; the kind decides what it may do."""

    class Kind(models.TextChoices):
        API = "api"  # nx_, made by POST /auth/tokens
        SESSION = "session"  # nxs_, from the device flow
        WORKER = "worker"  # nxw_, from POST /auth/worker/enroll
        AGENT = "agent"  # nxa_, bound to one running job

    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=200, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(max_length=8)
    scopes = models.JSONField(null=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, null=True, related_name="tokens")
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, null=True, related_name="tokens")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, null=True, related_name="tokens")
    expires_at = models.DateTimeField(null=True)
    last_used_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.token_prefix}"


class EnrollmentToken(models.Model):
    """A reusable "golden" token (nk_worker_) that workers exchange for a session."""

    name = models.CharField(max_length=200, blank=True)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, related_name="enrollment_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name or self.token_prefix


class DeviceCode(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        DENIED = "denied"
        CONSUMED = "consumed"

    device_code_hash = models.CharField(max_length=64, unique=True)
    user_code = models.CharField(max_length=8, unique=True)  # stored without the dash
    client_id = models.CharField(max_length=200)
    scope = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    user = models.ForeignKey(User, on_delete=models.CASCADE, null=True, related_name="+")
    interval = models.PositiveIntegerField(default=5)
    last_polled_at = models.DateTimeField(null=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.user_code
