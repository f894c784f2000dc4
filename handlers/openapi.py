"""The OpenAPI 3.1 document, generated from the route declarations.

Built from the same ``Endpoint`` records that enforce roles and parse input, so
the document cannot drift from what the server does. Each operation lists the
roles allowed (``x-roles``) and the error responses it can give.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from handlers.base import ENDPOINTS, Endpoint
from handlers.schemas import ErrorBody
from services.auth.roles import ROLE_LABELS

REF = "#/components/schemas/{model}"


def _schema(model: type[BaseModel], components: dict[str, Any], mode: str) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF, mode=mode)
    for name, sub in schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    name = model.__name__ if mode == "serialization" or model.__name__ not in components else model.__name__
    components.setdefault(name, schema)
    return {"$ref": REF.format(model=name)}


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        # Query strings carry one value per name: flatten Optional[...] to its inner type.
        options = [p for p in prop.get("anyOf", []) if p.get("type") != "null"]
        inner = dict(options[0]) if len(options) == 1 else {k: v for k, v in prop.items() if k not in ("title",)}
        for key in ("description", "default"):
            if key in prop and key not in inner:
                inner[key] = prop[key]
        inner.pop("title", None)
        params.append({"name": name, "in": "query", "required": name in required,
                       "schema": inner, **({"description": prop["description"]} if "description" in prop else {})})
    return params


def _operation(ep: Endpoint, components: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{ep.handler.__module__.split('.')[-1]}_{ep.handler.__name__}".strip("_"),
        "summary": ep.summary,
        "tags": [ep.tag],
        "x-roles": "public" if ep.roles is None else sorted(str(r) for r in ep.roles),
    }
    if ep.description:
        op["description"] = ep.description
    if ep.roles is not None:
        labels = "、".join(ROLE_LABELS[r] for r in sorted(ep.roles))
        op["description"] = (op.get("description", "") + f"\n\n可调用角色：{labels}").strip()
        op["security"] = [{"bearer": []}]
    params = [{"name": p, "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1, "maximum": 2_147_483_647}} for p in ep.path_params]
    if ep.query is not None:
        params += _query_params(ep.query)
    if ep.idempotent:
        params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                       "description": "客户端生成的唯一键（如 UUID）：同一个键重复提交只创建一次",
                       "schema": {"type": "string", "minLength": 8, "maxLength": 64,
                                  "pattern": "^[A-Za-z0-9_.:-]+$"}})
    if params:
        op["parameters"] = params
    if ep.body is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _schema(ep.body, components, "validation")}}}
    if ep.upload:
        op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}}}}}}
    responses: dict[str, Any] = {}
    if ep.status == 204:
        responses["204"] = {"description": "成功，无内容"}
    elif ep.response is not None:
        responses[str(ep.status)] = {"description": "成功", "content": {
            "application/json": {"schema": _schema(ep.response, components, "serialization")}}}
    else:
        responses[str(ep.status)] = {"description": "成功", "content": {ep.produces: {"schema": {
            "type": "string", "format": "binary"}}}}
    error_ref = _schema(ErrorBody, components, "serialization")
    codes = set(ep.errors) | {400}
    if ep.body is not None or ep.query is not None or ep.upload:
        codes |= {413, 422}
    if ep.roles is not None:
        codes |= {401, 403}
    if ep.path_params:
        codes |= {404}
    codes |= {429}
    for code in sorted(codes):
        responses[str(code)] = {"description": "错误（中文说明见 error.message）",
                                "content": {"application/json": {"schema": error_ref}}}
    op["responses"] = responses
    return op


def build_document(server_url: str = "/") -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for ep in ENDPOINTS:
        if not ep.in_openapi:
            continue
        paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(ep, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "小微企业服务专区 API", "version": "1.0.0",
                 "description": "办事服务专区、惠企政策精准推送、咨询和反馈平台的统一接口。"
                                "错误统一为 {\"error\": {\"code\", \"message\", \"details\"}}，message 为中文。"},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
