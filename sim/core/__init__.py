"""The loop core: :class:`~asyncsim.core.loop.VirtualEventLoop` and what it is made of.

:func:`active_core` says which implementation of the hot path new loops use
(``"compiled"`` or ``"python"``; see :mod:`asyncsim.core.cores`).
"""

from asyncsim.core.cores import active_core, core_info

__all__ = ["active_core", "core_info"]
