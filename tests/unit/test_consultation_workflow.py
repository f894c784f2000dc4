"""Properties of the case transition table: it is closed over its statuses, final
statuses stay final (a closed case may only be reopened), every case can end, and what
each actor is offered is exactly what the table lets that actor do."""

from __future__ import annotations

import re
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.consultations import workflow
from services.consultations.workflow import (ACTORS, FINAL_STATUSES, STATUSES, TRANSITIONS, IllegalTransition,
                                             allowed_actions, may, next_status)

ACTIONS = sorted({a for _, a in TRANSITIONS} | set().union(*ACTORS.values()) | {"rate", "note", "explode"})
CJK = re.compile(r"[\u4e00-\u9fff]")


def reachable(start: str) -> set[str]:
    seen, todo = {start}, deque([start])
    while todo:
        s = todo.popleft()
        for (src, _), dst in TRANSITIONS.items():
            if src == s and dst not in seen:
                seen.add(dst)
                todo.append(dst)
    return seen


def test_every_reachable_status_and_every_target_is_a_known_status():
    assert reachable("new") <= set(STATUSES)
    assert {dst for dst in TRANSITIONS.values()} <= set(STATUSES)
    assert {src for src, _ in TRANSITIONS} <= set(STATUSES)
    # and nothing in the list is dead weight: every status can actually happen
    assert reachable("new") == set(STATUSES)


def test_labels_cover_every_status_and_action():
    assert set(workflow.STATUS_LABELS) == set(STATUSES)
    assert {a for _, a in TRANSITIONS} <= set(workflow.ACTION_LABELS)
    assert workflow.OPEN_STATUSES <= set(STATUSES) and workflow.CHASED_STATUSES <= workflow.OPEN_STATUSES
    assert not workflow.OPEN_STATUSES & FINAL_STATUSES


def test_final_statuses_only_allow_reopening_a_closed_case():
    outgoing = {(s, a) for (s, a) in TRANSITIONS if s in FINAL_STATUSES}
    assert outgoing == {("closed", "reopen")}
    assert TRANSITIONS[("closed", "reopen")] == "reopened"


@pytest.mark.parametrize("status", sorted(set(STATUSES) - FINAL_STATUSES))
def test_every_unfinished_case_can_reach_an_end(status):
    assert reachable(status) & FINAL_STATUSES


@settings(max_examples=400, deadline=None)
@given(actions=st.lists(st.sampled_from(ACTIONS), max_size=40))
def test_random_action_sequences_stay_in_the_table(actions):
    status = "new"
    for action in actions:
        try:
            after = next_status(status, action)
        except IllegalTransition as exc:
            assert (status, action) not in TRANSITIONS
            assert CJK.search(exc.message) and str(exc) == exc.message
            assert "{" not in exc.message  # no unformatted placeholder reaches a user
            continue
        assert TRANSITIONS[(status, action)] == after
        assert after in STATUSES
        status = after


@settings(max_examples=300, deadline=None)
@given(status=st.sampled_from(STATUSES), action=st.sampled_from(ACTIONS))
def test_illegal_moves_raise_with_a_chinese_message_that_names_the_status(status, action):
    if (status, action) in TRANSITIONS:
        assert next_status(status, action) in STATUSES
        return
    with pytest.raises(IllegalTransition) as info:
        next_status(status, action)
    assert workflow.STATUS_LABELS[status] in info.value.message


@settings(max_examples=300, deadline=None)
@given(status=st.sampled_from(STATUSES), actor=st.sampled_from(sorted(ACTORS)))
def test_offered_actions_are_exactly_the_legal_ones_for_the_actor(status, actor):
    offered = allowed_actions(status, actor)
    assert offered == sorted(offered) and len(set(offered)) == len(offered)
    for action in ACTIONS:
        legal = may(actor, action)
        try:
            next_status(status, action)
        except IllegalTransition:
            legal = False
        assert (action in offered) == legal, (status, actor, action)


def test_unknown_actors_are_offered_nothing():
    for status in STATUSES:
        assert allowed_actions(status, "other") == []
    assert not may("other", "answer")


def test_who_does_what():
    # The enterprise confirms, reopens, withdraws; it never answers or closes.
    assert allowed_actions("answered", "enterprise") == ["follow_up", "resolve", "withdraw"]
    assert allowed_actions("closed", "enterprise") == ["reopen"]
    # The system (the sweep) can close what the enterprise left answered or resolved.
    assert "close" in allowed_actions("answered", "system") and "close" in allowed_actions("resolved", "system")
    assert allowed_actions("closed", "consultant") == []
