"""A pipelined Redis connection for the one command every API request sends.

Why: each request's session lookup is one EVALSHA (``services.auth.sessions.resolve``).
Through redis-py it cost the API process 77–109 µs of CPU at 16 concurrent callers —
a connection checked out of the pool and back, retry and observability wrappers, the
command packed in Python — against 20–30 µs for the same command written straight to
one connection that all callers share (both measured in one run against the same Redis).
The event loop is what limits an API process (python -m bench intake), so this is CPU
every request gets back.

How: one TCP connection; callers queue their command and wait on a future; the commands
of one turn of the event loop go out in one write; replies come back in the order
commands were sent (Redis's pipelining guarantee), so the first future in line takes
each reply. hiredis, already a dependency, packs commands and parses replies in C. A caller that is cancelled leaves its future in line: its reply is read
and dropped, and the order holds.

Failures look like redis-py's: a lost connection fails every waiting command with
``redis.exceptions.ConnectionError`` and the next command connects again; a command
without an answer within ``timeout`` raises ``redis.exceptions.TimeoutError`` and drops
the connection (replies to it could otherwise arrive arbitrarily late); an error reply
raises ``ResponseError`` (``NoScriptError`` for NOSCRIPT), so callers keep redis-py's
``except`` clauses.

Only plain TCP (``redis://``) is handled here. For TLS, a Unix socket or the in-process
substitute :func:`for_client` returns None and callers use the redis-py client as before.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import hiredis
from redis import exceptions as rx


class _Protocol(asyncio.Protocol):
    def __init__(self, lane: RedisLane) -> None:
        self.lane = lane
        self.reader = hiredis.Reader(replyError=rx.ResponseError)
        self.transport: asyncio.Transport | None = None
        #: commands written since the last flush (see :meth:`send`)
        self.pending: list[bytes] = []

    def send(self, command: bytes) -> None:
        """Queue a command; the queue goes out in one write at the end of this turn of the
        event loop. Requests that arrive together (a group of answers goes out, their
        clients ask again at once) start together, so their lookups share one send
        system call instead of one each."""
        self.pending.append(command)
        if len(self.pending) == 1:
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        pending, self.pending = self.pending, []
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(pending) if len(pending) > 1 else pending[0])

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        waiting = self.lane._waiting
        while True:
            try:
                reply = self.reader.gets()
            except hiredis.ProtocolError as exc:
                self.lane._drop(self, rx.ConnectionError(f"Redis protocol error: {exc}"))
                return
            if reply is False:
                return
            if not waiting:  # nothing asked for this: the stream is out of step
                self.lane._drop(self, rx.ConnectionError("unexpected reply from Redis"))
                return
            future = waiting.popleft()
            if future.done():  # its caller was cancelled or timed out
                continue
            if isinstance(reply, rx.ResponseError):
                future.set_exception(_error(reply))
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lane._drop(self, rx.ConnectionError("Redis connection closed"))


def _error(reply: rx.ResponseError) -> rx.ResponseError:
    text = str(reply)
    if text.startswith("NOSCRIPT"):
        return rx.NoScriptError(text)
    return rx.ResponseError(text)


class RedisLane:
    """Commands over one shared, pipelined connection (see the module)."""

    def __init__(self, *, host: str, port: int, db: int = 0, username: str | None = None,
                 password: str | None = None, timeout: float = 5.0, connect_timeout: float = 3.0) -> None:
        self.host, self.port, self.db = host, port, db
        self._auth = ([username] if username else []) + [password] if password else None
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None
        self._waiting: deque[asyncio.Future] = deque()
        #: connections opened since start (for tests and the metrics of a long-running process)
        self.connects = 0

    async def execute(self, *args: Any) -> Any:
        """Send one command and return its reply as redis-py would (bytes, not decoded)."""
        protocol = self._protocol
        if protocol is None or protocol.transport is None or protocol.transport.is_closing():
            protocol = await self._connect()
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        protocol.send(hiredis.pack_command(args))
        try:
            async with asyncio.timeout(self.timeout):
                return await future
        except TimeoutError:
            self._drop(protocol, rx.TimeoutError("Timeout reading from Redis"))
            raise rx.TimeoutError("Timeout reading from Redis") from None

    async def evalsha(self, sha: str, numkeys: int, *args: Any) -> Any:
        return await self.execute("EVALSHA", sha, numkeys, *args)

    async def _connect(self) -> _Protocol:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            protocol = self._protocol
            if protocol is not None and protocol.transport is not None and not protocol.transport.is_closing():
                return protocol
            loop = asyncio.get_running_loop()
            try:
                async with asyncio.timeout(self.connect_timeout):
                    _, protocol = await loop.create_connection(lambda: _Protocol(self), self.host, self.port)
            except (OSError, TimeoutError) as exc:
                raise rx.ConnectionError(f"cannot connect to Redis at {self.host}:{self.port}: "
                                         f"{type(exc).__name__}") from None
            self.connects += 1
            self._protocol = protocol
            # AUTH and SELECT go first on the new connection; their replies are awaited
            # here, so a wrong password surfaces as the caller's error.
            hello = []
            if self._auth:
                hello.append(("AUTH", *self._auth))
            if self.db:
                hello.append(("SELECT", self.db))
            futures = []
            for cmd in hello:
                future = loop.create_future()
                self._waiting.append(future)
                protocol.transport.write(hiredis.pack_command(cmd))  # type: ignore[union-attr]
                futures.append(future)
            try:
                async with asyncio.timeout(self.connect_timeout):
                    for future in futures:
                        await future
            except TimeoutError:
                self._drop(protocol, rx.TimeoutError("Timeout connecting to Redis"))
                raise rx.TimeoutError("Timeout connecting to Redis") from None
            except rx.ResponseError as exc:
                self._drop(protocol, rx.ConnectionError("Redis refused the connection"))
                raise rx.AuthenticationError(str(exc)) from None
            return protocol

    def _drop(self, protocol: _Protocol, error: Exception) -> None:
        """Close ``protocol``'s connection and fail what waits on it (once per connection)."""
        if self._protocol is not protocol:
            return
        self._protocol = None
        waiting, self._waiting = self._waiting, deque()
        for future in waiting:
            if not future.done():
                future.set_exception(error)
        if protocol.transport is not None:
            protocol.transport.close()

    async def aclose(self) -> None:
        if self._protocol is not None:
            self._drop(self._protocol, rx.ConnectionError("Redis lane closed"))


def for_client(client: Any) -> RedisLane | None:
    """A lane to the same server and database as the redis-py ``client``, or None where
    only redis-py applies (TLS, Unix socket, the in-process substitute)."""
    from redis.asyncio import Redis
    from redis.asyncio.connection import Connection

    if type(client) is not Redis:
        return None
    pool = client.connection_pool
    if pool.connection_class is not Connection:
        return None
    kw = pool.connection_kwargs
    if kw.get("protocol") not in (None, 2, "2"):
        return None  # RESP3 replies differ in shape from what callers expect of RESP2
    return RedisLane(host=kw.get("host", "localhost"), port=int(kw.get("port", 6379)), db=int(kw.get("db", 0) or 0),
                     username=kw.get("username"), password=kw.get("password"),
                     timeout=float(kw.get("socket_timeout") or 5.0),
                     connect_timeout=float(kw.get("socket_connect_timeout") or 3.0))
