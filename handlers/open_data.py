"""公开数据: weekly demand counts without login, after disclosure control; every
download audited (anonymous callers: the IP only)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from handlers.base import Call, endpoint
from services import audit
from services.insights import open_data

TAG = "公开数据"


class WeekQuery(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    week: str | None = Field(default=None, max_length=8, pattern=r"^\d{4}-W\d{2}$",
                             description="ISO 周，如 2025-W23；默认上一个完整周")


class DemandRow(BaseModel):
    topic: str
    department: str
    industry_group: str
    size_class: str
    region_code: str
    cases: int | None = Field(description="件数；被抑制时为 null")
    enterprises: int | None = Field(description="不同企业数；被抑制时为 null")
    suppressed: bool


class Dictionary(BaseModel):
    title: str
    schema_version: int
    disclosure: dict[str, Any]
    fields: dict[str, str]
    codes: dict[str, dict[str, str]]
    formats: dict[str, str]


class DemandWeek(BaseModel):
    week: str
    start: str
    end: str
    generated_at: str
    k: int = Field(description="抑制阈值：不足 k 家企业的格不公布")
    rows: list[DemandRow] = Field(description="五维明细格")
    totals: list[DemandRow] = Field(description="合计：维度为 * 表示在该维度上合计；全为 * 为总计")
    dictionary: Dictionary


async def _audit(call: Call, fmt: str, week: str, rows: int) -> None:
    p = call.principal
    await audit.record("open_data.export", actor=p, ip=call.client_ip, request_id=call.request_id,
                       target_type="open_data", target_id=f"demand:{week}",
                       details={"format": fmt, "week": week, "rows": rows})


@endpoint("GET", "/api/v1/open-data/demand.json", roles=None, tag=TAG, query=WeekQuery, response=DemandWeek,
          summary="企业诉求周度统计（JSON，含数据字典，去标识化）", errors=(422,))
async def demand_json(call: Call) -> dict:
    doc = await open_data.demand(call.rt, open_data.parse_week(call.query.week))
    await _audit(call, "json", doc["week"], len(doc["rows"]))
    return doc


@endpoint("GET", "/api/v1/open-data/demand.csv", roles=None, tag=TAG, query=WeekQuery, produces="text/csv",
          summary="企业诉求周度统计（CSV，UTF-8 带 BOM；字典见 dictionary.json）", errors=(422,))
async def demand_csv(call: Call) -> web.Response:
    doc = await open_data.demand(call.rt, open_data.parse_week(call.query.week))
    await _audit(call, "csv", doc["week"], len(doc["rows"]))
    return web.Response(body=open_data.to_csv(doc), headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="demand-{doc["week"]}.csv"'})


@endpoint("GET", "/api/v1/open-data/dictionary.json", roles=None, tag=TAG, response=Dictionary,
          summary="公开数据的数据字典（字段含义与编码表）")
async def dictionary(call: Call) -> dict:
    return await open_data.dictionary()

