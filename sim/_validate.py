"""Checks of user arguments, in one error style: the parameter, what is allowed, the value.

Every public entry point validates its arguments here before any work starts, so a
bad argument fails at the call with a message such as::

    TypeError: max_steps must be an integer >= 1, got '10'
    ValueError: until must be a finite number of virtual seconds >= 0, got -1

A wrong *type* raises :class:`TypeError`, a value of the right type outside the
allowed range raises :class:`ValueError`. ``bool`` is never accepted where a number
is expected (``True`` is an ``int`` to Python, not to a user), and a number is never
accepted where a bool is expected (``"False"`` is truthy).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "check_bool",
    "check_int",
    "check_number",
    "check_seconds",
    "check_str",
    "is_number",
    "refuse",
]


def is_number(value: object) -> bool:
    """True for an ``int`` or ``float`` that is not a ``bool``."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def refuse(name: str, allowed: str, value: object, *, error: type[Exception] = TypeError) -> None:
    """Raise ``error`` saying that ``name`` must be ``allowed`` and was ``value``."""
    raise error(f"{name} must be {allowed}, got {value!r}")


def check_bool(name: str, value: object) -> bool:
    """``value`` if it is ``True`` or ``False``, else :class:`TypeError`."""
    if not isinstance(value, bool):
        refuse(name, "True or False", value)
    return bool(value)


def check_int(
    name: str, value: object, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """``value`` if it is an integer (not a bool) within ``[minimum, maximum]``."""
    allowed = "an integer" + _bounds(minimum, maximum)
    if isinstance(value, bool) or not isinstance(value, int):
        refuse(name, allowed, value)
    assert isinstance(value, int)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        refuse(name, allowed, value, error=ValueError)
    return value


def check_number(
    name: str,
    value: object,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    finite: bool = True,
    what: str = "a number",
) -> float:
    """``value`` as a float if it is a number (not a bool, NaN never) within the bounds.

    ``finite=False`` also accepts ``+inf`` (and ``-inf`` when no minimum forbids it).
    ``what`` names the quantity in the message (e.g. ``"a number of virtual seconds"``).
    """
    allowed = ("a finite " + what.removeprefix("a ") if finite else what) + _bounds(
        minimum, maximum
    )
    if not is_number(value):
        refuse(name, allowed, value)
    number = float(value)  # type: ignore[arg-type]
    if (
        math.isnan(number)
        or (finite and math.isinf(number))
        or (minimum is not None and number < minimum)
        or (maximum is not None and number > maximum)
    ):
        refuse(name, allowed, value, error=ValueError)
    return number


def check_seconds(name: str, value: object, *, minimum: float = 0.0, finite: bool = True) -> float:
    """``value`` as virtual seconds (a float >= ``minimum``; ``finite=False`` allows inf)."""
    return check_number(
        name, value, minimum=minimum, finite=finite, what="a number of virtual seconds"
    )


def check_str(name: str, value: object, *, empty: bool = True) -> str:
    """``value`` if it is a ``str`` (non-empty unless ``empty``)."""
    if not isinstance(value, str):
        refuse(name, "a str" if empty else "a non-empty str", value)
    assert isinstance(value, str)
    if not empty and not value:
        refuse(name, "a non-empty str", value, error=ValueError)
    return value


def _bounds(minimum: Any, maximum: Any) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum} to {maximum}"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""
