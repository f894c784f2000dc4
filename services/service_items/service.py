"""The service zone's catalogue: search, read, and staff maintenance.

Reads are served from a per-process :class:`Catalogue` snapshot (search index plus
pre-rendered summaries), kept fresh by :mod:`services.snapshots`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from models import Department, ServiceItem
from services import audit
from services.auth.principal import Principal
from services.errors import Conflict, NotFound, ValidationFailed
from services.runtime import Runtime
from services.service_items import text
from services.service_items.schemas import (STAGE_LABELS, DepartmentList, DepartmentRead,
                                            ServiceItemQuery, ServiceItemRead,
                                            ServiceItemSummary, ServiceItemWrite)
from services.service_items.search import Doc, SearchIndex
from services.snapshots import VersionedSnapshot



RESULT_CACHE_SIZE = 4096


@dataclass
class Catalogue:
    version: str
    index: SearchIndex
    #: Summaries already in JSON form: a page is assembled without re-validating.
    summaries: dict[int, dict]
    departments: list[DepartmentRead]
    #: (query, department, stage) -> (ranked ids, query terms). Owners repeat the same
    #: few searches, so ranking is done once per snapshot; dropped with the snapshot.
    results: dict[tuple, tuple[list[int], list[str]]] = field(default_factory=dict)


def _department_read(d: Department) -> DepartmentRead:
    return DepartmentRead(code=d.code, name=d.name, short_name=d.short_name)


def _summary(item: ServiceItem, dept: DepartmentRead) -> ServiceItemSummary:
    return ServiceItemSummary(
        id=item.id, code=item.code, name=item.name, item_type=item.item_type, department=dept,
        stage=item.stage, stage_label=STAGE_LABELS.get(item.stage, item.stage),
        statutory_days=item.statutory_days, committed_days=item.committed_days,
        online_available=item.online_available, summary=item.summary)


def _doc(item: ServiceItem, dept: Department) -> Doc:
    return Doc(id=item.id, department=dept.code, stage=item.stage,
               order=(dept.sort_order, dept.id, item.id),
               fields={"name": item.name,
                       "keywords": " ".join(item.keywords or []),
                       "summary": item.summary,
                       "department": f"{dept.name} {dept.short_name}",
                       "materials": " ".join(m.get("name", "") for m in item.materials or []),
                       "faq": " ".join(f.get("q", "") for f in item.faq or [])})


async def _load(version: str) -> Catalogue:
    departments = {d.id: d for d in await Department.all()}
    items = await ServiceItem.filter(is_active=True)
    dept_reads = {i: _department_read(d) for i, d in departments.items()}
    docs = [_doc(it, departments[it.department_id]) for it in items]
    # Tokenizing the catalogue is CPU work: keep it off the event loop.
    index = await asyncio.to_thread(SearchIndex.build, docs, text.tokens, text.bigrams)
    return Catalogue(version=version, index=index,
                     summaries={it.id: _summary(it, dept_reads[it.department_id]).model_dump(mode="json")
                                for it in items},
                     departments=[dept_reads[k] for k in sorted(
                         departments, key=lambda k: (departments[k].sort_order, k))])


def cache(rt: Runtime) -> VersionedSnapshot[Catalogue]:
    return rt.held("catalogue", lambda: VersionedSnapshot(lambda k: k.catalogue_version(), _load))


async def bump_version(rt: Runtime) -> None:
    await cache(rt).bump(rt)


async def search(rt: Runtime, *, query: ServiceItemQuery) -> dict:
    """A page of ranked results, shaped as ``ServiceItemPage`` (returned as plain JSON data
    because the summaries were validated when the snapshot was built)."""
    cat = await cache(rt).get(rt)
    raw = (query.q or "").strip()
    key = (raw, query.department, query.stage)
    hit = cat.results.get(key)
    if hit is None:
        weights = text.expand(text.tokens(raw)) if raw else {}
        ids = cat.index.search(weights, raw, department=query.department, stage=query.stage)
        if len(cat.results) >= RESULT_CACHE_SIZE:
            cat.results.clear()
        hit = cat.results[key] = (ids, list(weights))
    ids, terms = hit
    start = (query.page - 1) * query.page_size
    return {"items": [cat.summaries[i] for i in ids[start:start + query.page_size]], "total": len(ids),
            "page": query.page, "page_size": query.page_size, "query_terms": terms}


async def departments(rt: Runtime) -> DepartmentList:
    cat = await cache(rt).get(rt)
    return DepartmentList(items=cat.departments)


def _read(item: ServiceItem, dept: Department) -> ServiceItemRead:
    s = _summary(item, _department_read(dept))
    return ServiceItemRead(**s.model_dump(), implementing_body=item.implementing_body,
                           legal_basis=item.legal_basis, keywords=item.keywords or [],
                           materials=item.materials or [], steps=item.steps or [], fees=item.fees,
                           online_url=item.online_url, offline_location=item.offline_location,
                           faq=item.faq or [], updated_at=item.updated_at)


async def get(*, item_id: int) -> ServiceItemRead:
    item = await ServiceItem.get_or_none(id=item_id, is_active=True).prefetch_related("department")
    if item is None:
        raise NotFound("事项不存在或已下架")
    return _read(item, item.department)


async def _department(code: str) -> Department:
    dept = await Department.get_or_none(code=code)
    if dept is None:
        raise ValidationFailed.field("department", f"部门编码 {code} 不存在")
    return dept


def _fields(data: ServiceItemWrite, dept: Department) -> dict:
    values = data.model_dump(exclude={"department"})
    values["department_id"] = dept.id
    return values


async def create(rt: Runtime, *, data: ServiceItemWrite, actor: Principal, ip: str = "",
                 request_id: str = "") -> ServiceItemRead:
    dept = await _department(data.department)
    if await ServiceItem.filter(code=data.code).exists():
        raise Conflict(f"事项编码 {data.code} 已存在", code="item_code_taken")
    async with in_transaction():
        item = await ServiceItem.create(**_fields(data, dept))
        await audit.record("service_item_created", actor=actor, target_type="service_item",
                           target_id=item.id, ip=ip, request_id=request_id, details={"code": data.code})
    await bump_version(rt)
    return _read(item, dept)


async def update(rt: Runtime, *, item_id: int, data: ServiceItemWrite, actor: Principal,
                 ip: str = "", request_id: str = "") -> ServiceItemRead:
    item = await ServiceItem.get_or_none(id=item_id, is_active=True)
    if item is None:
        raise NotFound("事项不存在或已下架")
    dept = await _department(data.department)
    if data.code != item.code and await ServiceItem.filter(code=data.code).exists():
        raise Conflict(f"事项编码 {data.code} 已存在", code="item_code_taken")
    async with in_transaction():
        await ServiceItem.filter(id=item_id).update(**_fields(data, dept))
        await audit.record("service_item_updated", actor=actor, target_type="service_item",
                           target_id=item_id, ip=ip, request_id=request_id, details={"code": data.code})
    await bump_version(rt)
    item = await ServiceItem.get(id=item_id)
    return _read(item, dept)


async def retire(rt: Runtime, *, item_id: int, actor: Principal, ip: str = "",
                 request_id: str = "") -> None:
    """Take an item off the zone. Kept in the database: consultations and statistics refer to it."""
    async with in_transaction():
        updated = await ServiceItem.filter(id=item_id, is_active=True).update(is_active=False)
        if not updated:
            raise NotFound("事项不存在或已下架")
        await audit.record("service_item_retired", actor=actor, target_type="service_item",
                           target_id=item_id, ip=ip, request_id=request_id)
    await bump_version(rt)
