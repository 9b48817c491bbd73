"""Fetch a media URL for the self-hosted backend without becoming a proxy into the pod's network.

http/https only; every address the name resolves to must be public (no loopback, private,
link-local — cloud metadata lives there —, multicast, reserved or unspecified, IPv6 and
IPv4-mapped forms included); the connection goes to the address that was checked (no second
lookup); each redirect is checked the same way; bytes and time are capped.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

MAX_REDIRECTS = 3
TIMEOUT_S = 15.0

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RemoteMediaRefused(ValueError):
    """The URL may not be fetched, or fetching it failed; str() says why."""


def public_only(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


class RemoteMediaFetcher:
    def __init__(
        self,
        max_bytes: int,
        *,
        allow: Callable[[Address], bool] = public_only,
        timeout_s: float = TIMEOUT_S,
    ):
        self.max_bytes = max_bytes
        self.allow = allow
        self.timeout_s = timeout_s

    async def fetch(self, url: str) -> bytes:
        try:
            return await asyncio.wait_for(self._fetch(url), self.timeout_s)
        except asyncio.TimeoutError:
            raise RemoteMediaRefused(
                f"Fetching {url} took longer than {self.timeout_s:g} s."
            ) from None

    async def _resolve(self, host: str, port: int) -> str:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except socket.gaierror:
            raise RemoteMediaRefused(f"The host {host} cannot be resolved.") from None
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
        refused = [a for a in addresses if not self.allow(a)]
        if not addresses or refused:
            raise RemoteMediaRefused(
                f"The media URL points to a non-public address ({refused[0] if refused else host}); "
                "send the image as a base64 data URL instead."
            )
        return str(addresses[0])

    async def _fetch(self, url: str) -> bytes:
        async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
            for _ in range(MAX_REDIRECTS + 1):
                parts = urlsplit(url)
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    raise RemoteMediaRefused("Only http and https media URLs can be fetched.")
                port = parts.port or (443 if parts.scheme == "https" else 80)
                ip = await self._resolve(parts.hostname, port)
                pinned_host = f"[{ip}]" if ":" in ip else ip
                pinned = urlunsplit(
                    (parts.scheme, f"{pinned_host}:{port}", parts.path or "/", parts.query, "")
                )
                request = client.build_request(
                    "GET",
                    pinned,
                    headers={"Host": parts.netloc.rsplit("@", 1)[-1], "Accept": "image/*,video/*"},
                    extensions={"sni_hostname": parts.hostname} if parts.scheme == "https" else {},
                )
                try:
                    response = await client.send(request, stream=True)
                except httpx.HTTPError as exc:
                    raise RemoteMediaRefused(
                        f"Could not fetch {url} ({type(exc).__name__})."
                    ) from None
                try:
                    if response.is_redirect and response.headers.get("location"):
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise RemoteMediaRefused(f"Fetching {url} answered {response.status_code}.")
                    declared = int(response.headers.get("content-length") or 0)
                    if declared > self.max_bytes:
                        raise RemoteMediaRefused(f"{url} is larger than {self.max_bytes} bytes.")
                    data = bytearray()
                    async for chunk in response.aiter_bytes():
                        data += chunk
                        if len(data) > self.max_bytes:
                            raise RemoteMediaRefused(
                                f"{url} is larger than {self.max_bytes} bytes."
                            )
                    return bytes(data)
                finally:
                    await response.aclose()
        raise RemoteMediaRefused(f"{url} redirected more than {MAX_REDIRECTS} times.")
