"""Dial pacing: how many lines a rep's dialer dials at once.

- ``power``: one line, always;
- ``parallel``: a fixed dial level (lines per batch; a fractional level such as 2.4
  alternates 2 and 3 lines so the long-run average is exactly 2.4);
- ``predictive``: the team's dial level adapts to hold the abandon rate at the target.

The predictive control rule (docs/model.md, "Pacing") predicts, then corrects:

1. predict: the controller estimates the chance ``q`` that a line dialled now is
   answered by a person (live answers per line over roughly the last
   ``answer_window_lines`` lines, exponentially weighted). In a batch of ``n`` lines
   the first person is bridged and any other is abandoned, so the expected abandon
   rate is ``1 - (1 - (1 - q)^n) / (n q)``, increasing in ``n``; the level is the
   ``n`` (fractional, dithered) that makes it equal the working target;
2. correct: the working target starts at the target and is trimmed by integral
   control on the abandon rate actually observed over the last
   ``window_live_answers`` live answers (AMD hang-ups on live people count as
   abandoned when ``count_amd_hangups``): ``trim *= exp(gain * (target - observed) /
   target)`` per live answer (weighted as the abandon rate itself is, by live
   answers), bounded to 0.25-4, so model error (answers arriving after the rep's
   call ended, AMD hang-ups, short gatekeeper calls) does not bias the long-run rate.

Predicting from q lets the level follow the time of day (fewer people at their desks
at lunch: dial more lines) within minutes, where pure feedback on the abandon rate
would lag by hours and swing; because abandons grow faster than linearly in the
level, swings cost abandons, which is why a fixed level is not as good.
"""

from __future__ import annotations

import math
from collections import deque


class Dithered:
    """Integer line counts whose running average is a fractional level exactly.

    Deterministic (error diffusion), so no random stream is consumed.
    """

    __slots__ = ("_carry",)

    def __init__(self):
        self._carry = 0.0

    def lines(self, level: float) -> int:
        self._carry += level
        n = math.floor(self._carry + 1e-12)
        self._carry -= n
        return max(1, n)


class FixedPacing:
    """Power (level 1) or parallel (a fixed level) dialling."""

    def __init__(self, level: float):
        self.level = float(level)

    def dialled(self, lines: int) -> None:
        pass

    def record(self, abandoned: bool) -> None:
        pass

    def adjust(self) -> None:
        pass


class PredictivePacing:
    """Team-wide adaptive dial level: predicted from the answer rate, trimmed by feedback."""

    def __init__(self, target_abandon_rate: float, window_live_answers: int,
                 warmup_live_answers: int, initial_level: float, min_level: float,
                 max_level: float, gain: float, answer_window_lines: int = 300):
        self.target = target_abandon_rate
        self.warmup = warmup_live_answers
        self.level = initial_level
        self.min_level, self.max_level = min_level, max_level
        self.gain = gain
        self.trim = 1.0  # working target = target x trim
        self._decay = 1.0 - 1.0 / answer_window_lines
        self._lines = 0.0  # exponentially weighted lines dialled
        self._live = 0.0  # exponentially weighted live answers
        self._window: deque[int] = deque(maxlen=window_live_answers)
        self._abandoned = 0
        self._answers_seen = 0

    @property
    def rolling_rate(self) -> float:
        return self._abandoned / len(self._window) if self._window else math.nan

    @property
    def answer_rate(self) -> float:
        """Estimated P(a line is answered by a person): a probability, at most 1.

        Live answers are counted when they arrive, lines when they are dialled, so in a
        short window (or when many answers of earlier batches land together) the ratio
        can pass 1; a rate above 1 means "every line is answered", and raised to a
        fractional level it would not even be a real number.
        """
        return min(1.0, self._live / self._lines) if self._lines else math.nan

    def dialled(self, lines: int) -> None:
        """A batch of ``lines`` lines was dialled."""
        weight = self._decay ** lines
        self._lines = self._lines * weight + lines
        self._live *= weight

    def record(self, abandoned: bool) -> None:
        """One live answer: bridged (False) or abandoned (True); trims the working target."""
        self._live += 1.0
        self._answers_seen += 1
        window = self._window
        if len(window) == window.maxlen:
            self._abandoned -= window[0]
        window.append(1 if abandoned else 0)
        self._abandoned += 1 if abandoned else 0
        if self._answers_seen >= self.warmup and self.target > 0:
            error = (self.target - self.rolling_rate) / self.target
            self.trim = min(4.0, max(0.25, self.trim * math.exp(self.gain * error)))

    def adjust(self) -> None:
        """Set the level for the next batch; call once per batch."""
        if self._answers_seen < self.warmup or not self._lines:
            return
        self.level = level_for_abandon_rate(self.answer_rate, self.target * self.trim,
                                            self.min_level, self.max_level)


def expected_abandon_rate(q: float, level: float) -> float:
    """Abandoned / live answers when ``level`` lines each reach a person with prob ``q``
    and every person after the first in a batch is abandoned."""
    if q <= 0 or level <= 1:
        return 0.0
    return max(0.0, 1.0 - (1.0 - (1.0 - q) ** level) / (level * q))  # >= 0 despite rounding


def level_for_abandon_rate(q: float, target: float, low: float, high: float) -> float:
    """The level in [low, high] whose expected abandon rate is ``target`` (bisection)."""
    if not (q > 0) or expected_abandon_rate(q, high) <= target:
        return high
    if expected_abandon_rate(q, low) >= target:
        return low
    for _ in range(40):
        mid = 0.5 * (low + high)
        if expected_abandon_rate(q, mid) < target:
            low = mid
        else:
            high = mid
    return low


def make_pacing(scenario):
    """The pacing object a scenario's dialer settings describe."""
    dialer = scenario.dialer
    mode = dialer.resolved_mode(scenario.team.lines_per_rep)
    if mode == "power":
        return FixedPacing(1.0)
    if mode == "parallel":
        return FixedPacing(dialer.resolved_level(scenario.team.lines_per_rep))
    p = dialer.predictive
    return PredictivePacing(
        target_abandon_rate=p.target_abandon_rate,
        window_live_answers=p.window_live_answers,
        warmup_live_answers=p.warmup_live_answers,
        initial_level=min(p.initial_level, scenario.team.lines_per_rep),
        min_level=p.min_level,
        max_level=float(scenario.team.lines_per_rep),
        gain=p.gain,
        answer_window_lines=p.answer_window_lines,
    )
