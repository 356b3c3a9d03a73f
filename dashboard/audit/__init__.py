"""The audit log: who did what through the dashboard, on what, when, from where, and how it ended.

Other apps write to it with `record()` / `arecord()`; the pages that read it live in apps above core.
"""

from typing import TYPE_CHECKING

# The model module cannot be imported before Django's apps are ready, and this package is imported
# while they load (INSTALLED_APPS): the API is reached lazily.
if TYPE_CHECKING:
    from .models import AuditEntry, Result
    from .recording import arecord, record

__all__ = ["AuditEntry", "Result", "arecord", "record"]


def __getattr__(name: str) -> object:
    if name in ("AuditEntry", "Result"):
        from . import models

        return getattr(models, name)
    if name in ("record", "arecord", "client_ip"):
        from . import recording

        return getattr(recording, name)
    raise AttributeError(name)
