"""Things to simulate against: latency distributions, services, networks, workloads.

They stand on the layers below them (the clock, the loop, the instruments and the
simulation scope: :func:`asyncsim.current`), never on the facade (``asyncsim.run``).
"""

__all__: list[str] = []
