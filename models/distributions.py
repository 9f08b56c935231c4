"""Duration distributions for models: latency, service times, think times.

Every distribution is a small frozen (hashable, comparable) object whose
:meth:`~Distribution.sample` returns a duration in virtual seconds (a float >= 0).
It draws from the ``random.Random`` you pass; inside a simulation with no ``rng``
it draws from the simulation's RNG (:attr:`asyncsim.Simulation.rng`). Components
should draw from their own stream, so that adding a component does not shift
the draws of the others::

    rng = asyncsim.models.distributions.stream("server:db")   # asyncsim.current().stream(...)
    delay = Exponential(mean=0.05).sample(rng)

Each sample of Constant, Uniform, Exponential, Normal, LogNormal and Empirical
consumes exactly one ``rng.random()`` draw (inverse-CDF sampling), and a
Mixture two; so changing a parameter keeps the other draws aligned (common
random numbers across a parameter sweep).

A model parameter that takes "a duration" takes a :data:`Duration`: a number of virtual
seconds or any :class:`Sampler` (an object with ``sample(rng) -> seconds``; every
distribution here is one). :func:`check_duration` checks such a parameter and
:func:`sample_duration` draws one, refusing a draw that is not a duration.

Bad parameters raise ``ValueError`` (or ``TypeError`` for a wrong type) naming the
parameter and the value.

Examples
--------
>>> import random
>>> from asyncsim.models.distributions import Constant, Uniform
>>> Constant(0.82).sample(random.Random(1))
0.82
>>> 1.0 <= Uniform(1.0, 2.0).sample(random.Random(1)) <= 2.0
True
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Protocol, runtime_checkable

from asyncsim._validate import check_number, is_number, refuse
from asyncsim.scope.simulation import current

__all__ = [
    "Constant",
    "Distribution",
    "Duration",
    "Empirical",
    "Exponential",
    "LogNormal",
    "Mixture",
    "Normal",
    "Sampler",
    "Uniform",
    "as_distribution",
    "check_duration",
    "sample_duration",
    "stream",
]

_STANDARD_NORMAL = NormalDist()
# Smallest and largest probabilities handed to an inverse CDF (both ends are open).
_P_MIN = 2.0**-64
_P_MAX = 1.0 - 2.0**-53


def _duration(name: str, value: object) -> float:
    return check_number(name, value, minimum=0, what="a number of seconds")


def _positive(name: str, value: object) -> float:
    number = check_number(name, value, what="a number")
    if number <= 0:
        refuse(name, "a finite number > 0", value, error=ValueError)
    return number


@runtime_checkable
class Sampler(Protocol):
    """Anything that draws a duration in virtual seconds from an RNG (every distribution)."""

    def sample(self, rng: random.Random) -> float: ...


#: What a duration parameter takes: a number of virtual seconds or a :class:`Sampler`.
Duration = float | Sampler

_DURATION_HELP = (
    "a number of virtual seconds or a distribution with a sample(rng) method "
    "(e.g. asyncsim.models.distributions.Constant(0.1))"
)


def check_duration(name: str, value: object) -> Duration:
    """``value`` if it is a number of seconds >= 0 or a :class:`Sampler`, else a clear error."""
    if isinstance(value, Sampler):
        return value
    if not is_number(value):
        refuse(name, _DURATION_HELP, value)
    assert isinstance(value, (int, float))
    _duration(name, value)
    return value  # as given: an int stays an int


def sample_duration(name: str, value: Duration, rng: random.Random) -> float:
    """One draw of ``value`` (a number or a :class:`Sampler`) in virtual seconds, checked."""
    if isinstance(value, (int, float)):  # checked when the model was built
        return float(value)
    seconds = value.sample(rng)
    if not is_number(seconds) or not math.isfinite(seconds) or seconds < 0:
        raise ValueError(
            f"{name} distribution {value!r} drew {seconds!r}; durations must be finite "
            "numbers of seconds >= 0 (truncate the distribution at 0)"
        )
    return float(seconds)


def stream(name: str) -> random.Random:
    """The current simulation's random stream ``name`` (see :meth:`asyncsim.Simulation.stream`).

    Raises ``RuntimeError`` outside a simulation: pass an explicit
    ``random.Random(seed)`` to :meth:`Distribution.sample` there instead.
    """
    simulation = current()
    if simulation is None:
        raise RuntimeError(
            f"models.distributions.stream({name!r}) needs a running simulation "
            "(asyncsim.run / asyncsim.simulate / asyncsim run); "
            "outside one, use random.Random(seed)"
        )
    return simulation.stream(name)


def _resolve(rng: random.Random | None, what: Distribution) -> random.Random:
    if rng is None:
        simulation = current()
        if simulation is None:
            raise RuntimeError(
                f"{what!r}.sample() outside a simulation needs an explicit rng, "
                "e.g. .sample(random.Random(42))"
            )
        return simulation.rng
    if not callable(getattr(rng, "random", None)):
        raise TypeError(f"rng must be a random.Random, got {type(rng).__name__} {rng!r}")
    return rng


class Distribution:
    """Base class: a distribution of durations in virtual seconds."""

    def sample(self, rng: random.Random | None = None) -> float:
        """Draw one duration in virtual seconds (>= 0).

        Parameters
        ----------
        rng : random.Random, optional
            Where to draw from. Defaults to the current simulation's RNG
            (:attr:`asyncsim.Simulation.rng`); outside a simulation it is required.
        """
        return self._draw(_resolve(rng, self))

    def _draw(self, rng: random.Random) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Constant(Distribution):
    """Always ``value`` seconds."""

    value: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _duration("value", self.value))

    def _draw(self, rng: random.Random) -> float:
        rng.random()  # one draw per sample, like every other distribution
        return self.value


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniform between ``low`` and ``high`` seconds (``0 <= low <= high``)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        low = _duration("low", self.low)
        high = _duration("high", self.high)
        if high < low:
            raise ValueError(f"high must be >= low ({low!r}), got {self.high!r}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def _draw(self, rng: random.Random) -> float:
        return self.low + (self.high - self.low) * rng.random()


@dataclass(frozen=True)
class Exponential(Distribution):
    """Exponential with the given ``mean`` seconds (rate ``1/mean``): memoryless gaps."""

    mean: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", _positive("mean", self.mean))

    @classmethod
    def from_rate(cls, rate: float) -> Exponential:
        """Exponential with ``rate`` events per second (mean ``1/rate`` seconds)."""
        return cls(1.0 / _positive("rate", rate))

    def _draw(self, rng: random.Random) -> float:
        return -self.mean * math.log(1.0 - rng.random())


@dataclass(frozen=True)
class Normal(Distribution):
    """Normal with ``mean`` and standard deviation ``sd`` seconds, truncated at 0.

    Negative values are not clipped to 0 but never drawn (the density is
    renormalised over ``[0, inf)``), so the sample mean is slightly above
    ``mean`` when ``sd`` is not small against it.
    """

    mean: float
    sd: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", _duration("mean", self.mean))
        object.__setattr__(self, "sd", _positive("sd", self.sd))

    def _draw(self, rng: random.Random) -> float:
        low = _STANDARD_NORMAL.cdf(-self.mean / self.sd)  # mass below 0, cut off
        p = min(max(low + (1.0 - low) * rng.random(), _P_MIN), _P_MAX)
        return max(0.0, self.mean + self.sd * _STANDARD_NORMAL.inv_cdf(p))


@dataclass(frozen=True)
class LogNormal(Distribution):
    """Log-normal: ``exp(N(mu, sigma))`` seconds, as ``random.lognormvariate(mu, sigma)``.

    ``exp(mu)`` is the median. Use :meth:`from_mean_sd` to give the mean and
    standard deviation of the durations themselves.
    """

    mu: float
    sigma: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "mu", check_number("mu", self.mu, what="a number"))
        object.__setattr__(self, "sigma", _positive("sigma", self.sigma))

    @classmethod
    def from_mean_sd(cls, mean: float, sd: float) -> LogNormal:
        """Log-normal whose durations have this ``mean`` and standard deviation ``sd``."""
        m = _positive("mean", mean)
        s = _positive("sd", sd)
        sigma2 = math.log1p((s / m) ** 2)
        return cls(math.log(m) - sigma2 / 2, math.sqrt(sigma2))

    def _draw(self, rng: random.Random) -> float:
        p = min(max(rng.random(), _P_MIN), _P_MAX)
        return math.exp(self.mu + self.sigma * _STANDARD_NORMAL.inv_cdf(p))


@dataclass(frozen=True)
class Empirical(Distribution):
    """Resample observed durations: each sample is one of ``samples``, equally likely.

    Parameters
    ----------
    samples : iterable of float
        Observed durations in seconds (at least one, each finite and >= 0).
    """

    samples: tuple[float, ...]

    def __init__(self, samples: Iterable[float]) -> None:
        if isinstance(samples, (str, bytes)) or not isinstance(samples, Iterable):
            raise TypeError(f"samples must be an iterable of seconds, got {samples!r}")
        values = tuple(_duration(f"samples[{i}]", v) for i, v in enumerate(samples))
        if not values:
            raise ValueError("samples must hold at least one duration, got an empty sequence")
        object.__setattr__(self, "samples", values)

    def _draw(self, rng: random.Random) -> float:
        n = len(self.samples)
        return self.samples[min(int(rng.random() * n), n - 1)]


@dataclass(frozen=True)
class Mixture(Distribution):
    """Pick a component with probability proportional to its weight, then sample it.

    Parameters
    ----------
    components : sequence of Distribution or float
        The components (numbers mean :class:`Constant`).
    weights : sequence of float, optional
        Positive weights, one per component; equal by default.

    Examples
    --------
    >>> slow_tail = Mixture([Constant(0.1), Constant(2.0)], weights=[0.99, 0.01])
    """

    components: tuple[Distribution, ...]
    weights: tuple[float, ...] = field(default=())
    _cumulative: tuple[float, ...] = field(default=(), init=False, repr=False, compare=False)

    def __init__(
        self,
        components: Sequence[Distribution | float],
        weights: Sequence[float] | None = None,
    ) -> None:
        if isinstance(components, (str, bytes)) or not isinstance(components, Iterable):
            raise TypeError(f"components must be a sequence of distributions, got {components!r}")
        comps = tuple(as_distribution(c, name=f"components[{i}]") for i, c in enumerate(components))
        if not comps:
            raise ValueError("components must hold at least one distribution, got none")
        if weights is None:
            ws = tuple(1.0 for _ in comps)
        else:
            ws = tuple(_positive(f"weights[{i}]", w) for i, w in enumerate(weights))
            if len(ws) != len(comps):
                raise ValueError(
                    f"weights must have one entry per component ({len(comps)}), got {len(ws)}"
                )
        cumulative: list[float] = []
        total = 0.0
        for w in ws:
            total += w
            cumulative.append(total)
        object.__setattr__(self, "components", comps)
        object.__setattr__(self, "weights", ws)
        object.__setattr__(self, "_cumulative", tuple(c / total for c in cumulative))

    def _draw(self, rng: random.Random) -> float:
        index = bisect.bisect_right(self._cumulative, rng.random())
        return self.components[min(index, len(self.components) - 1)]._draw(rng)


def as_distribution(value: Any, *, name: str = "duration") -> Distribution:
    """``value`` as a :class:`Distribution`: numbers become :class:`Constant`.

    For model parameters that accept "a duration or a distribution".

    Parameters
    ----------
    value : float or Distribution
        Seconds, or a distribution of seconds.
    name : str
        The parameter's name, used in error messages.
    """
    if isinstance(value, Distribution):
        return value
    if not is_number(value):
        refuse(
            name,
            "a number of seconds or an asyncsim.models.distributions.Distribution "
            "(Constant, Uniform, Exponential, Normal, LogNormal, Empirical, Mixture)",
            value,
        )
    return Constant(_duration(name, value))
