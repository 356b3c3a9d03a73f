"""The HTTP/1.1 transport under the upstream clients: httpx's client on asyncio's own connections and
the C parser uvicorn already uses (httptools), in place of httpcore, anyio and h11.

Why: those three are most of the CPU an upstream call costs the web process. Against a local server,
a GET with a small JSON answer took 0.75 ms of CPU with httpx's default transport and 0.29 ms with
this one; a page makes up to four such calls.

What the callers (dashboard/services/http.py) rely on, kept as httpx's default transport does it:
- the timeouts httpx hands each request: `connect` (the TCP and TLS handshake), `read` (restarted by
  every chunk that arrives, so it bounds a silence, not the whole answer) and `pool` (waiting for one
  of the `max_connections` request slots); they raise ConnectTimeout, ReadTimeout and PoolTimeout;
- a refused or failed connection, TLS included, raises ConnectError; a peer that hangs up mid-answer
  ReadError or RemoteProtocolError, as does an answer that is not HTTP. All are TransportErrors, so
  the retry and circuit-breaker rules see the same faults as before;
- TLS with the context given: certificates and the host name are verified;
- connections kept alive between requests, per origin, at most `max_keepalive_connections` idle ones;
  one that the server closed (or that says `Connection: close`) is not reused;
- the answer's bytes as they came: httpx's client decodes gzip and the rest, as before.

What it leaves out, since no upstream call needs it: HTTP/2; a write timeout (a request is a small
JSON body, written at once into the connection's buffer; the caller's deadline still bounds the whole
call); streaming an answer (httpx's `request()` reads it whole anyway). Proxies named by the
environment are still served by httpx's own proxy transport, which the client mounts by itself.
"""

import asyncio
import ssl
from typing import cast

import httptools
import httpx

Origin = tuple[str, str, int]


class _Connection(asyncio.Protocol):
    """One connection to an origin, carrying one request and its answer at a time."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.parser = httptools.HttpResponseParser(self)
        self.answered: asyncio.Future[None] | None = None
        self.silence_timer: asyncio.TimerHandle | None = None
        self.read_seconds: float | None = None
        self.heard_at = 0.0  # when the last bytes of the answer arrived (the loop's clock)
        self.head_only = False
        self.headers_done = False
        self.keep_alive = False
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A cast, not isinstance(): uvloop's transports do not derive from asyncio's classes.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.answered is None or self.answered.done():
            # Nothing was asked: a server that talks out of turn cannot be trusted with the next request.
            self.close()
            return
        self.heard_at = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(httpx.RemoteProtocolError(f"The answer is not valid HTTP: {error}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.answered is None or self.answered.done():
            return
        if self.headers_done and self._body_ends_with_connection():
            self.answered.set_result(None)
        elif exc is not None:
            self._fail(httpx.ReadError(f"The connection failed before the answer was complete: {exc}"))
        else:
            self._fail(httpx.RemoteProtocolError("The server disconnected before the answer was complete."))

    # httptools callbacks

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_done = True
        self.status = self.parser.get_status_code()
        # Asked now: once the answer is complete the parser forgets the headers that decide it.
        self.keep_alive = self.parser.should_keep_alive()
        if self.head_only and self.answered is not None and not self.answered.done():
            # An answer to HEAD has no body, whatever its Content-Length says; the parser cannot be
            # told so, which is why the connection is not reused after one.
            self.answered.set_result(None)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self.status < 200:
            self._start_answer()  # an interim answer ("100 Continue"): the real one follows
            return
        if self.answered is not None and not self.answered.done():
            self.answered.set_result(None)

    # ours

    async def exchange(self, request: bytes, *, head_only: bool, read_seconds: float | None) -> None:
        """Send the request and wait for the whole answer (status, headers, body)."""
        assert self.transport is not None
        self._start_answer()
        self.head_only = head_only
        self.answered = self.loop.create_future()
        self.read_seconds = read_seconds
        self.heard_at = self.loop.time()
        self.transport.write(request)
        if read_seconds is not None:
            self.silence_timer = self.loop.call_at(self.heard_at + read_seconds, self._check_silence)
        try:
            await self.answered
        finally:
            if self.silence_timer is not None:
                self.silence_timer.cancel()
                self.silence_timer = None

    def _check_silence(self) -> None:
        """The read timeout, restarted by every chunk: rather than moving a timer at each chunk, the
        timer looks, when it fires, at when the last chunk came, and waits the rest if need be."""
        assert self.read_seconds is not None
        quiet_until = self.heard_at + self.read_seconds
        if self.loop.time() < quiet_until:
            self.silence_timer = self.loop.call_at(quiet_until, self._check_silence)
            return
        self.silence_timer = None
        self._fail(httpx.ReadTimeout(f"No data from the server for {self.read_seconds} s."))

    def reusable(self) -> bool:
        return not self.closed and not self.head_only and self.keep_alive

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _start_answer(self) -> None:
        self.headers_done = False
        self.keep_alive = False
        self.status = 0
        self.reason = b""
        self.headers = []
        self.body = []

    def _fail(self, error: httpx.TransportError) -> None:
        if self.answered is not None and not self.answered.done():
            self.answered.set_exception(error)

    def _body_ends_with_connection(self) -> bool:
        """An answer with neither Content-Length nor chunked encoding ends when the server closes."""
        names = {name.lower() for name, _ in self.headers}
        return b"content-length" not in names and b"transfer-encoding" not in names


class Transport(httpx.AsyncBaseTransport):
    def __init__(
        self, ssl_context: ssl.SSLContext, *, max_connections: int, max_keepalive_connections: int
    ) -> None:
        self.ssl_context = ssl_context
        self.slots = asyncio.Semaphore(max_connections)
        self.max_idle = max_keepalive_connections
        self.idle: dict[Origin, list[_Connection]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        await self._take_slot(timeouts.get("pool"))
        try:
            url = request.url
            host = url.raw_host.decode("ascii")  # IDNA-encoded, as DNS and TLS want it
            origin = (url.scheme, host, url.port or (443 if url.scheme == "https" else 80))
            connection = self._idle_connection(origin) or await self._connect(origin, timeouts.get("connect"))
            try:
                await connection.exchange(
                    _serialized(request, await request.aread()),
                    head_only=request.method == "HEAD",
                    read_seconds=timeouts.get("read"),
                )
            except BaseException:
                connection.close()  # the answer may be half read: the connection is unusable
                raise
            response = httpx.Response(
                connection.status,
                headers=connection.headers,
                stream=httpx.ByteStream(b"".join(connection.body)),
                extensions={
                    "http_version": b"HTTP/" + connection.parser.get_http_version().encode(),
                    "reason_phrase": connection.reason,
                },
            )
            self._put_back(origin, connection)
        finally:
            self.slots.release()
        return response

    async def aclose(self) -> None:
        for connections in self.idle.values():
            for connection in connections:
                connection.close()
        self.idle.clear()

    async def _take_slot(self, seconds: float | None) -> None:
        if not self.slots.locked():
            await self.slots.acquire()  # a free slot: no wait, so no timer to set
            return
        try:
            async with asyncio.timeout(seconds):
                await self.slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout(f"No connection was free within {seconds} s.") from None

    def _idle_connection(self, origin: Origin) -> _Connection | None:
        connections = self.idle.get(origin)
        while connections:
            connection = connections.pop()
            if not connection.closed:
                return connection
        return None

    def _put_back(self, origin: Origin, connection: _Connection) -> None:
        if not connection.reusable() or sum(map(len, self.idle.values())) >= self.max_idle:
            connection.close()
            return
        connection.answered = None
        self.idle.setdefault(origin, []).append(connection)

    async def _connect(self, origin: Origin, seconds: float | None) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls = self.ssl_context if scheme == "https" else None
        try:
            async with asyncio.timeout(seconds):
                _, connection = await loop.create_connection(
                    _Connection, host, port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"No connection to {host}:{port} within {seconds} s.") from None
        except OSError as error:  # refused, unreachable, a name that does not resolve, TLS (ssl.SSLError)
            raise httpx.ConnectError(f"No connection to {host}:{port}: {error}") from error
        return connection


def _serialized(request: httpx.Request, body: bytes) -> bytes:
    """The request as bytes on the wire. httpx has set Host, Content-Length and the rest already."""
    lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), request.url.raw_path)]
    lines += [b"%s: %s" % (name, value) for name, value in request.headers.raw]
    if request.headers.get("Transfer-Encoding") == "chunked":
        body = (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
