"""Open data: anyone can download the weekly demand table, and what they get reveals no
small group of enterprises — not directly, not by subtracting published figures — and
no text; every download is audited."""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.usefixtures("catalogue")
TZ = ZoneInfo("Asia/Shanghai")
SECRET = "张三的身份证号440305199001011234"
DIMS = ("topic", "department", "industry_group", "size_class", "region_code")


def _last_week() -> tuple[str, datetime]:
    today = datetime.now(TZ).date()
    monday = today - timedelta(days=today.weekday() + 7)
    y, w, _ = monday.isocalendar()
    return f"{y}-W{w:02d}", datetime.combine(monday, datetime.min.time(), TZ)


async def _populate(seed: int = 1) -> dict:
    """80 enterprises asking 1–3 questions each in the last complete week over a few
    dimension values (so some cells reach 5 enterprises and some do not), one lone
    enterprise in a county of its own, and a case from this week that must not count."""
    from models import Consultation, Department, Enterprise, Topic

    rng = random.Random(seed)
    depts = list(await Department.all().limit(2))
    for code in ("tax", "social"):
        await Topic.get_or_create(code=code, defaults={"name": {"tax": "税费", "social": "社保"}[code], "keywords": []})
    _, monday = _last_week()
    truth: dict[tuple, list] = defaultdict(list)

    async def ask(ent, topic, dept, at):
        await Consultation.create(enterprise_id=ent.id, channel="miniprogram", kind="consultation",
                                  content=f"{SECRET} 咨询{topic}", topic_code=topic, department_id=dept.id,
                                  accepted_at=at, working_days=3, due_at=at, remind_at=at, escalate_at=at)

    for n in range(81):
        lone = n == 80
        ent = await Enterprise.create(credit_code=f"OD{seed:02d}{n:014d}", name=f"公开数据测试企业{n}", industry_code="65",
                                      industry_group=rng.choice(["I", "C"]), size_class=rng.choice(["micro", "small"]),
                                      region_code="440399" if lone else "440305", size_rule_version="t")
        for _ in range(1 if lone else rng.randint(1, 3)):
            topic, dept = rng.choice(["tax", "social"]), rng.choice(depts)
            at = monday + timedelta(seconds=rng.uniform(0, 7 * 86400 - 1))
            await ask(ent, topic, dept, at)
            truth[(topic, dept.code, ent.industry_group, ent.size_class, ent.region_code)].append(ent.id)
    await ask(ent, "tax", depts[0], datetime.now(TZ))  # this week: not in last week's table
    return truth


def _check_safe(rows: list[dict], totals: list[dict]) -> None:
    """The published table, read the way an attacker would: no small figure, and no
    published total with exactly one hidden member (rows, columns, grand total)."""
    for r in rows + totals:
        assert r["suppressed"] or r["enterprises"] >= 5, r
        assert (r["cases"] is None) == r["suppressed"]
    for t in totals:
        fixed = [(i, t[d]) for i, d in enumerate(DIMS) if t[d] != "*"]
        if t["suppressed"]:
            continue
        if fixed:  # a margin: the cells with that value
            (i, v), = fixed
            members = [r for r in rows if r[DIMS[i]] == v]
            assert sum(r["suppressed"] for r in members) != 1, t
            known = [r for r in members if not r["suppressed"]]
            if len(known) == len(members):
                assert sum(r["cases"] for r in known) == t["cases"]
        else:  # the grand total: the margins of each dimension
            for d in DIMS:
                margins = [m for m in totals if m[d] != "*" and all(m[o] == "*" for o in DIMS if o != d)]
                assert sum(m["suppressed"] for m in margins) != 1, d


async def test_anyone_gets_the_week_suppressed_safely_without_text(api):
    from models import AuditEntry

    truth = await _populate()
    week, _ = _last_week()
    resp = await api.client.get(f"/api/v1/open-data/demand.json?week={week}")  # no Authorization header
    assert resp.status == 200
    doc = await resp.json()
    assert doc["week"] == week and doc["k"] == 5 and doc["generated_at"].endswith("+08:00")
    assert doc["dictionary"]["codes"]["topic"]["tax"] == "税费"
    assert set(doc["dictionary"]["fields"]) >= {"cases", "enterprises", "suppressed", *DIMS}
    rows = doc["rows"]
    assert {tuple(r[d] for d in DIMS) for r in rows} == set(truth)  # every cell listed, this week's case not
    published = [r for r in rows if not r["suppressed"]]
    hidden = [r for r in rows if r["suppressed"]]
    assert published and hidden
    for r in published:  # published figures are the true ones
        ents = truth[tuple(r[d] for d in DIMS)]
        assert (r["cases"], r["enterprises"]) == (len(ents), len(set(ents)))
    lone = next(r for r in rows if r["region_code"] == "440399")
    assert lone["suppressed"] and lone["cases"] is None and lone["enterprises"] is None
    # its county's margin (one enterprise) is withheld too
    assert next(t for t in doc["totals"] if t["region_code"] == "440399")["suppressed"]
    _check_safe(rows, doc["totals"])
    body = await resp.text()
    assert "张三" not in body and "440305199001011234" not in body and "公开数据测试企业" not in body

    entries = await AuditEntry.filter(action="open_data.export").all()
    assert len(entries) == 1
    assert entries[0].actor_id is None and entries[0].ip == "127.0.0.1"
    assert entries[0].details == {"format": "json", "week": week, "rows": len(rows)}


async def test_csv_opens_in_excel_and_matches_the_json(api):
    from models import AuditEntry

    await _populate(seed=2)
    resp = await api.client.get("/api/v1/open-data/demand.csv")  # default: the last complete week
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/csv") and "charset=utf-8" in resp.headers["Content-Type"]
    week, _ = _last_week()
    assert f"demand-{week}.csv" in resp.headers["Content-Disposition"]
    raw = await resp.read()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert "张三" not in raw.decode("utf-8-sig")
    doc = await (await api.client.get(f"/api/v1/open-data/demand.json?week={week}")).json()
    cells = [r for r in table if r["row_type"] == "cell"]
    assert len(cells) == len(doc["rows"])
    for r, j in zip(cells, doc["rows"]):
        assert r["cases"] == ("" if j["cases"] is None else str(j["cases"]))
        assert r["suppressed"] == ("true" if j["suppressed"] else "false")
    assert r["generated_at"] == doc["generated_at"]  # the second call was served from the week's cache
    as_rows = lambda rs: [{**{d: r[d] for d in DIMS}, "suppressed": r["suppressed"] == "true",  # noqa: E731
                           "cases": int(r["cases"]) if r["cases"] else None,
                           "enterprises": int(r["enterprises"]) if r["enterprises"] else None} for r in rs]
    _check_safe(as_rows(cells), as_rows([r for r in table if r["row_type"] == "total"]))
    assert [e.details["format"] for e in await AuditEntry.filter(action="open_data.export").order_by("id")] == \
        ["csv", "json"]


async def test_only_complete_weeks_in_the_right_format(api):
    today = datetime.now(TZ).date()
    y, w, _ = today.isocalendar()
    for week, code in ((f"{y}-W{w:02d}", "week_not_complete"), ("2025-W54", "invalid_week")):
        resp = await api.client.get(f"/api/v1/open-data/demand.json?week={week}")
        assert resp.status == 422
        assert (await resp.json())["error"]["code"] == code
    resp = await api.client.get("/api/v1/open-data/demand.csv?week=2025-23")
    assert resp.status == 422
    resp = await api.client.get("/api/v1/open-data/dictionary.json")
    assert resp.status == 200 and "size_class" in (await resp.json())["codes"]
