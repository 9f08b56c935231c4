"""Duration distributions: moments and quantiles for a fixed seed, determinism, validation."""

import asyncio
import hashlib
import math
import random
import statistics
from statistics import NormalDist

import pytest

import asyncsim
from asyncsim.models.distributions import (
    Constant,
    Empirical,
    Exponential,
    LogNormal,
    Mixture,
    Normal,
    Uniform,
    as_distribution,
    stream,
)

N = 20_000


def draws(dist, seed=1234, n=N):
    rng = random.Random(seed)
    return [dist.sample(rng) for _ in range(n)]


def quantile(xs, q):
    return statistics.quantiles(xs, n=100)[round(q * 100) - 1]


def test_constant_always_returns_its_value():
    assert set(draws(Constant(0.82), n=100)) == {0.82}


def test_uniform_has_the_expected_mean_and_quartiles():
    xs = draws(Uniform(1.0, 3.0))
    assert min(xs) >= 1.0 and max(xs) <= 3.0
    assert statistics.fmean(xs) == pytest.approx(2.0, abs=0.02)
    assert quantile(xs, 0.25) == pytest.approx(1.5, abs=0.03)
    assert quantile(xs, 0.75) == pytest.approx(2.5, abs=0.03)


def test_exponential_has_the_expected_mean_and_median():
    xs = draws(Exponential(mean=0.5))
    assert min(xs) >= 0
    assert statistics.fmean(xs) == pytest.approx(0.5, rel=0.03)
    assert statistics.median(xs) == pytest.approx(0.5 * math.log(2), rel=0.03)


def test_exponential_from_rate_is_the_mean_of_its_inverse():
    assert Exponential.from_rate(4.0) == Exponential(0.25)


def test_normal_far_from_zero_has_the_expected_mean_and_quantiles():
    xs = draws(Normal(mean=1.0, sd=0.1))
    assert statistics.fmean(xs) == pytest.approx(1.0, abs=0.005)
    assert statistics.stdev(xs) == pytest.approx(0.1, rel=0.03)
    assert quantile(xs, 0.9) == pytest.approx(1.0 + 0.1 * NormalDist().inv_cdf(0.9), abs=0.005)


def test_normal_is_truncated_at_zero_not_clipped():
    xs = draws(Normal(mean=0.0, sd=1.0))
    assert min(xs) > 0  # no mass piled up at exactly 0
    # The half-normal: mean sd * sqrt(2 / pi), median sd * inv_cdf(0.75).
    assert statistics.fmean(xs) == pytest.approx(math.sqrt(2 / math.pi), rel=0.03)
    assert statistics.median(xs) == pytest.approx(NormalDist().inv_cdf(0.75), rel=0.03)


def test_lognormal_has_median_exp_mu_and_the_expected_mean():
    xs = draws(LogNormal(mu=math.log(0.2), sigma=0.5))
    assert statistics.median(xs) == pytest.approx(0.2, rel=0.03)
    assert statistics.fmean(xs) == pytest.approx(0.2 * math.exp(0.5**2 / 2), rel=0.03)


def test_lognormal_from_mean_sd_reproduces_that_mean_and_sd():
    xs = draws(LogNormal.from_mean_sd(0.8, 0.2))
    assert statistics.fmean(xs) == pytest.approx(0.8, rel=0.02)
    assert statistics.stdev(xs) == pytest.approx(0.2, rel=0.05)


def test_empirical_resamples_the_observations_equally_often():
    xs = draws(Empirical([0.1, 0.2, 0.7]))
    assert set(xs) == {0.1, 0.2, 0.7}
    for value in (0.1, 0.2, 0.7):
        assert xs.count(value) / N == pytest.approx(1 / 3, abs=0.015)


def test_mixture_picks_components_by_weight():
    xs = draws(Mixture([Constant(0.1), Uniform(1.0, 2.0)], weights=[0.9, 0.1]))
    fast = sum(1 for x in xs if x == 0.1)
    assert fast / N == pytest.approx(0.9, abs=0.01)
    assert all(x == 0.1 or 1.0 <= x <= 2.0 for x in xs)
    assert statistics.fmean(xs) == pytest.approx(0.9 * 0.1 + 0.1 * 1.5, rel=0.03)


def test_mixture_accepts_numbers_as_constants_and_defaults_to_equal_weights():
    mix = Mixture([0.1, 0.3])
    assert mix.components == (Constant(0.1), Constant(0.3))
    assert mix.weights == (1.0, 1.0)
    assert statistics.fmean(draws(mix)) == pytest.approx(0.2, rel=0.02)


@pytest.mark.parametrize(
    "dist",
    [
        Constant(1.0),
        Uniform(0.0, 1.0),
        Exponential(1.0),
        Normal(1.0, 0.5),
        LogNormal(0.0, 1.0),
        Empirical([1.0, 2.0]),
        Mixture([Exponential(1.0), Constant(2.0)]),
    ],
    ids=lambda d: type(d).__name__,
)
def test_each_distribution_is_deterministic_per_seed_and_differs_across_seeds(dist):
    assert draws(dist, seed=7, n=50) == draws(dist, seed=7, n=50)
    if not isinstance(dist, Constant):
        assert draws(dist, seed=7, n=50) != draws(dist, seed=8, n=50)


def test_distributions_are_frozen_and_hashable():
    assert {Exponential(1.0), Exponential(1.0)} == {Exponential(1.0)}
    with pytest.raises(AttributeError):
        Exponential(1.0).mean = 2.0  # type: ignore[misc]


def test_each_sample_consumes_one_draw_so_parameter_changes_keep_draws_aligned():
    a, b = random.Random(3), random.Random(3)
    Uniform(0.0, 1.0).sample(a)
    Normal(5.0, 1.0).sample(b)
    assert a.random() == b.random()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Constant(-1.0), "value must be a finite number of seconds >= 0, got -1.0"),
        (lambda: Constant(math.nan), "value must be a finite number of seconds >= 0, got nan"),
        (lambda: Uniform(-0.5, 1.0), "low must be a finite number of seconds >= 0, got -0.5"),
        (lambda: Uniform(2.0, 1.0), "high must be >= low (2.0), got 1.0"),
        (lambda: Exponential(0.0), "mean must be a finite number > 0, got 0.0"),
        (lambda: Exponential.from_rate(-2), "rate must be a finite number > 0, got -2"),
        (lambda: Normal(-1.0, 1.0), "mean must be a finite number of seconds >= 0, got -1.0"),
        (lambda: Normal(1.0, 0.0), "sd must be a finite number > 0, got 0.0"),
        (lambda: LogNormal(0.0, -1.0), "sigma must be a finite number > 0, got -1.0"),
        (lambda: Empirical([]), "samples must hold at least one duration"),
        (
            lambda: Empirical([0.1, -0.2]),
            "samples[1] must be a finite number of seconds >= 0, got -0.2",
        ),
        (lambda: Mixture([]), "components must hold at least one distribution"),
        (lambda: Mixture([1.0, 2.0], weights=[1.0]), "one entry per component (2), got 1"),
        (lambda: Mixture([1.0], weights=[0.0]), "weights[0] must be a finite number > 0, got 0.0"),
    ],
)
def test_bad_parameters_raise_value_error_naming_parameter_and_value(make, message):
    with pytest.raises(ValueError) as info:
        make()
    assert message in str(info.value)


def test_parameters_of_the_wrong_type_raise_type_error():
    with pytest.raises(TypeError, match="value must be a finite number of seconds >= 0, got '1'"):
        Constant("1")  # type: ignore[arg-type]
    with pytest.raises(
        TypeError, match=r"latency must be a number of seconds or an asyncsim\.models"
    ):
        as_distribution("fast", name="latency")
    with pytest.raises(TypeError, match=r"rng must be a random\.Random"):
        Constant(1.0).sample(42)  # type: ignore[arg-type]


def test_as_distribution_turns_numbers_into_constants_and_keeps_distributions():
    assert as_distribution(0.82) == Constant(0.82)
    assert as_distribution(3) == Constant(3.0)
    dist = Exponential(1.0)
    assert as_distribution(dist) is dist
    with pytest.raises(ValueError, match="latency must be a finite number of seconds >= 0, got -1"):
        as_distribution(-1, name="latency")


def test_sampling_outside_a_simulation_without_rng_says_what_to_pass():
    with pytest.raises(RuntimeError, match=r"needs an explicit rng, e.g. .sample\(random.Random"):
        Exponential(1.0).sample()
    with pytest.raises(RuntimeError, match="needs a running simulation"):
        stream("db")


def test_inside_a_simulation_sampling_uses_the_seeded_simulation_rng():
    async def main():
        return [Exponential(1.0).sample() for _ in range(3)]

    assert asyncsim.run(main(), seed=5) == asyncsim.run(main(), seed=5)
    assert asyncsim.run(main(), seed=5) != asyncsim.run(main(), seed=6)


def test_streams_depend_only_on_seed_and_name_so_new_components_do_not_shift_others():
    async def main(extra_component):
        if extra_component:
            noisy = stream("cache")
            [noisy.random() for _ in range(10)]
        db = stream("db")
        return [Exponential(1.0).sample(db) for _ in range(3)]

    assert asyncsim.run(main(False), seed=1) == asyncsim.run(main(True), seed=1)


def test_a_stream_is_reused_per_name_and_differs_between_names():
    with asyncsim.Simulation(seed=9) as simulation:
        assert simulation.stream("db") is simulation.stream("db")
        assert simulation.stream("db").random() != simulation.stream("web").random()


def test_streams_are_derived_from_sha256_of_seed_and_name_stable_across_processes():
    # Python's salted hash() would change from process to process; sha256 does not.
    digest = hashlib.sha256(b"int:1" + b"\x00" + b"db").digest()
    expected = random.Random(int.from_bytes(digest, "big")).random()
    with asyncsim.Simulation(seed=1) as simulation:
        assert simulation.stream("db").random() == expected
    with asyncsim.Simulation(seed="1") as simulation:
        assert simulation.stream("db").random() != expected  # int 1 and str "1" differ


def test_stream_names_must_be_strings():
    with asyncsim.Simulation(seed=1) as simulation, pytest.raises(TypeError, match="stream name"):
        simulation.stream(3)  # type: ignore[arg-type]


def test_sampling_inside_a_task_needs_no_rng():
    async def main():
        await asyncio.sleep(Constant(0.5).sample())
        return asyncio.get_running_loop().time()

    assert asyncsim.run(main(), seed=0) == 0.5
