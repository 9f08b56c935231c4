"""Things to simulate against: latency distributions, services, networks, workloads.

``models`` uses only the public API of :mod:`sim`.
"""

__all__: list[str] = []
