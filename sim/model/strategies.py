"""Voicemail strategies: at each voicemail reached, a silent hang-up or which message.

Every built-in is a message sequence over the prospect's voicemail encounters
(0 = the first time this prospect's voicemail answers):

- ``never``: silent every time;
- ``always``: message A every time;
- ``rotate`` (``n_messages``): M1, M2, ..., Mn, M1, ... (a fresh reason each time);
- ``first_n`` (``n``): M1..Mn on the first n encounters, then silent;
- ``sequence``: the scenario's own labels, ``"-"`` for silence, then cycle,
  repeat the last entry, or go silent.

Anything a sequence cannot say implements :class:`VoicemailPolicy`. The model asks
the policy once per encounter index, so policies compile to a lookup table
(``SILENT`` = -1, else a message id 0..n_messages-1) and the hot path is one index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sim.scenario.schema import StrategySpec

SILENT = -1
SILENT_LABEL = "-"


class VoicemailPolicy(Protocol):
    """What to do at a prospect's ``encounter``-th voicemail (0-based)."""

    name: str
    message_labels: tuple[str, ...]

    def message_at(self, encounter: int) -> int:
        """Message id (index into ``message_labels``) or ``SILENT``."""
        ...


@dataclass(frozen=True)
class SequencePolicy:
    """A strategy written as a sequence of labels over voicemail encounters."""

    name: str
    sequence: tuple[str, ...]
    then: str = "cycle"  # cycle | repeat_last | silent

    @property
    def message_labels(self) -> tuple[str, ...]:
        labels: list[str] = []
        for label in self.sequence:
            if label != SILENT_LABEL and label not in labels:
                labels.append(label)
        return tuple(labels)

    def message_at(self, encounter: int) -> int:
        if not self.sequence:
            return SILENT
        n = len(self.sequence)
        if encounter < n:
            label = self.sequence[encounter]
        elif self.then == "cycle":
            label = self.sequence[encounter % n]
        elif self.then == "repeat_last":
            label = self.sequence[-1]
        else:
            return SILENT
        return SILENT if label == SILENT_LABEL else self.message_labels.index(label)


def policy_from_spec(spec: StrategySpec) -> SequencePolicy:
    """The policy a validated scenario strategy entry describes (its own: an entry that
    only sets ``by_segment`` never leaves a message of its own)."""
    if spec.kind is None:
        return SequencePolicy(spec.name, (), "silent")
    if spec.kind == "never":
        return SequencePolicy(spec.name, (), "silent")
    if spec.kind == "always":
        return SequencePolicy(spec.name, ("A",), "cycle")
    if spec.kind == "rotate":
        return SequencePolicy(spec.name, tuple(f"M{i + 1}" for i in range(spec.n_messages)), "cycle")
    if spec.kind == "first_n":
        return SequencePolicy(spec.name, tuple(f"M{i + 1}" for i in range(spec.n)), "silent")
    return SequencePolicy(spec.name, tuple(spec.sequence), spec.then)


def compile_policy(policy: VoicemailPolicy, max_encounters: int) -> list[int]:
    """Lookup table: encounter index -> message id or SILENT (checked against labels)."""
    n_labels = len(policy.message_labels)
    table = []
    for encounter in range(max_encounters):
        action = int(policy.message_at(encounter))
        if action != SILENT and not (0 <= action < n_labels):
            raise ValueError(
                f"policy {policy.name!r} returned message {action} at encounter {encounter}; "
                f"it has {n_labels} messages"
            )
        table.append(action)
    return table


@dataclass(frozen=True)
class VoicemailPlan:
    """A strategy as the kernel runs it: per list segment, which message (or silence)
    at each voicemail encounter, and how messages are left; per message, its callback
    multiplier. Message ids index ``labels``, the union over segments."""

    name: str
    labels: tuple[str, ...]
    table: tuple[int, ...]  # segment * max_encounters + encounter -> message id or SILENT
    max_encounters: int
    live_drop: tuple[bool, ...]  # per segment
    message_length_s: tuple[float, ...]  # per segment
    callback_mult: tuple[float, ...]  # per message id
    genuine_share: tuple[float, ...] = ()  # per message id: share of its callbacks from interest


def voicemail_plan(scenario, name: str) -> VoicemailPlan:
    """The plan of the scenario's strategy ``name`` (a validated Scenario).

    A plain strategy applies its policy to every segment; one with ``by_segment``
    applies each named strategy's policy, drop mode and message length to its segment
    (its own policy to the others). Drop mode and message length default to the
    scenario's ``[voicemail]``."""
    specs = {spec.name: spec for spec in scenario.strategies}
    spec = specs[name]
    vm = scenario.voicemail
    max_encounters = scenario.cadence.max_attempts
    per_segment = []
    for segment in scenario.prospects.segments:
        chosen = specs[spec.by_segment[segment.name]] if spec.by_segment and \
            segment.name in spec.by_segment else spec
        per_segment.append(chosen)
    labels: list[str] = []
    table: list[int] = []
    for chosen in per_segment:
        policy = policy_from_spec(chosen)
        own = compile_policy(policy, max_encounters)
        for label in policy.message_labels:
            if label not in labels:
                labels.append(label)
        table += [SILENT if m == SILENT else labels.index(policy.message_labels[m]) for m in own]
    # a message's own settings come from the strategy that leaves it (the one a segment
    # follows), the entry's own settings last: they may name any of those messages
    mults: dict[str, float] = {}
    genuine: dict[str, float] = {}
    for chosen in [*per_segment, spec]:
        mults.update(chosen.callback_mult_by_message or {})
        genuine.update(chosen.genuine_callback_share_by_message or {})
    return VoicemailPlan(
        name=name,
        labels=tuple(labels),
        table=tuple(table),
        max_encounters=max_encounters,
        live_drop=tuple((c.drop_mode or spec.drop_mode or vm.drop_mode) == "live"
                        for c in per_segment),
        message_length_s=tuple(float(c.message_length_s or spec.message_length_s
                                     or vm.message_length_s) for c in per_segment),
        callback_mult=tuple(float(mults.get(label, 1.0)) for label in labels),
        genuine_share=tuple(float(genuine.get(label, 1.0)) for label in labels),
    )
