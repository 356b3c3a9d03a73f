"""`/static/` served by WhiteNoise beside Django, not inside its middleware chain.

WhiteNoise's Django middleware is synchronous only: with it in MIDDLEWARE, every page request of the
async stack crossed into a worker thread and back just to learn it was not a static file. Here
dashboard/asgi.py sends `/static/` requests to `StaticFiles` before Django sees them, and every other
request goes to Django's async handler untouched.

`StaticFiles` is a small ASGI handler over WhiteNoise's own machinery rather than asgiref's WsgiToAsgi
around WhiteNoise's WSGI app: WhiteNoise's WSGI class does not read Django's settings (finders in
development, the manifest's hashed names that make a file cacheable forever), which its Django
middleware class does; and WsgiToAsgi would build a WSGI environ and hop to a thread and back for
every chunk. Building WhiteNoiseMiddleware once gives the same file table, headers (compressed
variants chosen by Accept-Encoding, ETag and 304, Range, Cache-Control) as before; this handler only
moves its answer onto ASGI, opening and reading files in a worker thread so the event loop never
waits on the disk.

Static files are always sent compressed to a browser that accepts gzip. In production collectstatic
writes a .gz beside each file (CompressedManifestStaticFilesStorage) and WhiteNoise picks it. In
development the files come straight from the source folders, which hold no .gz: a text file is
compressed here on first request and kept in memory until it changes on disk.
"""

import asyncio
import gzip
import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured
from whitenoise.middleware import WhiteNoiseMiddleware
from whitenoise.responders import StaticFile
from whitenoise.storage import CompressedManifestStaticFilesStorage

CHUNK = 64 * 1024


class ModuleManifestStorage(CompressedManifestStaticFilesStorage):  # type: ignore[misc]  # untyped
    """The production storage: hashed, compressed names, and the `import … from "./x.js"` lines of
    ES modules (static/js/logviewer/) rewritten to the hashed names too, so a page never mixes a
    new module with an old one from a cache."""

    support_js_module_import_aggregation = True


type Scope = dict[str, Any]
type Receive = Any
type Send = Any

NOT_FOUND_BODY = b"Not found."

ACCEPTS_GZIP = re.compile(r"\bgzip\b")
TEXTUAL = ("text/", "application/javascript", "application/json", "image/svg+xml")
# (path, size, mtime) -> the gzipped body: development only, a handful of small files.
_compressed: dict[tuple[str, int, int], bytes] = {}


def _compressed_body(path: str) -> bytes:
    """The gzipped bytes of the file at `path`, from memory while it is unchanged on disk."""
    stat = Path(path).stat()
    key = (path, stat.st_size, stat.st_mtime_ns)
    body = _compressed.get(key)
    if body is None:
        body = gzip.compress(Path(path).read_bytes(), mtime=0)
        if len(_compressed) > 256:  # files edited over and over: drop the old versions
            _compressed.clear()
        _compressed[key] = body
    return body


def missing_collectstatic() -> str:
    """The sentence saying the static files were not collected, or "" when they are (or not needed)."""
    storage = settings.STORAGES["staticfiles"]["BACKEND"]
    if "Manifest" not in storage:  # development: files come straight from the source folders
        return ""
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.is_file():
        return ""
    return (
        f"Production mode (DEBUG=false) serves the static files collected in {settings.STATIC_ROOT}, and "
        "they are not there: run `python manage.py collectstatic --noinput` (with the same settings) "
        "before starting the web server. Without them every page would fail."
    )


@register("staticfiles-collected", deploy=True)
def check_collected(**_: object) -> list[CheckMessage]:
    sentence = missing_collectstatic()
    return [Error(sentence, id="core.E001")] if sentence else []


class StaticFiles:
    """An ASGI app answering requests under STATIC_URL from WhiteNoise's table of files."""

    def __init__(self) -> None:
        sentence = missing_collectstatic()
        if sentence:
            raise ImproperlyConfigured(sentence)
        self.whitenoise = WhiteNoiseMiddleware(get_response=None)
        self.prefix: str = self.whitenoise.static_prefix

    def handles(self, scope: Scope) -> bool:
        return scope["type"] == "http" and str(scope["path"]).startswith(self.prefix)

    async def _find(self, path: str) -> StaticFile | None:
        if self.whitenoise.autorefresh:  # development: looks at the disk on every request
            found: StaticFile | None = await asyncio.to_thread(self.whitenoise.find_file, path)
            return found
        return self.whitenoise.files.get(path)

    async def _send_compressed(
        self,
        static_file: StaticFile,
        method: str,
        environ: dict[str, str],
        response: Any,
        headers: list[tuple[bytes, bytes]],
        send: Send,
    ) -> bool:
        """Development: gzip a text file WhiteNoise has no .gz for; True when it was sent so."""
        if not self.whitenoise.autorefresh or int(response.status) != 200:
            return False
        names = {name for name, _ in headers}
        content_type = dict(headers).get(b"content-type", b"").decode("latin-1")
        if b"content-encoding" in names or not content_type.startswith(TEXTUAL):
            return False
        if "HTTP_RANGE" in environ or not ACCEPTS_GZIP.search(environ.get("HTTP_ACCEPT_ENCODING", "")):
            return False
        path, _ = static_file.get_path_and_headers({})  # the uncompressed file's path
        body = await asyncio.to_thread(_compressed_body, path)
        if response.file is not None:
            response.file.close()
        kept = [(name, value) for name, value in headers if name not in (b"content-length", b"vary")]
        kept += [
            (b"content-encoding", b"gzip"),
            (b"content-length", str(len(body)).encode()),
            (b"vary", b"Accept-Encoding"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": kept})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        static_file = await self._find(scope["path"])
        if static_file is None:
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                }
            )
            await send({"type": "http.response.body", "body": NOT_FOUND_BODY})
            return
        # WhiteNoise reads request headers as a WSGI environ does (HTTP_ACCEPT_ENCODING, HTTP_RANGE...).
        environ = {
            "HTTP_" + name.decode("latin-1").upper().replace("-", "_"): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        response = await asyncio.to_thread(static_file.get_response, scope["method"], environ)
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in response.headers
        ]
        if await self._send_compressed(static_file, scope["method"], environ, response, headers, send):
            return
        await send({"type": "http.response.start", "status": int(response.status), "headers": headers})
        file = response.file
        if file is None:
            await send({"type": "http.response.body", "body": b""})
            return
        try:
            while True:
                chunk = await asyncio.to_thread(file.read, CHUNK)
                more = len(chunk) == CHUNK
                await send({"type": "http.response.body", "body": chunk, "more_body": more})
                if not more:
                    break
        finally:
            file.close()
