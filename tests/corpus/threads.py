"""Thread completion: results of thread jobs arriving in another order, or late.

Thread jobs take no virtual time, so their results arrive in the order they were started
unless a schedule delivers one late (``job_delay``): as a slow disk or a busy pool would.
"""

from __future__ import annotations

import asyncio
import json

from . import Pair


def read_config(text: str) -> dict[str, int]:
    return dict(json.loads(text))


async def config_layers(fixed: bool) -> dict[str, int]:
    config: dict[str, int] = {}
    layers: dict[str, dict[str, int]] = {}

    async def load(name: str, text: str, after: float) -> None:
        await asyncio.sleep(after)
        values = await asyncio.to_thread(read_config, text)
        if fixed:
            layers[name] = values
        else:
            config.update(values)  # BUG: layers applied in the order their reads finish

    await asyncio.gather(
        load("defaults", '{"timeout": 30, "retries": 3}', 0.0),
        load("site", '{"timeout": 5}', 0.1),
        load("user", '{"retries": 9}', 0.2),
    )
    if fixed:
        for name in ("defaults", "site", "user"):  # applied in their order of precedence
            config.update(layers[name])
    return config


async def notifications(fixed: bool) -> list[int]:
    sent: list[int] = []

    def send(message: int) -> str:
        if fixed and message in sent:  # idempotent: a message id is sent once
            return "already sent"
        sent.append(message)  # the thread sends the email at once ...
        return "sent"

    for message in range(5):
        for _attempt in range(3):
            try:
                # ... but its answer may come back after the timeout
                await asyncio.wait_for(asyncio.to_thread(send, message), timeout=0.5)
                break
            except TimeoutError:
                continue  # BUG unless idempotent: the email went out; this sends it again
        await asyncio.sleep(1.0)
    return sent


PAIRS = [
    Pair(
        "config_layers",
        "thread completion",
        "configuration layers read in threads are merged in the order the reads finish; "
        "a slow read of the defaults overrides the site's settings (the twin merges in "
        "precedence order)",
        config_layers,
        lambda config: config == {"timeout": 5, "retries": 9},
    ),
    Pair(
        "notify_retry",
        "thread completion",
        "a notification sent from a thread answers after the caller's timeout; the caller "
        "retries and the email goes out twice (the twin's sender is idempotent)",
        notifications,
        lambda sent: sent == [0, 1, 2, 3, 4],
    ),
]
