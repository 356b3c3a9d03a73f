"""The upstream clients' HTTP/1.1 transport (dashboard/services/transport.py) against raw servers that
answer exactly as each test scripts: kept-alive connections, the ways an answer's body may end, the
timeouts and the faults, each as the TransportError httpx's own transport would raise."""

import asyncio
import gzip
import ssl
from collections.abc import Awaitable, Callable

import httpx
import pytest
import uvloop

from dashboard.services.transport import Transport

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
JSON = b'{"ok": true}'


class Server:
    """A TCP server on a free port that runs `serve` for each connection and counts them."""

    def __init__(self, serve: Serve) -> None:
        self.serve = serve
        self.connections = 0
        self.writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc_info: object) -> None:
        self.server.close()
        for writer in self.writers:  # uvloop's server has no close_clients()
            writer.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.add(writer)
        try:
            await self.serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def client(timeout: float = 2.0) -> httpx.AsyncClient:
    transport = Transport(ssl.create_default_context(), max_connections=5, max_keepalive_connections=5)
    return httpx.AsyncClient(transport=transport, timeout=timeout)


async def keep_alive_json(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers every request on the connection, the body's length given."""
    while True:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(JSON), JSON))
        await writer.drain()


async def test_it_reuses_a_kept_alive_connection():
    server = Server(keep_alive_json)
    async with server as url, client() as http:
        answers = [await http.get(f"{url}/ask/{n}") for n in range(3)]

    assert [answer.json() for answer in answers] == [{"ok": True}] * 3
    assert server.connections == 1


async def test_it_sends_the_method_target_headers_and_body():
    seen: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head + await reader.readexactly(len(b'{"name":"A"}')))
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with Server(record) as url, client() as http:
        answer = await http.post(
            f"{url}/teams?x=1", json={"name": "A"}, headers={"Authorization": "Bearer t"}
        )

    assert answer.status_code == 201 and answer.reason_phrase == "Created"
    request = seen[0]
    assert request.startswith(b"POST /teams?x=1 HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer t\r\n" in request
    assert b"\r\nContent-Length: 12\r\n" in request
    assert request.endswith(b'\r\n\r\n{"name":"A"}')


async def test_a_chunked_answer_is_joined():
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for part in (b'{"ok"', b": true}"):
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async with Server(chunked) as url, client() as http:
        assert (await http.get(url)).json() == {"ok": True}


async def test_an_answer_without_length_ends_when_the_server_closes_and_is_not_reused():
    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + JSON)
        await writer.drain()

    server = Server(until_close)
    async with server as url, client() as http:
        answers = [await http.get(url) for _ in range(2)]

    assert [answer.json() for answer in answers] == [{"ok": True}] * 2
    assert server.connections == 2


async def test_a_gzipped_answer_is_decoded_by_httpx():
    body = gzip.compress(JSON)

    async def gzipped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body))
        writer.write(body)
        await writer.drain()

    async with Server(gzipped) as url, client() as http:
        assert (await http.get(url)).json() == {"ok": True}


async def test_the_read_timeout_bounds_a_silence_not_the_whole_answer():
    async def slow_but_steady(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n")
        for byte in b"[1, 2]":
            await asyncio.sleep(0.1)
            writer.write(bytes([byte]))
            await writer.drain()

    async with Server(slow_but_steady) as url, client(timeout=0.3) as http:
        assert (await http.get(url)).json() == [1, 2]  # 0.6 s in all, never 0.3 s without a byte


async def test_a_silent_server_is_a_read_timeout_and_its_connection_is_dropped():
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(5)

    server = Server(silent)
    async with server as url, client(timeout=0.2) as http:
        for _ in range(2):
            with pytest.raises(httpx.ReadTimeout):
                await http.get(url)

    assert server.connections == 2


async def test_a_server_that_hangs_up_mid_answer_is_a_transport_error():
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")
        await writer.drain()

    async with Server(hang_up) as url, client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(url)


async def test_an_answer_that_is_not_http_is_a_protocol_error():
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(1)

    async with Server(garbage) as url, client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(url)


async def test_a_refused_connection_is_a_connect_error():
    async with Server(keep_alive_json) as url:
        pass  # the port is free again
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(url)


async def test_a_connection_the_server_closed_while_idle_is_not_reused():
    async def one_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(JSON), JSON))
        await writer.drain()  # then closes: an idle timeout on the server's side

    server = Server(one_answer)
    async with server as url, client() as http:
        await http.get(url)
        await asyncio.sleep(0.1)
        assert (await http.get(url)).json() == {"ok": True}

    assert server.connections == 2


async def test_requests_beyond_the_slots_wait_for_one_and_time_out_in_the_pool():
    release = asyncio.Event()

    async def held(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await release.wait()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(JSON), JSON))
        await writer.drain()

    transport = Transport(ssl.create_default_context(), max_connections=1, max_keepalive_connections=1)
    async with Server(held) as url, httpx.AsyncClient(transport=transport, timeout=5) as http:
        first = asyncio.create_task(http.get(url))
        await asyncio.sleep(0.1)
        with pytest.raises(httpx.PoolTimeout):
            await http.get(url, timeout=httpx.Timeout(5, pool=0.1))
        release.set()
        assert (await first).json() == {"ok": True}


def test_it_runs_on_uvloop():
    """The web server's event loop, whose transports do not derive from asyncio's own classes."""

    async def ask_twice() -> list[object]:
        server = Server(keep_alive_json)
        async with server as url, client() as http:
            answers = [(await http.get(url)).json() for _ in range(2)]
        return [*answers, server.connections]

    assert uvloop.run(ask_twice()) == [{"ok": True}, {"ok": True}, 1]
