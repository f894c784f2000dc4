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
without an answer within ``timeout`` fails it, and every command behind it, with
``redis.exceptions.TimeoutError`` and drops the connection (replies to it could
otherwise arrive arbitrarily late); an error reply
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
            self.lane._due.popleft()
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
        #: when each command in ``_waiting`` must have its reply (event loop time), in step with it
        self._due: deque[float] = deque()
        #: the one timer that checks the commands' times (see :meth:`_queue`), and when it fires
        self._watcher: asyncio.TimerHandle | None = None
        self._watch_at = 0.0
        #: connections opened since start (for tests and the metrics of a long-running process)
        self.connects = 0

    async def execute(self, *args: Any) -> Any:
        """Send one command and return its reply as redis-py would (bytes, not decoded)."""
        protocol = self._protocol
        if protocol is None or protocol.transport is None or protocol.transport.is_closing():
            protocol = await self._connect()
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue(future, loop.time() + self.timeout)
        protocol.send(hiredis.pack_command(args))
        return await future

    def _queue(self, future: asyncio.Future, due: float) -> None:
        """Line ``future`` up for the next reply, to have it by ``due``.

        One timer watches the whole line instead of a timeout per command: with an
        ``asyncio.timeout`` each, a command cost the client 9.8–10.0 µs of CPU, with the
        one timer 5.2 (16 concurrent callers, alternating runs against the same Redis):
        replies come in order, so while the oldest command is within its time every
        later one with the same timeout is too, and when a command is past its time the
        connection is stuck and everything in line fails with ``TimeoutError``. The timer
        fires about once per ``timeout`` under steady traffic."""
        self._waiting.append(future)
        self._due.append(due)
        if self._watcher is None or due < self._watch_at:  # earlier only when the timeouts differ
            if self._watcher is not None:
                self._watcher.cancel()
            self._watch_at = due
            self._watcher = asyncio.get_running_loop().call_at(due, self._watch)

    def _watch(self) -> None:
        self._watcher = None
        if not self._due or self._protocol is None:
            return
        loop = asyncio.get_running_loop()
        earliest = min(self._due)  # the line's head, unless a command with a shorter timeout came later
        if loop.time() >= earliest:
            self._drop(self._protocol, rx.TimeoutError("Timeout reading from Redis"))
        else:
            self._watch_at = earliest
            self._watcher = loop.call_at(earliest, self._watch)

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
                self._queue(future, loop.time() + self.connect_timeout)
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
        waiting, self._waiting, self._due = self._waiting, deque(), deque()
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
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
