"""Catalogue import (CSV or XLSX) and export (XLSX) in one sheet layout.

The layout is what staff already keep in spreadsheets: Chinese headers, one item
per row, lists as one entry per line inside a cell. Export writes exactly what
import reads, so a sheet can go out, be edited and come back.

Import validates every row first and reports each rejected row with its reasons;
the valid rows are then written in ONE transaction, so a failure part-way (a lost
connection, a constraint) leaves the catalogue as it was.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from tortoise.transactions import in_transaction

from models import Department, ServiceItem
from services import audit
from services.auth.principal import Principal
from services.errors import ValidationFailed
from services.runtime import Runtime
from services.service_items.schemas import (STAGE_LABELS, ImportRejection, ImportReport,
                                            ServiceItemWrite)

COLUMNS: list[tuple[str, str]] = [
    ("code", "事项编码"), ("name", "事项名称"), ("item_type", "事项类型"), ("department", "部门编码"),
    ("implementing_body", "实施主体"), ("legal_basis", "设定依据"), ("summary", "简介"),
    ("keywords", "关键词"), ("materials", "办理要件"), ("steps", "办理流程"),
    ("statutory_days", "法定时限（工作日）"), ("committed_days", "承诺时限（工作日）"),
    ("fees", "收费标准"), ("online_available", "可网办"), ("online_url", "网办地址"),
    ("offline_location", "办理地点"), ("stage", "生命周期"), ("faq", "常见问题"),
]
HEADER_TO_FIELD = {h: f for f, h in COLUMNS} | {f: f for f, _ in COLUMNS} | {
    "法定时限": "statutory_days", "承诺时限": "committed_days"}
STAGE_BY_LABEL = {v: k for k, v in STAGE_LABELS.items()}
FORM_LABELS = {"original": "原件", "copy": "复印件", "electronic": "电子件"}
FORM_BY_LABEL = {v: k for k, v in FORM_LABELS.items()} | {k: k for k in FORM_LABELS}
MAX_ROWS = 5000

Progress = Callable[[int, int], None]


def _lines(cell: str) -> list[str]:
    return [ln.strip() for ln in cell.replace("\r", "\n").split("\n") if ln.strip()]


def _split_keywords(cell: str) -> list[str]:
    for sep in "，,；;|/":
        cell = cell.replace(sep, "、")
    return [w.strip() for w in cell.replace("\n", "、").split("、") if w.strip()]


def _materials(cell: str) -> list[dict[str, Any]]:
    out = []
    for line in _lines(cell):
        parts = [p.strip() for p in line.split("|")]
        parts += [""] * (5 - len(parts))
        name, required, form, count, notes = parts[:5]
        if form and form not in FORM_BY_LABEL:
            raise ValueError(f"要件“{name}”的形式应为原件、复印件或电子件")
        out.append({"name": name, "required": required not in ("可选", "否", "optional", "false"),
                    "form": FORM_BY_LABEL.get(form, "original"),
                    "count": int(count) if count.isdigit() else 1, "notes": notes})
    return out


def _steps(cell: str) -> list[dict[str, str]]:
    out = []
    for line in _lines(cell):
        name, _, desc = line.replace(":", "：").partition("：")
        out.append({"name": name.strip(), "description": desc.strip()})
    return out


def _faq(cell: str) -> list[dict[str, str]]:
    out = []
    for line in _lines(cell):
        q, sep, a = line.partition("|")
        if not sep:
            raise ValueError("常见问题每行应为“问题|回答”")
        out.append({"q": q.strip(), "a": a.strip()})
    return out


def _to_bool(cell: str) -> bool:
    return cell.strip().lower() in ("是", "y", "yes", "true", "1", "可网办")


def row_to_payload(row: dict[str, str]) -> dict[str, Any]:
    """Turn one sheet row (field -> cell text) into the API's write shape."""
    payload: dict[str, Any] = {}
    for field, _ in COLUMNS:
        cell = (row.get(field) or "").strip()
        if field == "keywords":
            payload[field] = _split_keywords(cell)
        elif field == "materials":
            payload[field] = _materials(cell)
        elif field == "steps":
            payload[field] = _steps(cell)
        elif field == "faq":
            payload[field] = _faq(cell)
        elif field in ("statutory_days", "committed_days"):
            payload[field] = cell.removesuffix(".0") if cell else "0"
        elif field == "online_available":
            payload[field] = _to_bool(cell)
        elif field == "online_url":
            payload[field] = cell or None
        elif field == "stage":
            payload[field] = STAGE_BY_LABEL.get(cell, cell)
        elif field == "fees":
            payload[field] = cell or "不收费"
        else:
            payload[field] = cell
    return payload


def read_rows(data: bytes, filename: str) -> list[dict[str, str]]:
    """Rows keyed by field name. Raises ValidationFailed for an unreadable file."""
    name = filename.lower()
    try:
        if name.endswith(".xlsx"):
            from openpyxl import load_workbook  # on use: it pulls numpy into every process

            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            rows_iter = wb.active.iter_rows(values_only=True)
            table = [["" if v is None else str(v) for v in r] for r in rows_iter]
        elif name.endswith(".csv"):
            textdata = data.decode("utf-8-sig") if not data.startswith(b"\xff\xfe") else data.decode("utf-16")
            table = list(csv.reader(io.StringIO(textdata)))
        else:
            raise ValidationFailed.field("file", "只支持 CSV 或 XLSX 文件", code="unsupported_file")
    except ValidationFailed:
        raise
    except UnicodeDecodeError:
        raise ValidationFailed.field("file", "CSV 文件应使用 UTF-8 编码", code="unreadable_file") from None
    except Exception:
        raise ValidationFailed.field("file", "无法读取文件，请确认是有效的 CSV 或 XLSX", code="unreadable_file") from None
    if not table:
        raise ValidationFailed.field("file", "文件是空的", code="empty_file")
    header = [HEADER_TO_FIELD.get(h.strip()) for h in table[0]]
    missing = [h for f, h in COLUMNS[:4] if f not in header]
    if missing:
        raise ValidationFailed.field("file", f"缺少必需的列：{'、'.join(missing)}", code="missing_columns")
    if len(table) - 1 > MAX_ROWS:
        raise ValidationFailed.field("file", f"一次最多导入 {MAX_ROWS} 行", code="too_many_rows")
    rows = []
    for raw in table[1:]:
        if not any((c or "").strip() for c in raw):
            rows.append({})
            continue
        rows.append({f: (raw[i] if i < len(raw) else "") for i, f in enumerate(header) if f})
    return rows


async def import_items(rt: Runtime, *, data: bytes, filename: str, actor: Principal | None,
                       progress: Progress | None = None, ip: str = "",
                       request_id: str = "") -> ImportReport:
    from services.service_items.service import bump_version
    from services.validation import field_errors

    rows = read_rows(data, filename)
    departments = {d.code: d for d in await Department.all()}
    valid: list[tuple[int, ServiceItemWrite]] = []
    rejected: list[ImportRejection] = []
    seen: dict[str, int] = {}
    total = len(rows)
    for n, row in enumerate(rows, start=2):
        if progress:
            progress(n - 1, total * 2)
        if not row:
            continue
        code = (row.get("code") or "").strip()
        dept_code = (row.get("department") or "").strip()
        problems = []
        if dept_code and dept_code not in departments:
            problems.append({"field": "department", "message": f"部门编码 {dept_code} 不存在"})
        if code and code in seen:
            problems.append({"field": "code", "message": f"与第 {seen[code]} 行的事项编码重复"})
        item = None
        try:
            item = ServiceItemWrite.model_validate(row_to_payload(row))
        except ValidationError as exc:
            problems = field_errors(exc) + problems
        except ValueError as exc:
            problems = [{"field": "row", "message": str(exc)}] + problems
        if problems or item is None:
            rejected.append(ImportRejection(row=n, code=code, errors=problems))
            continue
        seen[item.code] = n
        valid.append((n, item))

    created = updated = 0
    async with in_transaction():
        existing = {it.code: it.id for it in await ServiceItem.filter(code__in=[i.code for _, i in valid])}
        for k, (_, item) in enumerate(valid, start=1):
            values = item.model_dump(exclude={"department"})
            values["department_id"] = departments[item.department].id
            if item.code in existing:
                await ServiceItem.filter(id=existing[item.code]).update(**values, is_active=True)
                updated += 1
            else:
                await ServiceItem.create(**values)
                created += 1
            if progress:
                progress(total + k * total // max(len(valid), 1), total * 2)
        await audit.record("service_items_imported", actor=actor, actor_role="" if actor else "cli",
                           target_type="service_item", ip=ip, request_id=request_id,
                           details={"file": filename[:128], "created": created, "updated": updated,
                                    "rejected": len(rejected)})
    if progress:
        progress(total * 2, total * 2)
    if created or updated:
        await bump_version(rt)
    return ImportReport(total_rows=sum(1 for r in rows if r), created=created, updated=updated,
                        rejected=rejected)


def _cell(field: str, item: ServiceItem, dept_code: str) -> Any:
    value = getattr(item, field, None)
    if field == "department":
        return dept_code
    if field == "keywords":
        return "、".join(value or [])
    if field == "materials":
        return "\n".join(f"{m['name']}|{'必需' if m.get('required', True) else '可选'}|"
                         f"{FORM_LABELS.get(m.get('form', 'original'), '原件')}|{m.get('count', 1)}|"
                         f"{m.get('notes', '')}" for m in value or [])
    if field == "steps":
        return "\n".join(f"{s['name']}：{s.get('description', '')}" for s in value or [])
    if field == "faq":
        return "\n".join(f"{f['q']}|{f['a']}" for f in value or [])
    if field == "online_available":
        return "是" if value else "否"
    if field == "stage":
        return STAGE_LABELS.get(value, value)
    return "" if value is None else value


async def export_xlsx(*, actor: Principal, department: str | None = None, ip: str = "",
                      request_id: str = "") -> bytes:
    qs = ServiceItem.filter(is_active=True).prefetch_related("department").order_by("department_id", "id")
    if department:
        qs = qs.filter(department__code=department)
    items = await qs
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "事项目录"
    ws.append([h for _, h in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F6FB2")
    for item in items:
        ws.append([_cell(f, item, item.department.code) for f, _ in COLUMNS])
    for col, width in zip("ABCDEFGHIJKLMNOPQR", (16, 28, 10, 10, 24, 30, 30, 20, 50, 40, 10, 10, 16, 8, 30, 30, 8, 40)):
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "C2"
    buf = io.BytesIO()
    wb.save(buf)
    await audit.record("service_items_exported", actor=actor, target_type="service_item", ip=ip,
                       request_id=request_id, details={"rows": len(items), "department": department})
    return buf.getvalue()
