"""A status × action → status table with refusals in Chinese — the shape shared by the
life of a policy version and the life of a consultation (pure core).

A refused move says what state the thing is in and, where there is a usual mistake,
what to do instead; the message is shown to the user as-is (409).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


class IllegalTransition(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class TransitionTable:
    noun: str  # how messages name the thing: "该政策版本", "该事项"
    transitions: Mapping[tuple[str, str], str]
    status_labels: Mapping[str, str]
    action_labels: Mapping[str, str]
    #: (status, action) → what to do instead
    hints: Mapping[tuple[str, str], str] = field(default_factory=dict)
    #: statuses that end the life; refusals there use ``final_message``
    final: frozenset[str] = frozenset()
    #: format string with {noun}, {label}, {bare} (label without a leading 已) and {action}
    final_message: str = "{noun}{label}，不能再{action}"

    def next_status(self, status: str, action: str) -> str:
        """The status after ``action``, or :class:`IllegalTransition`."""
        target = self.transitions.get((status, action))
        if target is not None:
            return target
        label = self.status_labels.get(status, status)
        hint = self.hints.get((status, action))
        if hint:
            raise IllegalTransition(f"{self.noun}当前状态为“{label}”，{hint}")
        act = self.action_labels.get(action, action)
        if status in self.final:
            raise IllegalTransition(self.final_message.format(noun=self.noun, label=label,
                                                              bare=label.removeprefix("已"), action=act))
        raise IllegalTransition(f"{self.noun}当前状态为“{label}”，不能{act}")
