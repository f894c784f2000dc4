"""The WeChat gateway's HTTP/1.1 client (``wechat/http_lane.py``) against servers that
answer the ways real ones do: kept alive or not, chunked, slow, closed while idle,
closed mid-answer, or not HTTP at all. The gateway's own behaviour over it is
``test_wechat_gateway``'s, which runs every test on both transports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from wechat.http_lane import HttpLane, HttpLaneError, target


@pytest.fixture
async def echo() -> AsyncIterator[TestServer]:
    """aiohttp's server: JSON echo, a chunked answer, a slow one, one that closes."""

    async def post(request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response({"got": body.decode(), "q": request.query.get("access_token"),
                                  "path": request.path})

    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for part in ("{\"parts\": [", "\"一\", ", "\"二\"", "]}"):
            await resp.write(part.encode())
        await resp.write_eof()
        return resp

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("s", "1")))
        return web.json_response({"late": True})

    async def closing(request: web.Request) -> web.Response:
        return web.json_response({"bye": True}, headers={"Connection": "close"})

    app = web.Application()
    app.router.add_post("/wxa/echo", post)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/slow", slow)
    app.router.add_get("/closing", closing)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def raw_server(answer: Callable[[asyncio.StreamReader, asyncio.StreamWriter], object]):
    """A TCP server whose every connection is handled by ``answer``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await answer(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + (await reader.readexactly(length) if length else b"")


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"


async def test_json_round_trip_on_one_kept_alive_connection(echo):
    lane = HttpLane(str(echo.make_url("")))
    try:
        for i in range(20):
            status, body = await lane.request("POST", target(echo.make_url("/wxa/echo"), {"access_token": "t&k"}),
                                              f"{{\"n\": {i}, \"text\": \"企业\"}}".encode())
            assert status == 200
            assert body.decode() == f'{{"got": "{{\\"n\\": {i}, \\"text\\": \\"\\u4f01\\u4e1a\\"}}", ' \
                                    f'"q": "t&k", "path": "/wxa/echo"}}'
        assert lane.connects == 1
    finally:
        await lane.close()


async def test_concurrent_requests_stay_within_the_limit_and_get_their_own_answers(echo):
    lane = HttpLane(str(echo.make_url("")), limit=4)
    try:
        answers = await asyncio.gather(*(lane.request("POST", "/wxa/echo", str(i).encode()) for i in range(40)))
        assert [a[1] for a in answers] == [f'{{"got": "{i}", "q": null, "path": "/wxa/echo"}}'.encode()
                                          for i in range(40)]
        assert lane.connects <= 4
    finally:
        await lane.close()


async def test_the_timeout_counts_the_wait_for_a_free_connection(echo):
    lane = HttpLane(str(echo.make_url("")), limit=1)
    try:
        busy = asyncio.create_task(lane.request("GET", "/slow?s=0.5"))
        await asyncio.sleep(0.05)
        with pytest.raises(TimeoutError):
            await lane.request("GET", "/slow?s=0", timeout=0.1)
        assert await busy == (200, b'{"late": true}')
    finally:
        await lane.close()


async def test_a_chunked_answer_is_put_together(echo):
    lane = HttpLane(str(echo.make_url("")))
    try:
        status, body = await lane.request("GET", "/chunked")
        assert (status, body.decode()) == (200, '{"parts": ["一", "二"]}')
        assert (await lane.request("GET", "/chunked"))[1] == body and lane.connects == 1
    finally:
        await lane.close()


async def test_an_answer_with_connection_close_is_not_reused(echo):
    lane = HttpLane(str(echo.make_url("")))
    try:
        for _ in range(3):
            assert await lane.request("GET", "/closing") == (200, b'{"bye": true}')
        assert lane.connects == 3
    finally:
        await lane.close()


async def test_too_slow_is_a_timeout_and_the_next_request_is_answered(echo):
    lane = HttpLane(str(echo.make_url("")))
    try:
        with pytest.raises(TimeoutError):
            await lane.request("GET", "/slow?s=1", timeout=0.2)
        assert await lane.request("GET", "/slow?s=0") == (200, b'{"late": true}')
        assert lane.connects == 2  # the timed-out connection is never reused
    finally:
        await lane.close()


async def test_a_connection_the_server_closed_while_idle_is_replaced_without_an_error():
    served = []

    async def once_then_close(reader, writer):
        # answers one request as kept alive, then closes after a moment (an idle timeout)
        served.append(await read_request(reader))
        writer.write(OK)
        await writer.drain()
        await asyncio.sleep(0.05)

    server, port = await raw_server(once_then_close)
    lane = HttpLane(f"http://127.0.0.1:{port}")
    try:
        assert await lane.request("POST", "/a", b"{}") == (200, b'{"ok":true}')
        await asyncio.sleep(0.2)
        assert await lane.request("POST", "/a", b"{}") == (200, b'{"ok":true}')
        assert lane.connects == 2 and len(served) == 2
        assert served[0].startswith(b"POST /a HTTP/1.1\r\nHost: 127.0.0.1:")
        assert b"Content-Length: 2\r\n" in served[0] and served[0].endswith(b"\r\n\r\n{}")
    finally:
        await lane.close()
        server.close()


async def test_a_connection_closed_in_the_middle_of_an_answer_is_an_error_not_a_retry():
    calls = []

    async def half(reader, writer):
        calls.append(await read_request(reader))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"ok\":")
        await writer.drain()

    server, port = await raw_server(half)
    lane = HttpLane(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(HttpLaneError):
            await lane.request("POST", "/a", b"{}")
        assert len(calls) == 1
    finally:
        await lane.close()
        server.close()


async def test_an_answer_that_is_not_http_is_an_error():
    async def garbage(reader, writer):
        await read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.5)

    server, port = await raw_server(garbage)
    lane = HttpLane(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(HttpLaneError) as err:
            await lane.request("GET", "/")
        assert "127.0.0.1" not in str(err.value)
    finally:
        await lane.close()
        server.close()


async def test_nobody_listening_is_a_connection_error():
    with socket_port() as port:
        lane = HttpLane(f"http://127.0.0.1:{port}")
        with pytest.raises(HttpLaneError):
            await lane.request("GET", "/")


def test_only_http_and_https_origins():
    with pytest.raises(ValueError):
        HttpLane("ftp://example.org")
    https = HttpLane("https://api.weixin.qq.com")
    assert (https.host, https.port, https.tls is not None) == ("api.weixin.qq.com", 443, True)
    assert "Host: api.weixin.qq.com\r\n" in https._host_line
    assert target("https://api.weixin.qq.com/wxa/msg_sec_check", {"access_token": "a b/+"}) \
        == "/wxa/msg_sec_check?access_token=a+b/%2B"


class socket_port:
    """A local port with nothing listening on it."""

    def __enter__(self) -> int:
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        return self.port

    def __exit__(self, *exc: object) -> None:
        return None
