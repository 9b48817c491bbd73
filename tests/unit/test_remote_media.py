"""The SSRF-safe fetcher: redirects are re-checked, refused targets are never contacted."""

from __future__ import annotations

import asyncio
import ipaddress
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from app.core.remote_media import RemoteMediaFetcher, RemoteMediaRefused, public_only


class Handler(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []
    redirect_to = ""

    def do_GET(self):
        type(self).hits.append(self.path)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
            self.end_headers()
            return
        body = b"\x89PNG\r\n\x1a\n" + b"0" * (5000 if self.path == "/big" else 10)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(host: str):
    handler = type("H", (Handler,), {"hits": []})
    server = ThreadingHTTPServer((host, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler


@pytest.fixture
def servers():
    allowed, allowed_handler = serve("127.0.0.1")
    refused, refused_handler = serve("127.0.0.2")  # also loopback, but not on the allow list
    yield (allowed, allowed_handler), (refused, refused_handler)
    allowed.shutdown()
    refused.shutdown()


def only(address: str):
    return lambda ip: ip == ipaddress.ip_address(address)


def test_allowed_host_is_fetched(servers):
    (allowed, _), _ = servers
    fetcher = RemoteMediaFetcher(1000, allow=only("127.0.0.1"))
    data = asyncio.run(fetcher.fetch(f"http://127.0.0.1:{allowed.server_port}/img.png"))
    assert data.startswith(b"\x89PNG")


def test_redirect_to_a_refused_address_never_connects(servers):
    (allowed, allowed_handler), (refused, refused_handler) = servers
    allowed_handler.redirect_to = f"http://127.0.0.2:{refused.server_port}/secret"
    fetcher = RemoteMediaFetcher(1000, allow=only("127.0.0.1"))
    with pytest.raises(RemoteMediaRefused, match="non-public address"):
        asyncio.run(fetcher.fetch(f"http://127.0.0.1:{allowed.server_port}/redirect"))
    assert allowed_handler.hits == ["/redirect"]
    assert refused_handler.hits == []


def test_byte_cap(servers):
    (allowed, _), _ = servers
    fetcher = RemoteMediaFetcher(1000, allow=only("127.0.0.1"))
    with pytest.raises(RemoteMediaRefused, match="larger than 1000 bytes"):
        asyncio.run(fetcher.fetch(f"http://127.0.0.1:{allowed.server_port}/big"))


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.8.8", True),
    ],
)
def test_default_policy(address, allowed):
    assert public_only(ipaddress.ip_address(address)) is allowed


def test_default_policy_refuses_loopback_by_name(servers):
    (allowed, handler), _ = servers
    with pytest.raises(RemoteMediaRefused):
        asyncio.run(RemoteMediaFetcher(1000).fetch(f"http://localhost:{allowed.server_port}/x"))
    assert handler.hits == []
