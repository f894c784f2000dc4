"""How a route is declared: method, path, who may call it, and its schemas.

Every handler is wrapped by :func:`endpoint`, which

* authenticates the caller (a Bearer token looked up in Redis) and refuses roles
  the route does not list — so no route can forget to say who may call it;
* parses path, query and JSON body into pydantic models, turning failures into a
  422 with Chinese messages per field;
* renders pydantic results with orjson.

The same declarations feed the OpenAPI document and the route × role test matrix.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from aiohttp import web
from pydantic import BaseModel, ValidationError

from handlers.appkeys import PRINCIPAL, REQUEST_ID, RUNTIME
from services.auth import sessions
from services.auth.principal import Principal
from services.auth.roles import Role
from services.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from services.runtime import Runtime
from services.validation import field_errors

log = structlog.get_logger(__name__)
MAX_INT_ID = 2_147_483_647
_PARAM = re.compile(r"{(\w+)}")


@dataclass
class Endpoint:
    method: str
    path: str  # OpenAPI template, e.g. /api/v1/service-items/{id}
    roles: frozenset[Role] | None  # None: anyone, logged in or not
    summary: str
    tag: str
    handler: Callable[["Call"], Awaitable[Any]]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    produces: str = "application/json"
    upload: bool = False
    in_openapi: bool = True
    description: str = ""
    path_params: tuple[str, ...] = field(default_factory=tuple)
    #: Accepts an ``Idempotency-Key`` header (declared in the OpenAPI document).
    idempotent: bool = False
    #: The per-user hourly bucket the session lookup counts this route's requests in.
    counts: sessions.Count | None = None

    @property
    def aiohttp_path(self) -> str:
        # Integer ids only: anything else is "no such route", answered as a JSON 404.
        return _PARAM.sub(lambda m: "{%s:\\d{1,18}}" % m.group(1), self.path)


ENDPOINTS: list[Endpoint] = []


@dataclass
class Call:
    """What a handler gets: the caller, the parsed input and the runtime."""

    request: web.Request
    principal: Principal | None
    rt: Runtime
    path: dict[str, int]
    query: Any = None
    body: Any = None
    #: This request's count in the route's per-user window (``endpoint(counts=...)``).
    counted: sessions.Counted | None = None

    @property
    def user(self) -> Principal:
        assert self.principal is not None  # guaranteed by the role check
        return self.principal

    @property
    def client_ip(self) -> str:
        return self.request.remote or ""

    @property
    def request_id(self) -> str:
        return self.request.get(REQUEST_ID, "")


def endpoint(method: str, path: str, *, roles: Iterable[Role] | None, summary: str, tag: str,
             body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
             response: type[BaseModel] | None = None, status: int = 200,
             errors: Iterable[int] = (), produces: str = "application/json",
             upload: bool = False, in_openapi: bool = True, description: str = "",
             idempotent: bool = False, counts: str | None = None):
    """Declare a route. ``roles=None`` means public; otherwise the set of roles allowed.

    ``counts``: a per-user hourly rate bucket. The session lookup counts the request in
    it in the same Redis round trip (callers of the allowed roles only); the handler
    checks ``call.counted`` against its limit and marks it used, and a request that
    never gets that far (refused input, an idempotent replay) is taken back, so the
    count is what a separate INCR at the limit check would have made it."""

    def deco(fn: Callable[[Call], Awaitable[Any]]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        ep = Endpoint(method=method, path=path, roles=None if roles is None else frozenset(roles),
                      summary=summary, tag=tag, handler=fn, body=body, query=query,
                      response=response, status=status, errors=tuple(errors), produces=produces,
                      upload=upload, in_openapi=in_openapi, description=description or (fn.__doc__ or "").strip(),
                      path_params=tuple(_PARAM.findall(path)), idempotent=idempotent,
                      counts=sessions.Count(counts, frozenset(roles or ())) if counts else None)

        async def handler(request: web.Request) -> web.StreamResponse:
            rt = request.app[RUNTIME]
            principal = await authenticate(request, rt, ep.counts)
            counted = None
            if principal is not None and principal.rate_count is not None:
                counted = sessions.Counted(principal.rate_count)
            try:
                if ep.roles is not None:
                    if principal is None:
                        raise NotAuthenticated()
                    if principal.role not in ep.roles:
                        raise PermissionDenied()
                call = Call(request=request, principal=principal, rt=rt, path=_path_ints(request, ep),
                            counted=counted)
                if ep.query is not None:
                    call.query = _validate(ep.query, {k: request.query.getone(k) for k in request.query})
                if ep.body is not None:
                    call.body = _validate(ep.body, await _json_body(request))
                result = await fn(call)
            finally:
                if counted is not None and not counted.used:
                    await _uncount(rt, principal)
            return render(result, ep.status)

        handler.__endpoint__ = ep  # type: ignore[attr-defined]
        ep.wrapped = handler  # type: ignore[attr-defined]
        ENDPOINTS.append(ep)
        return handler

    return deco


async def _uncount(rt: Runtime, principal: Principal) -> None:
    """Take back an unused count without hiding the answer: a Redis error here must not
    turn the request's own 4xx into a 500 (the window then counts one too many)."""
    try:
        await sessions.uncount(rt, principal)
    except Exception:  # noqa: BLE001
        log.warning("rate_uncount_failed", user_id=principal.user_id, exc_info=True)


async def authenticate(request: web.Request, rt: Runtime, count: sessions.Count | None = None
                       ) -> Principal | None:
    if PRINCIPAL in request:
        return request[PRINCIPAL]
    header = request.headers.get("Authorization", "")
    principal = None
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("登录凭证格式不正确")
        principal = await sessions.resolve(rt, token.strip(), count)
        if principal is None:
            raise NotAuthenticated("登录已过期，请重新登录")
    request[PRINCIPAL] = principal
    return principal


def _path_ints(request: web.Request, ep: Endpoint) -> dict[str, int]:
    out: dict[str, int] = {}
    for name in ep.path_params:
        value = int(request.match_info[name])
        if value > MAX_INT_ID:
            raise NotFound()
        out[name] = value
    return out


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        raise ValidationFailed("请求体不能为空，应为 JSON 对象", code="invalid_json")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ValidationFailed("请求体不是合法的 JSON", code="invalid_json") from None


def _validate(model: type[BaseModel], data: Any) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(details=field_errors(exc)) from None


def render(result: Any, status: int = 200) -> web.StreamResponse:
    if isinstance(result, web.StreamResponse):
        return result
    if result is None:
        return web.Response(status=204)
    if isinstance(result, BaseModel):
        payload = orjson.dumps(result.model_dump(mode="json"))
    else:
        payload = orjson.dumps(result)
    return web.Response(body=payload, status=status, content_type="application/json")
