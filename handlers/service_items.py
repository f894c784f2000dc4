from __future__ import annotations

from urllib.parse import quote

from aiohttp import web
from pydantic import BaseModel, Field

from handlers.base import Call, endpoint
from services.auth.roles import CATALOGUE_EDITORS, Role
from services.errors import PayloadTooLarge, ValidationFailed
from services.service_items import service as items
from services.service_items import tabular
from services.service_items.schemas import (DepartmentList, ImportReport, ServiceItemPage,
                                            ServiceItemQuery, ServiceItemRead, ServiceItemWrite)


class ExportQuery(BaseModel):
    department: str | None = Field(default=None, max_length=16)


@endpoint("GET", "/api/v1/service-items", roles=None, tag="办事服务专区",
          summary="搜索事项（大白话检索，支持同义词）", query=ServiceItemQuery, response=ServiceItemPage)
async def search(call: Call) -> dict:
    return await items.search(call.rt, query=call.query)


@endpoint("GET", "/api/v1/service-items/{id}", roles=None, tag="办事服务专区",
          summary="事项详情：要件、流程、时限、收费、办理地点", response=ServiceItemRead, errors=(404,))
async def read(call: Call) -> ServiceItemRead:
    return await items.get(item_id=call.path["id"])


@endpoint("GET", "/api/v1/departments", roles=None, tag="办事服务专区", summary="部门列表",
          response=DepartmentList)
async def departments(call: Call) -> DepartmentList:
    return await items.departments(call.rt)


@endpoint("POST", "/api/v1/service-items", roles=CATALOGUE_EDITORS, tag="事项管理", status=201,
          summary="新增事项", body=ServiceItemWrite, response=ServiceItemRead, errors=(409, 422))
async def create(call: Call) -> ServiceItemRead:
    return await items.create(call.rt, data=call.body, actor=call.user, ip=call.client_ip,
                              request_id=call.request_id)


@endpoint("PUT", "/api/v1/service-items/{id}", roles=CATALOGUE_EDITORS, tag="事项管理",
          summary="修改事项", body=ServiceItemWrite, response=ServiceItemRead, errors=(404, 409, 422))
async def update(call: Call) -> ServiceItemRead:
    return await items.update(call.rt, item_id=call.path["id"], data=call.body, actor=call.user,
                              ip=call.client_ip, request_id=call.request_id)


@endpoint("DELETE", "/api/v1/service-items/{id}", roles=CATALOGUE_EDITORS, tag="事项管理",
          summary="下架事项（保留历史）", status=204, errors=(404,))
async def retire(call: Call) -> None:
    await items.retire(call.rt, item_id=call.path["id"], actor=call.user, ip=call.client_ip,
                       request_id=call.request_id)


@endpoint("POST", "/api/v1/service-items/import", roles=CATALOGUE_EDITORS, tag="事项管理",
          summary="批量导入事项（CSV 或 XLSX，字段 file）；逐行报告被拒绝的行及原因",
          response=ImportReport, upload=True, errors=(413, 422))
async def import_(call: Call) -> ImportReport:
    limit = call.rt.settings.max_upload_bytes
    if not (call.request.content_type or "").startswith("multipart/"):
        raise ValidationFailed.field("file", "请以 multipart/form-data 上传文件（字段名 file）", code="no_file")
    try:
        filename, data = await _read_file_part(call.request, limit)
    except (PayloadTooLarge, ValidationFailed):
        raise
    except Exception:  # malformed multipart: aiohttp raises several kinds
        raise ValidationFailed.field("file", "上传内容无法解析，请重新选择文件上传", code="bad_multipart") from None
    return await tabular.import_items(call.rt, data=data, filename=filename,
                                      actor=call.user, ip=call.client_ip, request_id=call.request_id)


async def _read_file_part(request, limit: int) -> tuple[str, bytes]:
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            raise ValidationFailed.field("file", "没有收到文件（字段名 file）", code="no_file")
        if getattr(part, "name", None) == "file":
            break
    data = bytearray()
    while chunk := await part.read_chunk(65536):
        data.extend(chunk)
        if len(data) > limit:
            raise PayloadTooLarge(f"文件不能超过 {limit // 1_048_576} MB")
    return part.filename or "upload.csv", bytes(data)


@endpoint("GET", "/api/v1/service-items/export.xlsx", roles=CATALOGUE_EDITORS | {Role.POLICY_OFFICER},
          tag="事项管理", summary="导出事项目录（XLSX，与导入格式一致）", query=ExportQuery,
          produces="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
async def export(call: Call) -> web.Response:
    body = await tabular.export_xlsx(actor=call.user, department=call.query.department,
                                     ip=call.client_ip, request_id=call.request_id)
    name = quote("事项目录.xlsx")
    return web.Response(body=body, headers={
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Content-Disposition": f"attachment; filename=catalogue.xlsx; filename*=UTF-8''{name}"})
