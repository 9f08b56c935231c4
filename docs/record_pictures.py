"""Draw the README's recorded and simulated timelines of the same program.

``python docs/record_pictures.py`` (from the project root) starts the real
``aiohttp.web`` server of ``tests/recording_programs/shop_server.py`` on 127.0.0.1,
records ``shop_client.py`` against it (real time), replays the model in virtual
time (seed 0) and writes ``docs/shop_recorded.png`` and ``docs/shop_simulated.png``
(rows grouped by coroutine, the same time scale), plus the comparison page in
``reports/shop-compare/``. The recorded picture is of a real run: it differs from
run to run (and with the machine's load).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "tests" / "recording_programs"


def main() -> None:
    from asyncsim.recording import compare

    server = subprocess.Popen(
        [sys.executable, str(PROGRAMS / "shop_server.py"), "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = server.stdout.readline().split()[-1]
        comparison = compare(PROGRAMS / "shop_client.py", [port], seeds=20)
        folder = ROOT / "reports" / "shop-compare"
        index = comparison.report(folder, force=True, max_rows=8)
    finally:
        server.terminate()
        server.wait(10)
    for name in ("recorded", "simulated"):
        shutil.copy(folder / f"{name}.png", ROOT / "docs" / f"shop_{name}.png")
    recorded, simulated = comparison.recorded.makespan, comparison.simulated.makespan
    print(
        f"recorded makespan {recorded:.3f} s, simulated {simulated:.3f} s "
        f"({simulated / recorded - 1:+.1%}); load average {os.getloadavg()[0]:.2f}; "
        f"page: {index}"
    )


if __name__ == "__main__":
    main()
