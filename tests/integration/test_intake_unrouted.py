"""A question nothing in the catalogue or the taxonomy matches is still accepted.

Regression: with neither item nor department the deadline query bound a parameter it
did not use, and the intake answered 500 (found by schemathesis with ``"00000"``).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from services.consultations.service import clock
from tests.conftest import auth


@pytest.mark.parametrize("content", ["00000", "     。。。。。", "？？？？？？"])
async def test_a_question_that_matches_nothing_is_kept_unrouted_with_the_default_deadline(api, catalogue, settings,
                                                                                          content):
    token, _ = await api.owner(f"unrouted-{len(content)}-{ord(content[-1])}")
    resp = await api.client.post("/api/v1/consultations", json={"content": content}, headers=auth(token))
    case = await resp.json()
    assert resp.status == 201, case
    assert case["content"] == content.strip() and case["status"] == "new"
    assert case["department"] is None and case["service_item"] is None and case["topic"] is None
    # The default deadline of a consultation, counted from the intake.
    accepted = datetime.fromisoformat(case["accepted_at"])
    assert datetime.fromisoformat(case["due_at"]) == clock(accepted, settings.consultation_days)["due_at"]
