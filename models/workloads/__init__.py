"""The classic asyncio programs of the seed notes, as reusable functions.

>>> import asyncsim
>>> from asyncsim.models.workloads import example_network, gather_fetches
>>> asyncsim.run(gather_fetches(requests=10), network=example_network(0.82)).elapsed
0.82
"""

from ._fetch import (
    Fetches,
    as_completed_fetches,
    example_network,
    fetch_status,
    gather_fetches,
    sequential_fetches,
    wait_fetches,
    wait_for_fetch,
)

__all__ = [
    "Fetches",
    "as_completed_fetches",
    "example_network",
    "fetch_status",
    "gather_fetches",
    "sequential_fetches",
    "wait_fetches",
    "wait_for_fetch",
]
