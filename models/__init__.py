"""Things to simulate against: latency distributions, services, networks, workloads.

They stand on the layers below them (the clock, the loop, the instruments and the
simulation scope: :func:`asyncsim.current`), never on the facade (``asyncsim.run``).
:func:`load` reads a model file recorded from a real run (``asyncsim record``; see
:mod:`asyncsim.models.recorded`), loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["load"]

if TYPE_CHECKING:
    from asyncsim.models.recorded import load


def __getattr__(name: str) -> Any:
    if name == "load":  # on first use: `import asyncsim.models` stays cheap
        from asyncsim.models.recorded import load

        return load
    raise AttributeError(f"module 'asyncsim.models' has no attribute {name!r}")
