"""Accuracy and overhead of recording: a real aiohttp server, its client recorded and replayed.

    python benchmarks/recording.py [--rounds 5] [--seeds 10]

Starts ``tests/recording_programs/shop_server.py`` (a real ``aiohttp.web`` server on
127.0.0.1 with known delays and a route failing 25 % of the time) in its own
process, then, ``--rounds`` times, interleaved in this one process:

* runs ``shop_client.py`` plainly (``asyncio.run``) and recorded (``asyncsim record``'s
  harness), timing both with ``perf_counter`` and ``process_time``: the recording
  overhead, as the ratio recorded / plain of wall time and of CPU time;
* replays each recorded model in virtual time over ``--seeds`` seeds, with the CPU
  model charging each step its recorded CPU time (``cpu``) and its recorded wall
  time (``wall``), and compares makespan and per-route p50/p99 latencies with the
  recorded ones.

Prints one line per round and a summary (medians), with the load average beside
each round: the machine is shared, and real-time numbers move with its load.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import runpy
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = ROOT / "tests" / "recording_programs"


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(PROGRAMS / "shop_server.py"), "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("serving on "):
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, line.split()[-1]


def plain_run(port: str) -> tuple[float, float]:
    saved = sys.argv[:]
    sys.argv = [str(PROGRAMS / "shop_client.py"), port]
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            runpy.run_path(str(PROGRAMS / "shop_client.py"), run_name="__main__")
    finally:
        sys.argv = saved
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    from asyncsim.models.recorded import model_from_file
    from asyncsim.models.recorded._stats import exchange_stats, percentile, request_stats
    from asyncsim.recording.harness import record_script, replay_script

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=10)
    options = parser.parse_args()
    proc, port = start_server()
    client = str(PROGRAMS / "shop_client.py")
    rows = []
    try:
        plain_run(port)  # warm up: imports, the server's first requests
        for index in range(options.rounds):
            load = os.getloadavg()[0]
            plain_wall, plain_cpu = plain_run(port)
            wall, cpu = time.perf_counter(), time.process_time()
            with contextlib.redirect_stdout(io.StringIO()):
                recording = record_script(client, [port])
            rec_wall, rec_cpu = time.perf_counter() - wall, time.process_time() - cpu
            assert recording.model is not None
            row = {
                "load": load,
                "plain_wall": plain_wall,
                "plain_cpu": plain_cpu,
                "rec_wall": rec_wall,
                "rec_cpu": rec_cpu,
                "rec_makespan": recording.makespan,
            }
            for kind in ("cpu", "wall"):
                model = model_from_file(recording.model, cpu=kind)
                makespans = []
                sim_stats = []
                for seed in range(options.seeds):
                    replay = replay_script(client, [port], model, seed=seed, quiet=True)
                    makespans.append(replay.makespan)
                    sim_stats.append(replay.observations)
                row[f"sim_{kind}_makespan"] = statistics.median(makespans)
                row[f"sim_{kind}_spread"] = (min(makespans), max(makespans))
                if kind == "cpu":
                    # per-route percentiles: every seed's exchanges pooled
                    pooled: dict[str, list[float]] = {}
                    for observed in sim_stats:
                        for name, stats in exchange_stats(observed).items():
                            pooled.setdefault(name, []).extend(stats.latencies)
                    recorded = exchange_stats(recording.observations)
                    errors = {}
                    for name, stats in recorded.items():
                        values = sorted(pooled.get(name, []))
                        for q in (50, 99):
                            errors[f"{name.split(' ', 1)[1]} p{q}"] = (
                                stats.p(q),
                                percentile(values, q),
                            )
                    row["routes"] = errors
                    client_rec = request_stats(recording.observations)
                    row["client_p50"] = {k: v.p(50) for k, v in client_rec.items()}
            rows.append(row)
            print(
                f"round {index}: load {load:.2f}; makespan recorded {row['rec_makespan']:.3f} s, "
                f"simulated (cpu) {row['sim_cpu_makespan']:.3f} s "
                f"({row['sim_cpu_makespan'] / row['rec_makespan'] - 1:+.1%}), "
                f"(wall) {row['sim_wall_makespan']:.3f} s "
                f"({row['sim_wall_makespan'] / row['rec_makespan'] - 1:+.1%}); "
                f"overhead wall {rec_wall / plain_wall:.3f}x, cpu {rec_cpu / plain_cpu:.3f}x",
                flush=True,
            )
            for name, (rec, sim) in row["routes"].items():
                print(
                    f"    {name}: recorded {rec * 1000:.1f} ms, simulated {sim * 1000:.1f} ms "
                    f"({sim / rec - 1:+.1%})"
                )
    finally:
        proc.terminate()
        proc.wait(10)
    print("\nmedians over rounds:")
    for key in ("rec_makespan", "sim_cpu_makespan", "sim_wall_makespan"):
        print(f"  {key}: {statistics.median(r[key] for r in rows):.4f} s")
    for kind in ("cpu", "wall"):
        errors = [r[f"sim_{kind}_makespan"] / r["rec_makespan"] - 1 for r in rows]
        print(
            f"  makespan error ({kind} model): median {statistics.median(errors):+.1%}, "
            f"range {min(errors):+.1%} .. {max(errors):+.1%}"
        )
    route_names = rows[0]["routes"].keys()
    for name in route_names:
        errors = [r["routes"][name][1] / r["routes"][name][0] - 1 for r in rows]
        print(
            f"  {name} error: median {statistics.median(errors):+.1%}, "
            f"range {min(errors):+.1%} .. {max(errors):+.1%}"
        )
    walls = [r["rec_wall"] / r["plain_wall"] for r in rows]
    cpus = [r["rec_cpu"] / r["plain_cpu"] for r in rows]
    print(
        f"  recording overhead: wall {statistics.median(walls):.3f}x "
        f"(range {min(walls):.3f}..{max(walls):.3f}), "
        f"CPU {statistics.median(cpus):.3f}x (range {min(cpus):.3f}..{max(cpus):.3f})"
    )
    print(
        f"  load average over rounds: {min(r['load'] for r in rows):.2f} .. "
        f"{max(r['load'] for r in rows):.2f}"
    )


if __name__ == "__main__":
    main()
