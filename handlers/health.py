from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from tortoise import connections

from handlers.base import Call, endpoint
from handlers.schemas import Health, Hello
from services.errors import Unavailable


@endpoint("GET", "/healthz", roles=None, summary="进程存活", tag="运维", response=Health)
async def healthz(call: Call) -> Health:
    return Health(status="ok")


@endpoint("GET", "/readyz", roles=None, summary="依赖就绪（数据库与 Redis）", tag="运维",
          response=Health, errors=(503,))
async def readyz(call: Call) -> Health:
    checks = {}
    try:
        await connections.get("default").execute_query("SELECT 1")
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "unreachable"
    try:
        await call.rt.redis.ping()
        checks["redis"] = "ok"
    except Exception:
        checks["redis"] = "unreachable"
    if any(v != "ok" for v in checks.values()):
        raise Unavailable("依赖服务不可用", details=checks)
    return Health(status="ready", checks=checks)


@endpoint("GET", "/metrics", roles=None, summary="Prometheus 指标", tag="运维",
          produces="text/plain", in_openapi=False)
async def metrics(call: Call) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


@endpoint("GET", "/api/v1/hello", roles=None, summary="最小 JSON 路由（基准测试的参照上限）",
          tag="运维", response=Hello)
async def hello(call: Call) -> Hello:
    return Hello(message="你好")
