"""The words people read for the internal names the two APIs use: project modes, team roles, job
statuses, task types and task statuses. The one place these live: templates show a value through the
`label` filter (core's template tags) and Python code through `label()`, never the raw name.

A value the dashboard does not know yet (a new mode, a custom job type) reads as its name with the
underscores turned into spaces and a capital first letter, never as an error.
"""

LABELS: dict[str, str] = {
    # Nexical project modes
    "managed": "Managed",
    "self_hosted": "Self-hosted",
    # Nexical team roles
    "owner": "Owner",
    "admin": "Admin",
    "member": "Member",
    # Nexical job statuses
    "pending": "Pending",
    "running": "Running",
    "completed": "Completed",
    "failed": "Failed",
    # NexusToken task types
    "json_extraction": "JSON extraction",
    "text_classification": "Text classification",
    "text_generation": "Text generation",
    "data_transformation": "Data transformation",
    "code_execution": "Code execution",
    "physical_proof": "Physical proof",
    # NexusToken task statuses
    "BIDDING": "Bidding",
    "PENDING_POOL": "Waiting for bids",
    "AWARDED": "Awarded",
    "SETTLED": "Settled",
    "EXPIRED": "Expired",
    "CANCELLED": "Cancelled",
}


def label(value: object) -> str:
    """The human label of an internal name; "" for None or ""."""
    if value is None or value == "":
        return ""
    name = str(value)
    known = LABELS.get(name)
    if known is not None:
        return known
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:].lower() if name.isupper() else words[:1].upper() + words[1:]
