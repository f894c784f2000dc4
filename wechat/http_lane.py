"""Keep-alive HTTP/1.1 to the one origin the gateway talks to (WeChat's API host, or the
sandbox in its place).

Why not aiohttp's client for this: every consultation intake makes one msgSecCheck call
and the delivery worker one call per message, and an aiohttp request cost the calling
process 127–142 µs of CPU against 54–57 µs for the same msgSecCheck request here (194–207
against 74–78 in a slower phase of the host; both against the sandbox process at 16
concurrent callers, which spent the same on either). The event loop is what limits an API process (python -m bench
intake). The gateway's needs are narrow — one origin, small JSON bodies, no cookies,
redirects or proxies — so the client can be too. Responses are parsed by httptools
(llhttp, the parser Node.js uses): status, Content-Length or chunked bodies, keep-alive.

Behaviour the gateway relies on:

- ``request`` returns (status, body) for any complete response; it raises
  :class:`HttpLaneError` (an ``OSError``) when the connection fails or the response is
  malformed, and ``TimeoutError`` when the whole exchange takes longer than ``timeout``.
- Connections are reused while the server keeps them alive. A kept-alive connection the
  server closed while idle fails before any byte of the answer comes back; the request
  is then sent once more on a new connection, as browsers and aiohttp do.
- At most ``limit`` requests are in flight; more wait for a connection.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import httptools
import yarl


class HttpLaneError(OSError):
    """The connection failed or the answer was not HTTP; the text carries no URL."""


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future | None = None
        self.parser: Any = None
        self.chunks: list[bytes] = []
        self.got_bytes = False
        self.closed = False
        self.used = 0

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self.parser is None:  # bytes nobody asked for
            self.close()
            return
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(HttpLaneError("unexpected protocol upgrade"))
        except httptools.HttpParserError as exc:
            self._fail(HttpLaneError(f"malformed HTTP answer ({type(exc).__name__})"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(HttpLaneError("connection closed before the answer was complete"))

    # -- httptools callbacks
    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        status, keep = self.parser.get_status_code(), self.parser.should_keep_alive()
        body = b"".join(self.chunks)
        self.chunks, self.parser = [], None
        if not keep:
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result((status, body))

    # -- use
    def send(self, data: bytes, waiter: asyncio.Future) -> None:
        self.waiter, self.chunks, self.got_bytes = waiter, [], False
        self.parser = httptools.HttpResponseParser(self)
        self.used += 1
        self.transport.write(data)  # type: ignore[union-attr]

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        self.parser = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    @property
    def reusable(self) -> bool:
        return not self.closed and self.waiter is None and self.transport is not None \
            and not self.transport.is_closing()


class HttpLane:
    """Requests to one origin (``base_url``'s scheme, host and port) over kept-alive
    connections; see the module."""

    def __init__(self, base_url: str, *, limit: int = 100, connect_timeout: float = 3.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        url = yarl.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("HttpLane needs an http:// or https:// base URL")
        self.host, self.port = url.host, url.port or (443 if url.scheme == "https" else 80)
        self.tls = ssl_context or (ssl.create_default_context() if url.scheme == "https" else None)
        default_port = 443 if url.scheme == "https" else 80
        host_header = url.raw_host if self.port == default_port else f"{url.raw_host}:{self.port}"
        self._host_line = f"Host: {host_header}\r\nUser-Agent: sz-wechat-gateway\r\n" \
                          f"Accept-Encoding: identity\r\n"
        self.limit = limit
        self.connect_timeout = connect_timeout
        self._idle: list[_Connection] = []
        self._closed = False
        self._slots: asyncio.Semaphore | None = None
        #: connections opened since start (for tests and debugging)
        self.connects = 0

    async def request(self, method: str, target: str, body: bytes | None = None, *,
                      content_type: str = "application/json", timeout: float = 5.0) -> tuple[int, bytes]:
        """``target``: the path with its encoded query, as :func:`target` gives it."""
        head = f"{method} {target} HTTP/1.1\r\n{self._host_line}"
        if body is not None:
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        elif method in ("POST", "PUT"):
            head += "Content-Length: 0\r\n"
        data = (head + "\r\n").encode("latin-1") + (body or b"")
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        # The timeout covers the wait for a free connection too, as aiohttp's total does.
        async with asyncio.timeout(timeout), self._slots:
            while True:
                conn = self._take()
                reused = conn is not None
                if conn is None:
                    conn = await self._open()
                waiter = asyncio.get_running_loop().create_future()
                conn.send(data, waiter)
                try:
                    result = await waiter
                except HttpLaneError:
                    if reused and not conn.got_bytes:
                        continue  # closed by the server while idle: send again on a new one
                    raise
                except BaseException:  # a timeout or a cancelled caller: the answer is unknown
                    conn.close()
                    raise
                if conn.reusable and not self._closed:
                    self._idle.append(conn)
                else:
                    conn.close()
                return result

    def _take(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.reusable:
                return conn
        return None

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, conn = await loop.create_connection(
                    _Connection, self.host, self.port, ssl=self.tls,
                    server_hostname=self.host if self.tls is not None else None)
        except TimeoutError:
            raise HttpLaneError("connect timed out") from None
        except OSError as exc:
            raise HttpLaneError(f"cannot connect ({type(exc).__name__})") from None
        self.connects += 1
        return conn

    async def close(self) -> None:
        """Close the idle connections; those still in use close when their answer is in."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def target(url: Any, params: dict[str, str] | None = None) -> str:
    """The request target (path and encoded query) of a URL (str or yarl.URL) on the
    lane's origin, with ``params`` added to its query."""
    u = url if isinstance(url, yarl.URL) else yarl.URL(url)
    if params:
        u = u.update_query(params)
    return u.raw_path_qs
