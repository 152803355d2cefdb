"""Duration distributions a scenario can name, and how they are sampled in batches.

A scenario writes a duration either as a plain number (a fixed value) or as a table,
e.g. ``talk_s = {dist = "lognormal", median = 85, sigma = 0.6}``. The unit comes from
the key's suffix (``_s`` seconds, ``_h`` hours). Every family is sampled from one base
draw per value (uniform, standard normal or standard exponential) so a table of draws
indexed by (prospect, attempt) stays aligned when a parameter changes: two runs that
differ only in ``median`` see the same underlying randomness (common random numbers).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

# Finite and far above any sensible duration in seconds or hours: every parameter of
# every distribution is at most this; each key adds its own, tighter cap (dist_at_most).
MAX_DIST_PARAMETER = 1e7
# A key's cap must hold for all but this fraction of draws (see dist_at_most).
TAIL_PROBABILITY = 1e-9

Bounded = Annotated[float, Field(ge=0, le=MAX_DIST_PARAMETER)]


class _Dist(BaseModel):
    # strict: no bool or string taken for a number; allow_inf_nan off: no inf, no NaN
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def mean(self) -> float:  # pragma: no cover
        raise NotImplementedError

    def quantile(self, q: float) -> float:  # pragma: no cover
        """The value a draw stays below with probability ``q``."""
        raise NotImplementedError


class Fixed(_Dist):
    """Always the same value."""

    dist: Literal["fixed"] = "fixed"
    value: Bounded

    def sample(self, rng, size):
        # Consume one uniform per value anyway so switching a key between fixed and
        # random does not shift any other stream (each key has its own stream, but
        # this keeps the rule simple: one base draw per value, always).
        rng.random(size)
        return np.full(size, self.value)

    def mean(self):
        return self.value

    def quantile(self, q):
        return self.value


class Uniform(_Dist):
    """Uniform between ``low`` and ``high``."""

    dist: Literal["uniform"]
    low: Bounded
    high: Bounded

    @model_validator(mode="after")
    def _ordered(self):
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    def sample(self, rng, size):
        return self.low + (self.high - self.low) * rng.random(size)

    def mean(self):
        return 0.5 * (self.low + self.high)

    def quantile(self, q):
        return self.low + q * (self.high - self.low)


class Exponential(_Dist):
    """Exponential with the given ``mean``."""

    dist: Literal["exponential"]
    mean_value: float = Field(gt=0, le=MAX_DIST_PARAMETER, alias="mean")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True,
                              allow_inf_nan=False)

    def sample(self, rng, size):
        return self.mean_value * rng.standard_exponential(size)

    def mean(self):
        return self.mean_value

    def quantile(self, q):
        return -self.mean_value * math.log1p(-q)


class LogNormal(_Dist):
    """Log-normal given its ``median`` and ``sigma`` (the sd of the log).

    Practitioners quote medians ("a typical cold call lasts 85 s"), so the median is
    the parameter; the mean is ``median * exp(sigma**2 / 2)``. ``max`` truncates
    (values above it are set to it), keeping a rare 3-hour call out of an 8-hour shift.
    """

    dist: Literal["lognormal"]
    median: float = Field(gt=0, le=MAX_DIST_PARAMETER)
    sigma: float = Field(ge=0, le=5)
    max: float | None = Field(default=None, gt=0, le=MAX_DIST_PARAMETER)

    def sample(self, rng, size):
        values = self.median * np.exp(self.sigma * rng.standard_normal(size))
        if self.max is not None:
            np.minimum(values, self.max, out=values)
        return values

    def mean(self):
        if self.max is None:
            return float(self.median * np.exp(self.sigma**2 / 2))
        return float(self.sample(np.random.default_rng(0), 200_000).mean())

    def quantile(self, q):
        value = self.median * math.exp(self.sigma * NormalDist().inv_cdf(q))
        return value if self.max is None else min(value, self.max)


Distribution = Annotated[
    Union[Fixed, Uniform, Exponential, LogNormal], Field(discriminator="dist")
]


def dist_at_most(cap: float, unit: str):
    """A validator: draws of this key stay at most ``cap`` (in ``unit``), bar 1 in 10^9.

    The check is on the distribution's (1 - TAIL_PROBABILITY) quantile, so a fixed value,
    a uniform's ``high``, an exponential's tail and a log-normal's tail (or its ``max``)
    are all held to the same rule: no draw can push a call past the simulated campaign.
    """
    def check(dist):
        upper = dist.quantile(1 - TAIL_PROBABILITY)
        if not upper <= cap:
            detail = "" if isinstance(dist, Fixed) else (
                f"; its 1-in-a-billion draw is {upper:,.6g} {unit} (lower the spread or set max)")
            raise ValueError(f"at most {cap:,g} {unit}{detail}")
        return dist
    return AfterValidator(check)


def coerce_distribution(value):
    """Let a scenario write ``talk_s = 85`` for ``{dist = "fixed", value = 85}``."""
    if isinstance(value, bool):
        return value  # let pydantic reject it with its own message
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a duration must be >= 0")
        return {"dist": "fixed", "value": value}
    return value
