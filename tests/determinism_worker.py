"""A process that runs generated programs (:mod:`tests.determinism_programs`) on request.

``python -m tests.determinism_worker GARBAGE_SEED``: reads one JSON program per line
on stdin and writes one JSON result per line on stdout. Before each program it
allocates (and keeps) a pseudo-random amount of garbage of pseudo-random sizes, drawn
from ``GARBAGE_SEED``, so two workers with different seeds (and different
``PYTHONHASHSEED``) run the same programs at different memory addresses.
"""

from __future__ import annotations

import json
import random
import sys

from tests.determinism_programs import execute


def main() -> None:
    garbage_rng = random.Random(int(sys.argv[1]))
    kept: list[object] = []
    for line in sys.stdin:
        for _ in range(garbage_rng.randint(0, 50)):
            size = garbage_rng.choice((1, 7, 64, 300, 5000))
            kept.append([object() for _ in range(size)] if size < 300 else bytearray(size))
        if len(kept) > 2000:
            del kept[: garbage_rng.randint(0, 2000)]
        request = json.loads(line)
        result = execute(request["program"], seed=request["seed"])
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
