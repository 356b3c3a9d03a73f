"""Django's local-memory cache, with its async methods run on the event loop rather than in a thread.

Django's cache backends answer `await cache.aget(…)` by handing the sync `get` to a thread
(`sync_to_async`), since a cache may sit across the network. This one is a dict behind a lock in
this very process: the hand-off cost far more than the lookup (each one a trip to the request's
thread and back), and the job page pays one per view of a job (tracking/access.py).

The other async methods of Django's base class (`aget_or_set`, `adecr`, `aincr_version`, …) are
built on the ones below, so they stay on the event loop too.
"""

from typing import Any

from django.core.cache.backends.locmem import LocMemCache


class InProcessCache(LocMemCache):
    async def aadd(self, *args: Any, **kwargs: Any) -> bool:
        return self.add(*args, **kwargs)

    async def aget(self, *args: Any, **kwargs: Any) -> Any:
        return self.get(*args, **kwargs)

    async def aset(self, *args: Any, **kwargs: Any) -> None:
        self.set(*args, **kwargs)

    async def atouch(self, *args: Any, **kwargs: Any) -> bool:
        return self.touch(*args, **kwargs)

    async def adelete(self, *args: Any, **kwargs: Any) -> bool:
        return self.delete(*args, **kwargs)

    async def aget_many(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.get_many(*args, **kwargs)

    async def ahas_key(self, *args: Any, **kwargs: Any) -> bool:
        return self.has_key(*args, **kwargs)

    async def aincr(self, *args: Any, **kwargs: Any) -> int:
        return self.incr(*args, **kwargs)

    async def aset_many(self, *args: Any, **kwargs: Any) -> list[str]:
        return self.set_many(*args, **kwargs)

    async def adelete_many(self, *args: Any, **kwargs: Any) -> None:
        self.delete_many(*args, **kwargs)

    async def aclear(self) -> None:
        self.clear()
