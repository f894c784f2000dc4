"""pydantic validation errors as per-field Chinese messages.

Used for request bodies and for rows of imported sheets alike, so staff and
owners read the same wording for the same mistake.
"""

from __future__ import annotations

from pydantic import ValidationError

_MESSAGES = {
    "missing": "缺少必填字段",
    "string_type": "应为文本",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "decimal_parsing": "应为数字",
    "decimal_type": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "datetime_parsing": "应为 ISO 8601 时间",
    "datetime_from_date_parsing": "应为 ISO 8601 时间",
    "datetime_type": "应为 ISO 8601 时间",
    "list_type": "应为数组",
    "dict_type": "应为对象",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "extra_forbidden": "不允许的字段",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "string_pattern_mismatch": "格式不正确",
    "json_invalid": "不是合法的 JSON",
    "finite_number": "应为有限数字",
    "decimal_max_digits": "数字位数过多",
    "decimal_max_places": "小数位数过多",
    "decimal_whole_digits": "数字位数过多",
}


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """pydantic's errors, one per field, with Chinese messages for people."""
    details = []
    for err in exc.errors(include_url=False, include_input=False):
        field_name = ".".join(str(p) for p in err["loc"]) or "body"
        kind = err["type"]
        ctx = err.get("ctx") or {}
        if kind == "value_error":
            message = str(ctx.get("error", err["msg"]))
        elif kind in ("string_too_short",):
            message = f"长度不能少于 {ctx.get('min_length')} 个字符" if ctx.get("min_length", 0) > 1 else "不能为空"
        elif kind == "string_too_long":
            message = f"长度不能超过 {ctx.get('max_length')} 个字符"
        elif kind in ("greater_than_equal", "greater_than"):
            message = f"不能小于 {ctx.get('ge', ctx.get('gt'))}"
        elif kind in ("less_than_equal", "less_than"):
            message = f"不能大于 {ctx.get('le', ctx.get('lt'))}"
        elif kind in ("too_long",):
            message = f"最多 {ctx.get('max_length')} 项"
        elif kind in ("too_short",):
            message = f"至少 {ctx.get('min_length')} 项"
        else:
            message = _MESSAGES.get(kind, "取值不正确")
        details.append({"field": field_name, "message": message})
    return details
