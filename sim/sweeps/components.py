"""The components of a program that a what-if profile can scale, and naming them.

:func:`asyncsim.whatif` finds them in a first run (see :mod:`asyncsim.core.durations` for
the kinds and their keys); a user names them by key (``service:db``), by call site
(``app.py:12``) or by a bare name (``db``), which :func:`resolve` turns into one of them.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from asyncsim.core.durations import KINDS, split_key

__all__ = ["Component", "check_name", "resolve"]

_SITE = re.compile(r"^(?P<file>.+):(?P<line>\d+)$")


@dataclass(frozen=True)
class Component:
    """Something whose virtual durations a profile scales (see :mod:`asyncsim.core.durations`).

    ``count`` and ``total`` (virtual seconds, before any scaling) are what it gave in
    the first seed's run; ``critical`` the seconds of that run's critical path it
    accounts for (durations it gave that a task on the path waited for).
    """

    key: str
    label: str
    count: int
    total: float
    critical: float = 0.0

    @property
    def kind(self) -> str:
        """``sleep``, ``service``, ``cpu`` ... (see :data:`asyncsim.core.durations.KINDS`)."""
        return split_key(self.key)[0]

    @property
    def name(self) -> str:
        """The short name that selects it: ``app.py:12``, ``service:db``."""
        kind, rest = split_key(self.key)
        if kind in ("sleep", "timer", "block"):
            path, _, line = rest.rpartition(":")
            return f"{os.path.basename(path)}:{line}"
        return self.key


def _site_matches(component: Component, path: str, line: str) -> bool:
    if component.kind not in ("sleep", "timer", "block"):
        return False
    where, _, at = split_key(component.key)[1].rpartition(":")
    if at != line:
        return False
    path = path.replace("/", os.sep)
    return where == path or where.endswith(os.sep + path.lstrip(os.sep))


def _matches(spec: str, component: Component) -> bool:
    kind, rest = split_key(spec)
    ckind, crest = split_key(component.key)
    if kind in KINDS:
        if kind != ckind:
            return False
        if kind in ("sleep", "timer", "block"):
            site = _SITE.match(rest)
            return site is not None and _site_matches(component, site["file"], site["line"])
        if kind in ("cpu", "thread"):
            return rest in (crest, crest.rpartition(".")[2])
        if kind == "link":
            a, _, b = crest.partition("<->")
            return rest in {
                f"{x}{sep}{y}" for x, y in ((a, b), (b, a)) for sep in ("<->", "-", ",")
            }
        return rest == crest
    site = _SITE.match(spec)
    if site is not None:
        return _site_matches(component, site["file"], site["line"])
    if ckind in ("cpu", "thread"):
        return spec in (crest, crest.rpartition(".")[2])
    return ckind in ("service", "http") and spec == crest


def check_name(name: str, spec: str) -> None:
    """Refuse (ValueError) a component name that can name nothing, before any run.

    A name is ``KIND:NAME`` for a kind of :data:`asyncsim.core.durations.KINDS`,
    ``FILE:LINE`` or a bare name; ``name`` is the argument's name in the message.
    """
    kind, rest = split_key(spec)
    if not rest or kind in KINDS or _SITE.match(spec):
        if kind in KINDS and not rest:
            raise ValueError(f"{name}: {spec!r} names a kind of component but not which one")
        return
    raise ValueError(
        f"{name}: {spec!r} is no component name: {kind!r} is not a kind of component "
        f"({', '.join(KINDS)}); give KIND:NAME (e.g. 'service:db'), FILE:LINE of a sleep "
        "(e.g. 'app.py:12') or a bare name (e.g. 'db')"
    )


def resolve(spec: str, found: Sequence[Component]) -> Component:
    """The component ``spec`` names among ``found`` (ValueError if none or several)."""
    for component in found:
        if component.key == spec:
            return component
    matches = [c for c in found if _matches(spec, c)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ValueError(
            f"components: {spec!r} names several components: "
            f"{', '.join(c.name for c in matches)}; give one of those"
        )
    names = sorted({c.name for c in found})
    close = difflib.get_close_matches(spec, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listed = ", ".join(names) if names else "none: it gave no virtual durations"
    raise ValueError(
        f"components: {spec!r} is not a component of this program{hint}; the first seed's "
        f"run has: {listed}"
    )
