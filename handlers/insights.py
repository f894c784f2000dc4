"""需求洞察: the dashboard's views, the emerging-topic "add to taxonomy" action and the
XLSX export (after disclosure control, audited).

Policy officers see everything; a supervisor (部门主管) sees their own department —
the department filter is forced to it (a supervisor without a department sees all,
as on the supervision board). Statistical tests are stated in each response.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from urllib.parse import quote

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from handlers.base import Call, endpoint
from services import audit
from services.auth.roles import Role
from services.insights import export as X
from services.insights import views as V

TAG = "需求洞察"
READERS = frozenset({Role.POLICY_OFFICER, Role.SUPERVISOR})
OFFICERS = frozenset({Role.POLICY_OFFICER})
SizeClass = Literal["micro", "small", "medium", "large"]


class InsightQuery(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    since: date | None = Field(default=None, description="起始日（默认截止日前 12 周）")
    until: date | None = Field(default=None, description="截止日（默认今天，不晚于今天）")
    department: str | None = Field(default=None, max_length=16, description="部门编码（部门主管固定为本部门）")
    region_code: str | None = Field(default=None, pattern=r"^\d{6}$", description="区县代码")
    industry_group: str | None = Field(default=None, max_length=32, description="行业组")
    size_class: SizeClass | None = Field(default=None, description="企业规模")


class InsightTrendsQuery(InsightQuery):
    dimension: Literal["topic", "department", "item"] = Field(default="topic", description="按主题、部门或事项分组")


class InsightBundleQuery(InsightQuery):
    min_enterprises: int = Field(default=V.DEFAULT_MIN_ENTERPRISES, ge=2, le=10_000, description="至少多少家企业一起需要")
    window_days: int = Field(default=V.DEFAULT_WINDOW_DAYS, ge=1, le=90, description="同一企业先后需要的天数窗口")


class InsightExportQuery(InsightTrendsQuery):
    view: Literal["trends", "rising", "friction", "departments", "policy-reach", "bundles"] = Field(
        description="导出的视图（新兴主题含问题文字，不可导出）")


async def _filters(call: Call, **kw: Any) -> V.Filters:
    q = call.query
    forced = call.user.department_id if call.user.role == Role.SUPERVISOR else None
    return await V.resolve(since=q.since, until=q.until, department=q.department, region_code=q.region_code,
                           industry_group=q.industry_group, size_class=q.size_class, forced_department=forced, **kw)


class InsightApplied(BaseModel):
    since: str
    until: str
    department_id: int | None
    region_code: str | None
    industry_group: str | None
    size_class: str | None


# ---------------------------------------------------------------- trends

class InsightSeries(BaseModel):
    key: str
    label: str
    topic_code: str = Field(description="按主题分组时的主题编码，其他分组为空")
    cases: list[int] = Field(description="与 weeks 一一对应的件数")
    total: int
    wow: list[float | None] = Field(description="环比（0.25 = +25%）；首周或上周为 0 时为空")


class InsightTrends(BaseModel):
    since: date
    until: date
    dimension: str
    weeks: list[date] = Field(description="各周的周一")
    series: list[InsightSeries]
    total: list[int]
    total_wow: list[float | None]
    filters: InsightApplied


@endpoint("GET", "/api/v1/insights/trends", roles=READERS, tag=TAG, query=InsightTrendsQuery, response=InsightTrends,
          errors=(422,), summary="趋势：每周件数与环比，按主题、部门或事项（前 10 组，其余合为“其他”）")
async def trends(call: Call) -> dict:
    return await V.trends(call.rt, await _filters(call), call.query.dimension)


# ---------------------------------------------------------------- rising topics

class InsightRisingTopic(BaseModel):
    topic_code: str
    label: str
    this_week: int
    baseline_mean: float
    baseline_weeks: int
    ratio: float = Field(description="本周件数 / max(前 8 周周均, 0.5)")
    z: float
    p_value: float = Field(description="单侧泊松检验 p 值")
    rising: bool = Field(description="显著上升")


class InsightRising(BaseModel):
    week_start: date
    week_end: date
    baseline_start: date
    baseline_weeks: int
    min_count: int
    alpha: float
    test: str
    topics: list[InsightRisingTopic]
    filters: InsightApplied


@endpoint("GET", "/api/v1/insights/rising-topics", roles=READERS, tag=TAG, query=InsightQuery, response=InsightRising,
          errors=(422,), summary="上升主题：截止日前 7 天与前 8 周周均比较（泊松检验，Bonferroni 校正），显著的在前")
async def rising(call: Call) -> dict:
    return await V.rising(call.rt, await _filters(call))


# ---------------------------------------------------------------- emerging topics

class InsightCluster(BaseModel):
    n: int
    terms: list[str]
    size: int
    enterprises: int
    examples: list[str] = Field(description="至多 3 个去标识化的示例问题")
    cohesion: float
    k: int
    silhouette: float


class InsightEmerging(BaseModel):
    questions: int = Field(description="参与聚类的未归类问题数")
    questions_now: int = Field(description="当前筛选范围内最近的未归类问题数")
    new_questions: int = Field(description="聚类计算之后新到的未归类问题数（将在后台重算时纳入）")
    generated_at: datetime | None = Field(description="所示聚类的计算时间；尚无聚类时为空")
    stale: bool = Field(description="有新问题尚未纳入：显示上次的聚类，后台正在或即将重算")
    pending: bool = Field(description="该筛选条件下尚无聚类：已在后台开始首次计算，稍后刷新")
    refresh_seconds: int = Field(description="同一筛选条件的聚类最多每隔多少秒重算一次")
    window_days: int
    limit: int
    method: str
    clusters: list[InsightCluster]
    filters: InsightApplied


@endpoint("GET", "/api/v1/insights/emerging-topics", roles=READERS, tag=TAG, query=InsightQuery, response=InsightEmerging,
          errors=(422,), summary="新兴主题：近 90 天未归入任何主题的问题聚类（jieba + TF-IDF + k-means）")
async def emerging(call: Call) -> dict:
    return await V.emerging(call.rt, await _filters(call, default_days=V.RAW_DAYS))


class InsightAdoptBody(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$", description="新主题编码（小写字母、数字、下划线）")
    name: str = Field(min_length=1, max_length=32, description="主题名称")
    keywords: list[str] = Field(min_length=1, max_length=12, description="关键词（默认取聚类的高频词）")
    department: str | None = Field(default=None, max_length=16, description="默认承办部门编码")


class InsightTopicRead(BaseModel):
    id: int
    code: str
    name: str
    keywords: list[str]
    department_id: int | None


@endpoint("POST", "/api/v1/insights/emerging-topics/adopt", roles=OFFICERS, tag=TAG, body=InsightAdoptBody,
          response=InsightTopicRead, status=201, errors=(409, 422),
          summary="加入主题目录：以聚类的高频词为关键词新建主题，此后的问题可自动归入")
async def adopt(call: Call) -> dict:
    b = call.body
    keywords = list(dict.fromkeys(k.strip()[:16] for k in b.keywords if k.strip()))
    if not keywords:
        from services.errors import ValidationFailed
        raise ValidationFailed.field("keywords", "至少需要一个关键词", code="keywords_required")
    topic = await V.adopt(code=b.code, name=b.name, keywords=keywords, department=b.department)
    await audit.record("insights.topic_adopted", actor=call.user, ip=call.client_ip, request_id=call.request_id,
                       target_type="topic", target_id=topic.id, details={"code": topic.code, "keywords": keywords})
    return {"id": topic.id, "code": topic.code, "name": topic.name, "keywords": topic.keywords,
            "department_id": topic.department_id}


# ---------------------------------------------------------------- friction

class InsightElementCount(BaseModel):
    element: str
    count: int


class InsightFrictionItem(BaseModel):
    service_item_id: int
    label: str
    department: str
    score: float = Field(description="摩擦指数 0–100")
    cases: int
    audience: int
    cases_per_1000: float
    repeat_share: float
    overdue_share: float
    close_hours: float
    close_p50_hours: float | None
    poor_share: float
    rated: int
    element_complaints_per_100: float
    elements: list[InsightElementCount] = Field(description="被投诉或差评的要素（材料、环节、时限、收费）")
    components: dict[str, float] = Field(description="各分项归一化值（0 最好，1 最差）")
    drivers: list[str] = Field(description="推高指数的分项，最差的在前")


class InsightFriction(BaseModel):
    audience: int
    audience_note: str
    components: list[str]
    method: str
    items: list[InsightFrictionItem]
    filters: InsightApplied


@endpoint("GET", "/api/v1/insights/friction", roles=READERS, tag=TAG, query=InsightQuery, response=InsightFriction,
          errors=(422,), summary="事项摩擦指数：每千户件数、重复咨询、办结时长、超期、差评与要素投诉的综合排名")
async def friction(call: Call) -> dict:
    return await V.friction(call.rt, await _filters(call))


# ---------------------------------------------------------------- departments

class InsightDepartmentRow(BaseModel):
    department_id: int
    code: str
    label: str
    cases: int
    answered: int
    on_time_rate: float
    overdue: int
    rated: int
    rating_mean: float | None
    satisfied_share: float = Field(description="4–5 分占比")
    rectifications_opened: int
    rectifications_closed: int
    callbacks_due: int
    callbacks_done: int
    callback_rate: float


class InsightDepartments(BaseModel):
    departments: list[InsightDepartmentRow]
    filters: InsightApplied


@endpoint("GET", "/api/v1/insights/departments", roles=READERS, tag=TAG, query=InsightQuery, response=InsightDepartments,
          errors=(422,), summary="部门绩效：按时答复率、满意度、整改、回访完成率（部门主管只看本部门）")
async def departments(call: Call) -> dict:
    return await V.departments(call.rt, await _filters(call))


# ---------------------------------------------------------------- policy reach

class InsightFunnel(BaseModel):
    matched: int
    delivered: int
    read: int
    consented: int
    followups: int
    delivered_rate: float
    read_rate: float
    consented_rate: float


class InsightFunnelRow(InsightFunnel):
    key: str
    label: str


class InsightReach(BaseModel):
    total: InsightFunnel
    by_size_class: list[InsightFunnelRow]
    by_industry_group: list[InsightFunnelRow]
    by_policy: list[InsightFunnelRow]
    note: str
    filters: InsightApplied


@endpoint("GET", "/api/v1/insights/policy-reach", roles=READERS, tag=TAG, query=InsightQuery, response=InsightReach,
          errors=(422,), summary="政策触达：匹配、送达、阅读、免申即享确认、追问，按规模与行业")
async def policy_reach(call: Call) -> dict:
    return await V.policy_reach(call.rt, await _filters(call))


# ---------------------------------------------------------------- bundles

class InsightBundle(BaseModel):
    items: list[int]
    labels: list[str]
    department_names: list[str]
    size: int
    enterprises: int = Field(description="在窗口内同时需要这些事项的企业数")
    item_enterprises: list[int]
    support: float
    lift: float
    departments: int


class InsightBundles(BaseModel):
    enterprises: int
    window_days: int
    min_enterprises: int
    method: str
    bundles: list[InsightBundle]
    filters: InsightApplied


@endpoint("GET", "/api/v1/insights/bundles", roles=READERS, tag=TAG, query=InsightBundleQuery, response=InsightBundles,
          errors=(422,), summary="一口受理候选：同一企业 30 天内跨部门需要的事项组合，按支持度与提升度排序")
async def bundles(call: Call) -> dict:
    return await V.bundles(call.rt, await _filters(call, default_days=V.RAW_DAYS),
                           min_enterprises=call.query.min_enterprises, window_days=call.query.window_days)


# ---------------------------------------------------------------- export

@endpoint("GET", "/api/v1/insights/export.xlsx", roles=READERS, tag=TAG, query=InsightExportQuery, errors=(422,),
          produces="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
          summary="导出当前视图（XLSX，经披露控制：不足 5 家企业的行不公布，不含文字内容；留审计记录）")
async def export(call: Call) -> web.Response:
    view = call.query.view
    f = await _filters(call, default_days=V.RAW_DAYS if view == "bundles" else 84)
    tables = await X.build(call.rt, view, f, dimension=call.query.dimension)
    body, rows, hidden = X.workbook(view, tables, f)
    await audit.record("insights.export", actor=call.user, ip=call.client_ip, request_id=call.request_id,
                       target_type="insights", target_id=view,
                       details={"view": view, "rows": rows, "suppressed": hidden, **f.describe()})
    name = quote(f"需求洞察-{X.VIEWS[view]}-{f.since}-{f.until}.xlsx")
    return web.Response(body=body, headers={
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Content-Disposition": f"attachment; filename=insights-{view}.xlsx; filename*=UTF-8''{name}"})
