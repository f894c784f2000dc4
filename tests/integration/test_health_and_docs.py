from handlers.base import ENDPOINTS


async def test_healthz_says_the_process_is_up(client):
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert (await resp.json())["status"] == "ok"


async def test_readyz_checks_database_and_redis(client):
    resp = await client.get("/readyz")
    body = await resp.json()
    assert resp.status == 200, body
    assert body["checks"] == {"database": "ok", "redis": "ok"}


async def test_readyz_is_503_with_a_chinese_message_when_redis_is_gone(client, rt):
    real = rt.redis

    class Down:
        async def ping(self):
            raise ConnectionError("down")

    rt.redis = Down()
    try:
        resp = await client.get("/readyz")
    finally:
        rt.redis = real
    body = await resp.json()
    assert resp.status == 503
    assert body["error"]["message"] == "依赖服务不可用"
    assert body["error"]["details"]["redis"] == "unreachable"


async def test_metrics_are_exposed_for_prometheus(client):
    await client.get("/healthz")
    resp = await client.get("/metrics")
    text = await resp.text()
    assert resp.status == 200
    assert "http_requests_total" in text


async def test_openapi_document_describes_every_json_route(client):
    resp = await client.get("/api/openapi.json")
    doc = await resp.json()
    assert doc["openapi"].startswith("3.")
    declared = {(e.method.lower(), e.path) for e in ENDPOINTS if e.in_openapi}
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert declared == documented
    assert doc["paths"]["/api/v1/enterprises"]["post"]["x-roles"] == ["visitor"]
    assert doc["paths"]["/api/v1/service-items"]["get"]["x-roles"] == "public"


async def test_docs_page_is_served_in_chinese(client):
    resp = await client.get("/api/docs")
    assert resp.status == 200
    assert "小微企业服务专区 API" in await resp.text()


async def test_unknown_route_is_a_json_404_in_chinese(client):
    resp = await client.get("/api/v1/no-such-thing")
    body = await resp.json()
    assert resp.status == 404
    assert body["error"]["code"] == "not_found"
    assert body["error"]["message"] == "请求的地址不存在"


async def test_every_response_carries_a_request_id(client):
    resp = await client.get("/healthz", headers={"X-Request-Id": "abc123"})
    assert resp.headers["X-Request-Id"] == "abc123"
