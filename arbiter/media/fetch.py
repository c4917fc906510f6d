"""Downloading a media URL without letting a post aim Arbiter at the inside of the network.

A post's media URL is written by whoever wrote the post. Fetched naively it can
reach the cloud metadata service (169.254.169.254), an admin console on
localhost or anything else on the moderation host's network (server-side
request forgery). So, for the first URL and every redirect:

- only http and https;
- the host is resolved here, and every address it resolves to is judged: private,
  loopback, link-local, multicast, reserved and unspecified addresses are
  refused (IPv4 and IPv6, with IPv4 inside IPv6 — mapped, 6to4, NAT64 — judged
  as the IPv4 it carries), unless `MediaLimits.allow_private`;
- the connection goes to an address that was judged, with the original Host
  header and TLS server name (so the name cannot resolve differently between the
  check and the connection: no DNS-rebinding window), and never through a proxy
  from the environment;
- redirects are followed here, at most MAX_REDIRECTS, each target checked the
  same way;
- the body is streamed against the byte limit (a larger Content-Length is
  refused before reading), and one deadline, `MediaLimits.fetch_timeout`,
  covers resolving, connecting, redirects and the last byte, so a server that
  trickles bytes cannot hold a scan.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import zlib
from collections.abc import Callable, Sequence

import httpx

from arbiter.media.model import MediaError, MediaLimits

MAX_REDIRECTS = 5
USER_AGENT = "Arbiter-media-fetch/0.1 (content moderation; fetches a post's media once)"
REDIRECTS = (301, 302, 303, 307, 308)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]  # host name, port -> IP addresses
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def fetch_url(
    url: str,
    limits: MediaLimits,
    max_bytes: int,
    *,
    resolver: Resolver | None = None,
    is_allowed: Callable[[Address], bool] | None = None,
) -> bytes:
    """The body of `url`, at most `max_bytes`, fetched within `limits.fetch_timeout` seconds.

    `resolver` (host, port -> addresses; default: the system's getaddrinfo) and
    `is_allowed` (default: `is_public`) exist for tests and special deployments; with
    `limits.allow_private` every unicast address is allowed.
    Raises MediaError: refused (scheme, address, too many redirects), unreachable
    (DNS, connection, HTTP status), timeout, too_large.
    """
    deadline = time.monotonic() + limits.fetch_timeout
    resolve = resolver or _system_resolver
    allowed = is_allowed or is_public
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        target = _parse(current)
        addresses = _addresses(target, resolve, deadline, limits)
        usable = [a for a in addresses if _permitted(a, allowed, limits)]
        if not usable:
            address = addresses[0]
            raise MediaError(
                "refused",
                f"{current}: {target.host} is {address}, a {_describe(address)} address",
            )
        response_location, body = _get(target, usable, deadline, limits, max_bytes, current)
        if response_location is None:
            return body
        try:
            current = str(target.join(response_location))
        except httpx.InvalidURL:
            raise MediaError("unreachable", f"{current}: redirects to a malformed URL") from None
    raise MediaError("refused", f"{url}: more than {MAX_REDIRECTS} redirects")


def is_public(address: Address) -> bool:
    """Whether an address is on the public internet (what a media URL may reach)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
        if address.teredo is not None or address.is_site_local:
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _permitted(address: Address, allowed: Callable[[Address], bool], limits: MediaLimits) -> bool:
    if limits.allow_private:
        return not (address.is_multicast or address.is_unspecified)
    return allowed(address)


def _describe(address: Address) -> str:
    inner: Address = address
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour or address
    for test, word in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
    ):
        if getattr(inner, test):
            return word
    if inner is not address:
        return "non-public (an IPv4 address inside IPv6)"
    return "non-public"


def _parse(url: str) -> httpx.URL:
    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise MediaError("refused", f"{url}: not a valid URL") from None
    if target.scheme not in ("http", "https"):
        scheme = target.scheme or "no scheme"
        raise MediaError("refused", f"{url}: {scheme} URLs are not fetched, only http and https")
    if not target.host:
        raise MediaError("refused", f"{url}: no host")
    return target


def _port(target: httpx.URL) -> int:
    return target.port or (443 if target.scheme == "https" else 80)


def _addresses(
    target: httpx.URL, resolve: Resolver, deadline: float, limits: MediaLimits
) -> list[Address]:
    host = target.raw_host.decode("ascii")
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _timeout(str(target), limits)
    found: list[Sequence[str]] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            found.append(resolve(host, _port(target)))
        except BaseException as error:  # reported below, in the caller's thread
            failed.append(error)

    # getaddrinfo has no timeout of its own: run it aside and stop waiting at the deadline.
    worker = threading.Thread(target=run, name="arbiter-resolve", daemon=True)
    worker.start()
    worker.join(remaining)
    if worker.is_alive():
        raise _timeout(str(target), limits)
    if failed or not found or not found[0]:
        raise MediaError("unreachable", f"{target}: the host name {host} does not resolve")
    addresses = []
    for text in found[0]:
        try:
            addresses.append(ipaddress.ip_address(text.split("%", 1)[0]))
        except ValueError:
            continue
    if not addresses:
        raise MediaError("unreachable", f"{target}: the host name {host} does not resolve")
    return addresses


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


def _timeout(url: str, limits: MediaLimits) -> MediaError:
    return MediaError("timeout", f"{url}: not fetched within {limits.fetch_timeout:g} seconds")


def _get(
    target: httpx.URL,
    addresses: list[Address],
    deadline: float,
    limits: MediaLimits,
    max_bytes: int,
    shown: str,
) -> tuple[str | None, bytes]:
    """(redirect location, b"") or (None, body), from the first address that connects."""
    host = target.raw_host.decode("ascii")
    headers = {
        "Host": target.netloc.decode("ascii"),
        "User-Agent": USER_AGENT,
        "Accept": "image/*, video/*;q=0.9, */*;q=0.5",
        "Accept-Encoding": "identity",
    }
    extensions = {}
    if target.scheme == "https" and not _is_ip(host):
        extensions["sni_hostname"] = host
    last_error = ""
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _timeout(shown, limits)
        pinned = target.copy_with(host=str(address))
        try:
            with httpx.Client(
                trust_env=False, follow_redirects=False, timeout=httpx.Timeout(remaining)
            ) as client:
                request = client.build_request(
                    "GET", pinned, headers=headers, extensions=extensions
                )
                response = client.send(request, stream=True)
                try:
                    return _read(response, deadline, limits, max_bytes, shown)
                finally:
                    response.close()
        except httpx.TimeoutException:
            raise _timeout(shown, limits) from None
        except httpx.ConnectError as error:
            last_error = str(error) or "connection failed"
            continue  # the next address, if the host has several
        except httpx.TransportError as error:
            raise MediaError("unreachable", f"{shown}: {error or type(error).__name__}") from None
    raise MediaError("unreachable", f"{shown}: cannot connect to {target.host} ({last_error})")


def _read(
    response: httpx.Response, deadline: float, limits: MediaLimits, max_bytes: int, shown: str
) -> tuple[str | None, bytes]:
    status = response.status_code
    if status in REDIRECTS:
        location = response.headers.get("location")
        if not location:
            raise MediaError("unreachable", f"{shown}: HTTP {status} without a Location")
        return location, b""
    if not 200 <= status < 300:
        raise MediaError("unreachable", f"{shown}: HTTP {status} {response.reason_phrase}".rstrip())
    declared = response.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > max_bytes:
        raise MediaError(
            "too_large",
            f"{shown}: {int(declared):,} bytes (Content-Length), over the limit of {max_bytes:,}",
        )
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
        raise MediaError("unreachable", f"{shown}: sent with an unsupported encoding ({encoding})")
    decoder = None
    if encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        decoder = zlib.decompressobj()
    chunks: list[bytes] = []
    size = 0
    # Raw chunks, as they arrive: the deadline is checked after every read, so a server
    # sending a byte at a time is cut off too (a stalled read ends with the read timeout).
    for raw in response.iter_raw():
        if time.monotonic() > deadline:
            raise _timeout(shown, limits)
        if decoder is not None:
            try:
                raw = decoder.decompress(raw, max_bytes + 1 - size)
            except zlib.error:
                raise MediaError("corrupt", f"{shown}: a malformed {encoding} body") from None
        size += len(raw)
        if size > max_bytes:
            raise MediaError("too_large", f"{shown}: more than {max_bytes:,} bytes, the limit")
        chunks.append(raw)
    return None, b"".join(chunks)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
