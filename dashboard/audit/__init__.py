"""The audit log: who did what through the dashboard, on what, when, from where, and how it ended.

Other apps write to it with `record()` / `arecord()`; the pages that read it live in apps above core.
"""

from typing import TYPE_CHECKING

# The model module cannot be imported before Django's apps are ready, and this package is imported
# while they load (INSTALLED_APPS): the API is reached lazily.
if TYPE_CHECKING:
    from .actions import Audit, result_of
    from .models import AuditEntry, Result
    from .recording import arecord, record

__all__ = ["Audit", "AuditEntry", "Result", "arecord", "record", "result_of"]


def __getattr__(name: str) -> object:
    if name in ("AuditEntry", "Result"):
        from . import models

        return getattr(models, name)
    if name in ("record", "arecord", "client_ip"):
        from . import recording

        return getattr(recording, name)
    if name in ("Audit", "result_of"):
        from . import actions

        return getattr(actions, name)
    raise AttributeError(name)
