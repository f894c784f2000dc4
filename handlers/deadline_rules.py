"""答复期限: working days per department and service item (supervisors, own department)."""

from __future__ import annotations

from handlers.base import Call, endpoint
from services.auth.roles import Role
from services.consultations import deadline_rules as rules

TAG = "咨询办理"


@endpoint("GET", "/api/v1/deadline-rules", roles={Role.SUPERVISOR, Role.CONSULTANT}, tag=TAG,
          response=rules.RuleList, summary="本部门及其事项的答复期限规则（未设置的用默认值）")
async def list_(call: Call) -> dict:
    return await rules.list_rules(call.rt, call.user)


@endpoint("PUT", "/api/v1/deadline-rules", roles={Role.SUPERVISOR}, tag=TAG, body=rules.RuleWrite,
          response=rules.RuleRead, errors=(422,),
          summary="设置答复期限（按部门或事项；只影响之后受理的事项）")
async def save(call: Call) -> dict:
    return await rules.save(call.rt, data=call.body, viewer=call.user, ip=call.client_ip,
                            request_id=call.request_id)


@endpoint("DELETE", "/api/v1/deadline-rules/{id}", roles={Role.SUPERVISOR}, tag=TAG, status=204, errors=(404,),
          summary="删除答复期限规则（恢复默认值）")
async def delete(call: Call) -> None:
    await rules.delete(call.rt, rule_id=call.path["id"], viewer=call.user, ip=call.client_ip,
                       request_id=call.request_id)
