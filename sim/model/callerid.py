"""Caller-ID numbers: which number each dial shows, and when a number gets a spam label.

Rules (docs/model.md, "Caller-ID numbers and reputation"):

- the team dials from a pool of numbers: ``pool = "per_rep"`` gives every rep its own
  ``numbers_per_pool`` numbers, ``"team"`` one shared pool of ``numbers_per_pool``;
- ``rotation``: ``fixed`` (a rep always shows the same number: its first, or in a
  team pool number ``rep mod pool size``), ``round_robin`` (each dial takes the
  next number of the pool), ``least_used`` (the pool's number with the fewest dials
  today; ties to the lowest index);
- a dial that ends without a conversation (no answer, voicemail with no message,
  abandoned, AMD hang-up, bad number, cancelled; a voicemail message left counts
  too unless ``voicemail_left_is_completed``) is a **short call** for its number;
- at the end of each day, an unlabelled number with ``S`` short calls that day is
  labelled "spam likely" with probability ``1 - exp(-hazard_per_short_call x
  max(0, S - free_short_calls_per_day))``; a label lasts ``label_days`` days (null:
  for good). A labelled number multiplies every prospect's pick-up by
  ``labelled_pickup_mult`` (public figures: ~9% answer labelled spam vs ~24%
  unidentified, so 0.375);
- ``local_presence_pickup_mult`` multiplies pick-up on every dial (local-presence
  dialing shows a number local to the prospect).
The label draws come from their own named stream, one uniform per (day, number).
"""

from __future__ import annotations

import math

import numpy as np


class CallerIdPool:
    """Numbers, their daily counts and labels, for one campaign."""

    def __init__(self, config, reps: int, days: int, label_draws: np.ndarray):
        self.config = config
        size = config.numbers_per_pool
        self.per_rep = config.pool == "per_rep"
        self.n_numbers = size * reps if self.per_rep else size
        self.pool_size = size
        self.rotation = config.rotation
        self.label_draws = label_draws  # (days, n_numbers) uniforms
        self.dials_today = [0] * self.n_numbers
        self.short_today = [0] * self.n_numbers
        self.labelled_until_day = [-1] * self.n_numbers  # labelled while day < this
        self._next = [0] * reps  # round-robin cursor per rep (or shared at index 0)
        self.timeline: dict[str, list] = {"day": [], "number": [], "dials": [],
                                          "short_calls": [], "labelled": [], "labelled_today": []}
        self.today = 0
        self.base_mult = config.local_presence_pickup_mult
        self.labelled_mult = config.labelled_pickup_mult * config.local_presence_pickup_mult
        self.numbers_ever_labelled: set[int] = set()

    def _pool(self, rep: int) -> range:
        if self.per_rep:
            return range(rep * self.pool_size, (rep + 1) * self.pool_size)
        return range(self.pool_size)

    def number_for(self, rep: int) -> int:
        """The number the next dial of ``rep`` shows."""
        pool = self._pool(rep)
        if self.rotation == "fixed":
            return pool[0] if self.per_rep else rep % self.pool_size
        if self.rotation == "round_robin":
            cursor = rep if self.per_rep else 0
            i = self._next[cursor]
            self._next[cursor] = (i + 1) % self.pool_size
            return pool[i]
        dials = self.dials_today
        return min(pool, key=lambda n: (dials[n], n))

    def pickup_mult(self, number: int) -> float:
        """Pick-up multiplier of a dial showing ``number`` today."""
        return self.labelled_mult if self.is_labelled(number) else self.base_mult

    def is_labelled(self, number: int) -> bool:
        return self.today < self.labelled_until_day[number]

    def record(self, number: int, short: bool) -> None:
        self.dials_today[number] += 1
        if short:
            self.short_today[number] += 1

    def end_of_day(self, day: int) -> None:
        """Record the day, draw new labels, reset the counts; the next day is ``day + 1``."""
        cfg = self.config
        draws = self.label_draws[day]
        for n in range(self.n_numbers):
            labelled_now = self.is_labelled(n)
            newly = False
            if not labelled_now:
                excess = max(0, self.short_today[n] - cfg.free_short_calls_per_day)
                p_label = 1.0 - math.exp(-cfg.hazard_per_short_call * excess)
                if excess and draws[n] < p_label:
                    newly = True
                    self.numbers_ever_labelled.add(n)
                    self.labelled_until_day[n] = (
                        10**9 if cfg.label_days is None else day + 1 + cfg.label_days
                    )
            tl = self.timeline
            tl["day"].append(day)
            tl["number"].append(n)
            tl["dials"].append(self.dials_today[n])
            tl["short_calls"].append(self.short_today[n])
            tl["labelled"].append(labelled_now)
            tl["labelled_today"].append(newly)
            self.dials_today[n] = 0
            self.short_today[n] = 0
        self.today = day + 1
