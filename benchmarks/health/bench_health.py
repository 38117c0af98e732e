"""Throughput of /health/live against a bare ASGI handler returning the same bytes on the same uvicorn server,
and of cached /health/ready against /health/live (wrk, keep-alive, one server process).

Each round measures the three paths back to back (order alternating); a ratio is taken per round and the median
over rounds is reported. Two figures per path: wall-clock throughput (what a client sees) and throughput per
CPU-second of the server process (/proc/<pid>/stat), which stays meaningful when other processes share the
machine.

    .venv/bin/python -m benchmarks.health.bench_health [--rounds 9] [--seconds 3] [--connections 32]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from tests.support.postgres import free_port
from tests.support.processes import wait_http

LUA = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.1f\\n", summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50)))
end
"""
PATHS = {"bare": "/bare", "live": "/health/live", "ready": "/health/ready"}
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def run_wrk(url: str, seconds: int, connections: int, script: Path, pid: int) -> tuple[float, float, float]:
    """(requests per wall second, requests per server CPU second, errors)."""
    cpu_before = cpu_seconds(pid)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = cpu_seconds(pid) - cpu_before
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
    requests, duration_us, errors, _p50 = (float(x) for x in line.split()[1:])
    return requests / (duration_us / 1e6), requests / max(cpu, 1.0 / TICKS), errors


def ratio(values: dict[str, list[float]], a: str, b: str) -> float:
    return statistics.median(x / y for x, y in zip(values[a], values[b], strict=True))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not installed (apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-health-"))
    script = tmp / "report.lua"
    script.write_text(LUA)
    port = free_port()
    env = {**os.environ, "BENCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'bench.db'}"}
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "benchmarks.health.apps:make_app",
        "--port", str(port), "--no-access-log", "--log-level", "warning", "--lifespan", "off",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wall: dict[str, list[float]] = {name: [] for name in PATHS}
    per_cpu: dict[str, list[float]] = {name: [] for name in PATHS}
    try:
        wait_http(f"{base}/bare")
        for path in PATHS.values():
            with urllib.request.urlopen(base + path) as response:
                assert response.status == 200, path
            run_wrk(base + path, 2, args.connections, script, server.pid)  # warm-up
        for r in range(args.rounds):
            order = list(PATHS) if r % 2 == 0 else list(reversed(PATHS))
            for name in order:
                rps, rpc, errors = run_wrk(
                    base + PATHS[name], args.seconds, args.connections, script, server.pid
                )
                if errors:
                    sys.exit(f"{name}: {errors:.0f} errors")
                wall[name].append(rps)
                per_cpu[name].append(rpc)
            print(
                f"round {r + 1}: "
                + ", ".join(f"{n} {wall[n][-1]:.0f} req/s ({per_cpu[n][-1]:.0f} per CPU-s)" for n in PATHS),
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(10)
    for name in PATHS:
        print(
            f"{name:5s} {PATHS[name]:15s} median {statistics.median(wall[name]):7.0f} req/s, "
            f"{statistics.median(per_cpu[name]):7.0f} req per server CPU-second"
        )
    live_wall, ready_wall = ratio(wall, "live", "bare"), ratio(wall, "ready", "live")
    live_cpu, ready_cpu = ratio(per_cpu, "live", "bare"), ratio(per_cpu, "ready", "live")
    print(f"/health/live  / bare handler: wall {live_wall:.3f}, per CPU {live_cpu:.3f}  (target >= 0.9)")
    print(f"/health/ready / /health/live: wall {ready_wall:.3f}, per CPU {ready_cpu:.3f}  (target >= 0.8)")
    return 0 if min(live_wall, live_cpu) >= 0.9 and min(ready_wall, ready_cpu) >= 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
