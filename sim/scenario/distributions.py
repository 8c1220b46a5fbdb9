"""Probability distributions a scenario can name, as frozen pydantic models.

Every distribution knows its ``mean`` and draws a whole vector at once with
``sample(rng, n)``: the engine pre-draws its random numbers in bulk instead of calling a
generator once per event. All times are in minutes.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_MINUTES = 1e9
"""Longest duration a scenario may give (about 1,900 years): finite, so sums stay finite."""
PositiveFloat = Annotated[float, Field(gt=0, le=MAX_MINUTES)]
Minutes = Annotated[float, Field(ge=0, le=MAX_MINUTES)]


class _Dist(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @property
    def mean(self) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:  # pragma: no cover
        """Draw ``n`` independent values."""
        raise NotImplementedError


class Exponential(_Dist):
    """Exponential with the given mean (memoryless: the M in M/M/c)."""

    kind: Literal["exponential"]
    mean_: PositiveFloat = Field(alias="mean")

    @property
    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean_, n)


class Deterministic(_Dist):
    """A constant (the D in M/D/c)."""

    kind: Literal["deterministic"]
    value: Minutes

    @property
    def mean(self) -> float:
        return self.value

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, float(self.value))


class Uniform(_Dist):
    """Uniform on [low, high]."""

    kind: Literal["uniform"]
    low: Minutes
    high: Minutes

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must not be below low ({self.low})")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


class Triangular(_Dist):
    """Triangular with low <= mode <= high."""

    kind: Literal["triangular"]
    low: Minutes
    mode: Minutes
    high: Minutes

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not (self.low <= self.mode <= self.high) or self.low == self.high:
            raise ValueError(
                f"need low <= mode <= high and low < high, got {self.low}, {self.mode}, {self.high}"
            )
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.triangular(self.low, self.mode, self.high, n)


class Lognormal(_Dist):
    """Lognormal given by its own mean and standard deviation (not the log's)."""

    kind: Literal["lognormal"]
    mean_: PositiveFloat = Field(alias="mean")
    sd: PositiveFloat

    @model_validator(mode="after")
    def _spread(self) -> Lognormal:
        if self.sd > 1e3 * self.mean_:
            raise ValueError(f"sd ({self.sd}) more than 1000 times the mean ({self.mean_})")
        return self

    @property
    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        sigma2 = math.log1p((self.sd / self.mean_) ** 2)
        mu = math.log(self.mean_) - sigma2 / 2
        return rng.lognormal(mu, math.sqrt(sigma2), n)


class Gamma(_Dist):
    """Gamma given by its mean and coefficient of variation (sd / mean)."""

    kind: Literal["gamma"]
    mean_: PositiveFloat = Field(alias="mean")
    cv: Annotated[float, Field(gt=0, le=100)]

    @property
    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, self.mean_ / shape, n)


class Erlang(_Dist):
    """Erlang-k (sum of k exponentials) with the given overall mean."""

    kind: Literal["erlang"]
    k: Annotated[int, Field(ge=1, le=10_000)]
    mean_: PositiveFloat = Field(alias="mean")

    @property
    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.gamma(float(self.k), self.mean_ / self.k, n)


class Empirical(_Dist):
    """A discrete distribution over observed values with weights (normalised on use)."""

    kind: Literal["empirical"]
    values: list[Minutes] = Field(min_length=1)
    weights: list[Annotated[float, Field(ge=0, le=1e12)]] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Empirical:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights has {len(self.weights)} entries but values has {len(self.values)}"
                )
            if sum(self.weights) <= 0:
                raise ValueError("weights must not all be zero")
        return self

    def _p(self) -> np.ndarray:
        w = np.ones(len(self.values)) if self.weights is None else np.asarray(self.weights)
        return w / w.sum()

    @property
    def mean(self) -> float:
        return float(np.dot(self._p(), self.values))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(np.asarray(self.values, dtype=float), size=n, p=self._p())


Distribution = Annotated[
    Exponential | Deterministic | Uniform | Triangular | Lognormal | Gamma | Erlang | Empirical,
    Field(discriminator="kind"),
]
"""Any distribution, chosen by its ``kind`` key in YAML."""
