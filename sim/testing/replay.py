"""The schedule that ``pytest --asyncsim-replay=STRING`` plays in every drawn schedule.

The pytest plugin sets :data:`replayed` when the session starts, and every
:func:`asyncsim.testing.strategies.schedules` draws it instead of exploring. It lives
apart from both, so that the plugin (loaded into every pytest session) never imports
hypothesis to set it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asyncsim.core.schedule import Schedule

__all__ = ["replayed"]

#: The schedule every ``schedules()`` draws, or None: explore as usual.
replayed: Schedule | None = None
