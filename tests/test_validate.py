"""asyncsim._validate: one error style for every user argument (parameter, allowed, value)."""

import math

import pytest

from asyncsim._validate import check_bool, check_int, check_number, check_seconds, check_str


def test_a_bool_parameter_refuses_strings_and_numbers():
    assert check_bool("trace", True) is True
    with pytest.raises(TypeError, match=r"^trace must be True or False, got 'False'$"):
        check_bool("trace", "False")
    with pytest.raises(TypeError, match=r"got 1$"):
        check_bool("trace", 1)


def test_an_integer_parameter_refuses_bools_floats_and_values_out_of_range():
    assert check_int("max_steps", 5, minimum=1) == 5
    with pytest.raises(TypeError, match=r"^max_steps must be an integer >= 1, got True$"):
        check_int("max_steps", True, minimum=1)
    with pytest.raises(TypeError, match=r"got 2\.0$"):
        check_int("max_steps", 2.0, minimum=1)
    with pytest.raises(ValueError, match=r"^port must be an integer from 1 to 65535, got 0$"):
        check_int("port", 0, minimum=1, maximum=65535)


def test_seconds_are_finite_non_negative_numbers_unless_infinity_is_allowed():
    assert check_seconds("until", 3) == 3.0
    with pytest.raises(
        ValueError, match=r"^until must be a finite number of virtual seconds >= 0\.0, got -1$"
    ):
        check_seconds("until", -1)
    with pytest.raises(ValueError, match="got nan"):
        check_seconds("until", math.nan)
    with pytest.raises(ValueError, match="got inf"):
        check_seconds("until", math.inf)
    assert check_seconds("timeout", math.inf, finite=False) == math.inf
    with pytest.raises(ValueError, match="got nan"):
        check_seconds("timeout", math.nan, finite=False)
    with pytest.raises(TypeError, match=r"got '1'$"):
        check_seconds("until", "1")


def test_numbers_respect_both_bounds():
    assert check_number("p", 0.5, minimum=0, maximum=1) == 0.5
    with pytest.raises(ValueError, match=r"^p must be a finite number from 0 to 1, got 2$"):
        check_number("p", 2, minimum=0, maximum=1)


def test_strings_can_be_required_non_empty():
    assert check_str("label", "") == ""
    with pytest.raises(ValueError, match=r"^lane must be a non-empty str, got ''$"):
        check_str("lane", "", empty=False)
    with pytest.raises(TypeError, match=r"^label must be a str, got 3$"):
        check_str("label", 3)
