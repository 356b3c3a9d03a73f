"""Where a channel may send: the guard against server-side request forgery.

A channel's URL is typed by a team admin, and the sender posts to it from inside our network. So it
must be http(s), must not be the dashboard itself (by name, or by address at the dashboard's port:
`localhost`, `127.1`, `[::1]` and `0.0.0.0` reach a dashboard on 127.0.0.1 too, and its public
address reaches it under any name), and must not resolve to a loopback, private,
link-local or otherwise internal address, unless CHANNELS_ALLOW_PRIVATE says so (development and
tests, whose receivers run on 127.0.0.1). It is checked when the channel is saved and again before
every send, since DNS may answer differently later; the sender then connects to the address it
checked (not a second lookup), so a name cannot be re-pointed between the check and the post.
"""

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

type Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """A destination we will not post to; the message is the sentence shown to the admin."""


@dataclass(frozen=True)
class Destination:
    url: str
    host: str
    port: int
    address: Address  # the checked address the sender connects to


def _parts(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise Refused("That address is not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise Refused("Use an http:// or https:// address.")
    if not parts.hostname:
        raise Refused("That address has no host name.")
    if parts.username or parts.password:
        raise Refused("Leave the user name and password out of the address.")
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def hint(url: str) -> str:
    """What is shown of a stored address: its scheme and host, never the path that may hold a key."""
    scheme, host, port = _parts(url)
    default = 443 if scheme == "https" else 80
    shown = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
    return f"{scheme}://{shown}{'' if port == default else f':{port}'}/…"


def _own_origin() -> tuple[str, int] | None:
    public = urlsplit(settings.PUBLIC_URL)
    if not public.hostname:
        return None
    return public.hostname.lower(), public.port or (443 if public.scheme == "https" else 80)


OWN_ADDRESSES_FOR = 300.0  # seconds the dashboard's own addresses are remembered (a DNS answer's life)
_own_addresses: dict[str, tuple[float, frozenset[Address]]] = {}


def _remembered(host: str) -> frozenset[Address] | None:
    kept = _own_addresses.get(host)
    if kept is None or time.monotonic() - kept[0] > OWN_ADDRESSES_FOR:
        return None
    return kept[1]


def _remember(host: str, addresses: list[Address]) -> frozenset[Address]:
    found = frozenset(_plain(address) for address in addresses)
    _own_addresses[host] = (time.monotonic(), found)
    return found


def _plain(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _this_machine(address: Address) -> bool:
    """Loopback and the unspecified address (0.0.0.0, ::) all reach a server listening on this host."""
    return address.is_loopback or address.is_unspecified


def _is_dashboard(port: int, addresses: list[Address], own: frozenset[Address]) -> bool:
    origin = _own_origin()
    if origin is None or port != origin[1] or not own:
        return False
    local = any(_this_machine(address) for address in own)
    return any(address in own or (local and _this_machine(address)) for address in map(_plain, addresses))


def _own_addresses_now(host: str) -> frozenset[Address]:
    if (kept := _remembered(host)) is not None:
        return kept
    literal = _literal(host)
    if literal is not None:
        return _remember(host, [literal])
    try:
        return _remember(host, _addresses(list(socket.getaddrinfo(host, None, type=socket.SOCK_STREAM))))
    except (OSError, UnicodeError):
        return frozenset()  # the dashboard's own name does not resolve here: the name check remains


async def _aown_addresses(host: str) -> frozenset[Address]:
    if (kept := _remembered(host)) is not None:
        return kept
    literal = _literal(host)
    if literal is not None:
        return _remember(host, [literal])
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return frozenset()
    return _remember(host, _addresses(list(infos)))


def _internal(address: Address) -> bool:
    address = _plain(address)
    return not address.is_global or address.is_multicast


ITSELF = "That address is this dashboard itself: a channel must post somewhere else."


def _check_addresses(host: str, port: int, addresses: list[Address], own: frozenset[Address]) -> Address:
    if not addresses:
        raise Refused(f"The host name {host} does not resolve to any address.")
    if _is_dashboard(port, addresses, own):
        raise Refused(ITSELF)
    if not settings.CHANNELS_ALLOW_PRIVATE:
        for address in addresses:
            if _internal(address):
                raise Refused(
                    f"{host} resolves to an internal address ({address}): channels may only post to "
                    "public addresses."
                )
    return addresses[0]


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _addresses(infos: list[tuple[object, ...]]) -> list[Address]:
    found: list[Address] = []
    for info in infos:
        sockaddr = info[4]
        if isinstance(sockaddr, tuple):
            address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
            if address not in found:
                found.append(address)
    return found


def _precheck(url: str) -> tuple[str, int]:
    _, host, port = _parts(url)
    if (host.rstrip("."), port) == _own_origin():
        raise Refused(ITSELF)
    return host, port


def check(url: str) -> Destination:
    """Resolve and check a URL (blocking: at save time, in a worker thread of the view)."""
    host, port = _precheck(url)
    origin = _own_origin()
    own = _own_addresses_now(origin[0]) if origin else frozenset()
    literal = _literal(host)
    if literal is not None:
        return Destination(url, host, port, _check_addresses(host, port, [literal], own))
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Refused(f"The host name {host} could not be resolved.") from None
    return Destination(url, host, port, _check_addresses(host, port, _addresses(list(infos)), own))


async def acheck(url: str) -> Destination:
    """The same check in the sender's event loop, without blocking it on DNS."""
    host, port = _precheck(url)
    origin = _own_origin()
    own = await _aown_addresses(origin[0]) if origin else frozenset()
    literal = _literal(host)
    if literal is not None:
        return Destination(url, host, port, _check_addresses(host, port, [literal], own))
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Refused(f"The host name {host} could not be resolved.") from None
    return Destination(url, host, port, _check_addresses(host, port, _addresses(list(infos)), own))
