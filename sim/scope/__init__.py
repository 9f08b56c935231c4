"""The simulation scope: what one run shares, below everything that needs it.

``options`` (the checked record of a run's options, documented once), ``timepatch``
(the ``time`` module on the virtual clock) and ``simulation`` (:class:`asyncsim.Simulation`,
its seeded RNG streams, :func:`asyncsim.current` as a ContextVar).
"""
