"""What a channel receives: the body for each kind, and the signature of the generic webhook.

The generic webhook is signed the way NexusToken signs its own: `X-Nexus-Dashboard-Signature:
sha256=<lowercase hex HMAC-SHA256 of the raw body, keyed with the channel's secret>`.
"""

import hashlib
import hmac
import json
import secrets
from typing import Any, TypedDict

from .models import Event, Kind

SIGNATURE_HEADER = "X-Nexus-Dashboard-Signature"
SECRET_PREFIX = "ndwh_"


class Facts(TypedDict, total=False):
    """A job event as a channel tells it; fixed when the event is recorded."""

    team_id: int
    team_name: str
    project_id: int
    project_name: str
    branch_id: int
    branch_name: str
    job_id: int
    job_type: str
    status: str
    url: str  # absolute link to the job's page
    error: str
    at: str  # ISO 8601


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


VERBS = {Event.STARTED: "started", Event.FAILED: "failed", Event.COMPLETED: "completed"}


def sentence(event: str, facts: Facts) -> str:
    """One readable line: "Deploy #42 of shop / main failed: Step failed (link)"."""
    if event == Event.TEST:
        return f"Test message from Nexus Dashboard for team {facts.get('team_name') or facts.get('team_id')}."
    kind = (facts.get("job_type") or "job").capitalize()
    where = " / ".join(name for name in (facts.get("project_name"), facts.get("branch_name")) if name)
    text = f"{kind} #{facts.get('job_id')}{' of ' + where if where else ''} {VERBS.get(Event(event), event)}"
    if facts.get("error"):
        text += f": {facts['error']}"
    return text


def body(kind: str, event: str, facts: Facts, delivery_id: int) -> bytes:
    payload: dict[str, Any]
    if kind == Kind.SLACK:
        text = sentence(event, facts)
        if facts.get("url"):
            text += f" <{facts['url']}|Open the job>"
        payload = {"text": text}
    else:
        payload = {
            "event": f"deploy.{event}" if event != Event.TEST else "test",
            "delivery": delivery_id,
            "text": sentence(event, facts),
            **facts,
        }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
