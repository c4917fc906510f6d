"""Fetching media URLs: against a real HTTP server on 127.0.0.1, refused unless allowed."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from arbiter.media.fetch import MAX_REDIRECTS, fetch_url, is_public
from arbiter.media.model import MediaError, MediaLimits
from tests.media.conftest import encode, photo

BODY = encode(photo((64, 48), seed=4), "JPEG")
LOOPBACK = ipaddress.ip_address("127.0.0.1")
PRIVATE_OK = MediaLimits(allow_private=True, fetch_timeout=5)


def loopback_is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Treat the test server's address as if it were on the internet; the rest as usual."""
    return address == LOOPBACK or is_public(address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stop: threading.Event
    hosts: list[str]

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        self.hosts.append(self.headers.get("Host", ""))
        if url.path == "/image":
            self.send(200, BODY)
        elif url.path.startswith("/hops/"):
            left = int(url.path.rsplit("/", 1)[1])
            self.redirect(f"/hops/{left - 1}" if left > 0 else "/image")
        elif url.path == "/to":
            self.redirect(query["url"][0])
        elif url.path == "/missing":
            self.send(404, b"not here")
        elif url.path == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"\xff\xd8\xff")
            self.wfile.flush()
            self.stop.wait(30)
        elif url.path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _ in range(300):
                if self.stop.wait(0.1):
                    break
                self.wfile.write(b"x")
                self.wfile.flush()
        elif url.path == "/declared-huge":
            self.send_response(200)
            self.send_header("Content-Length", str(10**10))
            self.end_headers()
            self.wfile.write(b"\xff\xd8\xff")
            self.wfile.flush()
            self.stop.wait(30)  # never sends the rest: reading it would time out instead
        elif url.path == "/endless":
            self.send_response(200)  # no Content-Length: the body ends when the server closes
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"\x00" * 65536
            try:
                for _ in range(1000):
                    if self.stop.is_set():
                        break
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
        else:
            self.send(404, b"")

    def send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[str]]]:
    """The base URL of a server on 127.0.0.1, and the Host headers it received."""
    stop = threading.Event()
    hosts: list[str] = []
    handler = type("TestHandler", (Handler,), {"stop": stop, "hosts": hosts})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", hosts
    finally:
        stop.set()
        httpd.shutdown()
        httpd.server_close()


def refused(url: str, limits: MediaLimits | None = None, **kwargs: object) -> MediaError:
    with pytest.raises(MediaError) as caught:
        fetch_url(url, limits or MediaLimits(fetch_timeout=5), 10**6, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_loopback_is_refused_by_default(server: tuple[str, list[str]]):
    base, hosts = server
    before = len(hosts)
    error = refused(f"{base}/image")
    assert error.kind == "refused"
    assert "127.0.0.1, a loopback address" in error.reason
    assert len(hosts) == before  # refused before connecting


def test_a_name_resolving_to_loopback_is_refused(server: tuple[str, list[str]]):
    base, _ = server
    port = base.rsplit(":", 1)[1]
    error = refused(f"http://localhost:{port}/image")
    assert error.kind == "refused"
    assert "loopback" in error.reason


def test_loopback_is_fetched_when_private_addresses_are_allowed(server: tuple[str, list[str]]):
    base, _ = server
    assert fetch_url(f"{base}/image", PRIVATE_OK, 10**6) == BODY


def test_the_connection_goes_to_the_checked_address_with_the_original_host(
    server: tuple[str, list[str]],
):
    base, hosts = server
    port = int(base.rsplit(":", 1)[1])
    asked: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return ["127.0.0.1"]

    body = fetch_url(
        f"http://media.example:{port}/image",
        MediaLimits(fetch_timeout=5),
        10**6,
        resolver=resolver,
        is_allowed=loopback_is_public,
    )
    assert body == BODY
    assert asked == [("media.example", port)]  # resolved once, here, not again by httpx
    assert hosts[-1] == f"media.example:{port}"  # the Host header names the site


def test_a_redirect_to_a_refused_address_is_refused(server: tuple[str, list[str]]):
    base, hosts = server
    port = base.rsplit(":", 1)[1]
    for target, why in [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        (f"http://[::1]:{port}/image", "loopback"),
        ("http://10.0.0.7/admin", "private"),
        ("file:///etc/passwd", "file URLs are not fetched"),
    ]:
        before = len(hosts)
        error = refused(f"{base}/to?url={target}", is_allowed=loopback_is_public)
        assert error.kind == "refused", target
        assert why in error.reason
        assert len(hosts) == before + 1  # the first hop was fetched, the redirect was not


def test_an_allowed_redirect_is_followed(server: tuple[str, list[str]]):
    base, _ = server
    assert fetch_url(f"{base}/to?url=/image", PRIVATE_OK, 10**6) == BODY


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.org/photo.jpg",
        "gopher://127.0.0.1:70/_GET",
        "data:image/png;base64,iVBORw0KGgo=",
        "javascript:alert(1)",
        "//example.org/no-scheme.jpg",
    ],
)
def test_other_schemes_are_refused(url: str):
    error = refused(url, PRIVATE_OK)
    assert error.kind == "refused"
    assert "only http and https" in error.reason or "not a valid URL" in error.reason


def test_a_server_that_stalls_after_the_headers_times_out_within_the_deadline(
    server: tuple[str, list[str]],
):
    base, _ = server
    limits = MediaLimits(allow_private=True, fetch_timeout=1.5)
    started = time.monotonic()
    error = refused(f"{base}/stall", limits)
    elapsed = time.monotonic() - started
    assert error.kind == "timeout"
    assert "1.5 seconds" in error.reason
    assert elapsed < limits.fetch_timeout + 2


def test_a_server_that_trickles_bytes_times_out_within_the_deadline(
    server: tuple[str, list[str]],
):
    base, _ = server
    limits = MediaLimits(allow_private=True, fetch_timeout=1.5)
    started = time.monotonic()
    error = refused(f"{base}/trickle", limits)
    elapsed = time.monotonic() - started
    assert error.kind == "timeout"
    assert 1.4 < elapsed < limits.fetch_timeout + 2


def test_a_too_large_content_length_is_refused_before_reading(server: tuple[str, list[str]]):
    base, _ = server
    started = time.monotonic()
    with pytest.raises(MediaError) as caught:
        fetch_url(f"{base}/declared-huge", PRIVATE_OK, 1_000_000)
    assert caught.value.kind == "too_large"
    assert "10,000,000,000 bytes (Content-Length), over the limit of 1,000,000" in (
        caught.value.reason
    )
    assert time.monotonic() - started < 2  # it did not wait for the body


def test_a_body_without_length_is_cut_at_the_limit(server: tuple[str, list[str]]):
    base, _ = server
    with pytest.raises(MediaError) as caught:
        fetch_url(f"{base}/endless", PRIVATE_OK, 300_000)
    assert caught.value.kind == "too_large"
    assert "300,000" in caught.value.reason


def test_up_to_five_redirects_are_followed_and_a_sixth_is_refused(server: tuple[str, list[str]]):
    base, _ = server
    assert MAX_REDIRECTS == 5
    assert fetch_url(f"{base}/hops/4", PRIVATE_OK, 10**6) == BODY  # 5 redirects
    error = refused(f"{base}/hops/5", PRIVATE_OK)  # 6 redirects
    assert error.kind == "refused"
    assert "more than 5 redirects" in error.reason


def test_http_errors_and_unknown_hosts_are_unreachable(server: tuple[str, list[str]]):
    base, _ = server
    error = refused(f"{base}/missing", PRIVATE_OK)
    assert error.kind == "unreachable"
    assert "HTTP 404" in error.reason

    def nowhere(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    error = refused("http://no-such-host.invalid/p.jpg", resolver=nowhere)
    assert error.kind == "unreachable"
    assert "does not resolve" in error.reason


def test_a_closed_port_is_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error = refused(f"http://127.0.0.1:{port}/p.jpg", PRIVATE_OK)
    assert error.kind == "unreachable"


def test_a_slow_resolver_counts_against_the_deadline():
    def slow(host: str, port: int) -> list[str]:
        time.sleep(5)
        return ["93.184.216.34"]

    started = time.monotonic()
    error = refused("http://slow.example/p.jpg", MediaLimits(fetch_timeout=0.5), resolver=slow)
    assert error.kind == "timeout"
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1]:{port}/image",
        "http://[::ffff:127.0.0.1]:{port}/image",
        "http://[::ffff:7f00:1]:{port}/image",
        "http://[::]:{port}/image",
        "http://0.0.0.0:{port}/image",
        "http://2130706433:{port}/image",  # 127.0.0.1 written as one number
    ],
)
def test_ipv6_loopback_mapped_and_odd_spellings_of_loopback_are_refused(
    server: tuple[str, list[str]], url: str
):
    base, hosts = server
    before = len(hosts)
    error = refused(url.format(port=base.rsplit(":", 1)[1]))
    assert error.kind == "refused"
    assert len(hosts) == before


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::808:808", True),  # NAT64 of a public address
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("169.254.169.254", False),  # cloud metadata
        ("224.0.0.1", False),
        ("239.255.255.250", False),
        ("0.0.0.0", False),
        ("255.255.255.255", False),
        ("240.0.0.1", False),
        ("192.0.2.1", False),  # documentation
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("fec0::1", False),  # site-local
        ("ff02::1", False),
        ("2001:db8::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("::127.0.0.1", False),  # IPv4-compatible
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("2002:a9fe:a9fe::1", False),  # 6to4 of 169.254.169.254
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
    ],
)
def test_which_addresses_are_public(address: str, public: bool):
    assert is_public(ipaddress.ip_address(address)) is public
