"""Intake builds its rows with ``service._new`` instead of the ORM's ``__init__`` (it is on
every question's path, python -m bench intake): the instance must be the one the ORM's
``_init_from_db`` makes of the same values, marked unsaved, on either database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.consultation import Consultation, ConsultationEvent
from services.consultations import service


def _orm_made(model, **values):
    """What ``_new`` gave before it put the instance together itself."""
    row = {column: values.get(name, default) for name, column, default in service._defaults(model)}
    inst = model._init_from_db(**row)
    inst._saved_in_db = False
    return inst


CASE = dict(enterprise_id=7, asked_by_id=3, recorded_by_id=None, channel="miniprogram", kind="consultation",
            content="增值税发票怎么申领？", contact_name="", service_item_id=12, policy_id=None,
            policy_series_id=None, element=None, element_detail="", topic_code="tax", department_id=2,
            suggestion={"topic_code": "tax", "item_score": 7.25}, moderation="pass", moderation_label=None,
            accepted_at=datetime(2026, 12, 7, 1, 2, 3, 456789, tzinfo=UTC), idempotency_scope="u3",
            idempotency_key="k-1", created_at=None, updated_at=None)


@pytest.mark.parametrize("changes", [
    {},
    # converted as the ORM converts a value read back: a naive time made aware, JSON text
    # decoded, a boolean column's value made a bool where the driver does not (SQLite)
    {"accepted_at": datetime(2026, 12, 7, 9, 2, 3), "suggestion": '{"topic_code": "tax"}', "overdue": 1},
    {"due_at": datetime(2026, 12, 10, 15, 59, 59, tzinfo=UTC), "status": "assigned", "assignee_id": 5},
])
async def test_a_new_case_is_the_orms_own(client, changes):
    values = CASE | changes
    made, expected = service._new(Consultation, **values), _orm_made(Consultation, **values)
    assert vars(made) == vars(expected)
    assert made._saved_in_db is False and made._partial is False and made._await_when_save == {}
    # each instance has its own state
    assert service._new(Consultation, **values)._await_when_save is not made._await_when_save


async def test_a_new_event_is_the_orms_own(client):
    values = dict(consultation_id=0, action="create", from_status="", to_status="new", actor_id=3,
                  actor_role="enterprise_owner", actor_name="企业用户", detail={"channel": "miniprogram"}, at=None)
    assert vars(service._new(ConsultationEvent, **values)) == vars(_orm_made(ConsultationEvent, **values))


async def test_what_the_model_does_not_have_or_must_be_given_is_refused(client):
    with pytest.raises(TypeError, match="no field"):
        service._new(ConsultationEvent, consultation_id=0, action="create", nonsense=1)
    needs = [name for name, _, default in service._defaults(Consultation) if default is service._NO_DEFAULT]
    if needs:
        with pytest.raises(TypeError, match="needs a value"):
            service._new(Consultation, **{k: v for k, v in CASE.items() if k != needs[0]})
