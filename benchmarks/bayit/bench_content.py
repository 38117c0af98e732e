"""Throughput and latency of GET /api/v1/content?limit=20 on PostgreSQL at 64 concurrent connections (wrk):
the lean reference (the same query through asyncpg in a plain Starlette handler), the service without its
logging and metrics middleware (bare) and as deployed (instrumented). Rounds rotate the order in one run;
reports medians and each server's throughput as a ratio of the reference's in the same round, and the server
process's CPU time per request (from /proc), steadier than wall-clock throughput on a shared machine.

    .venv/bin/python -m benchmarks.bayit.bench_content [--rounds 5] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.postgres import PostgresServer, find_bindir, free_port
from tests.support.processes import wait_http

from bayit.db import Database
from bayit.migrate import upgrade
from bayit.seed import seed

LUA = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.1f %.1f %.1f\\n", summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def run_wrk(url: str, seconds: int, connections: int, script: Path) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
    requests, duration_us, errors, p50, p95, p99 = (float(x) for x in line.split()[1:])
    return {
        "rps": requests / (duration_us / 1e6),
        "errors": errors,
        "p50_ms": p50 / 1000,
        "p95_ms": p95 / 1000,
        "p99_ms": p99 / 1000,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not installed (apt-get install wrk)")
    bindir = find_bindir()
    if bindir is None:
        sys.exit("PostgreSQL not installed")
    pg = PostgresServer(bindir)
    pg.init()
    pg.start()
    tmp = Path(tempfile.mkdtemp(prefix="bench-bayit-"))
    script = tmp / "report.lua"
    script.write_text(LUA)
    url_db = pg.url("postgres")

    async def prepare() -> None:
        db = Database(url_db)
        await upgrade(db.engine)
        await seed(db)
        await db.dispose()

    asyncio.run(prepare())
    env = {
        **os.environ,
        "DATABASE_URL": url_db,
        "SECRET_KEY": "kT9vQ2mX7pL4wR8zN3bH6jF1cY5dG0sA-tUeWiOqPy",
        "LOG_LEVEL": "INFO",
    }
    results: dict[str, list[dict[str, float]]] = {"reference": [], "bare": [], "instrumented": []}
    procs: list[subprocess.Popen[bytes]] = []
    pids: dict[str, int] = {}
    try:
        ports = {}
        for name in results:
            port = free_port()
            log = (tmp / f"{name}.log").open("wb")
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "--factory",
                        f"benchmarks.bayit.apps:{name}",
                        "--port",
                        str(port),
                        "--no-access-log",
                        "--log-level",
                        "warning",
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            ports[name] = port
            pids[name] = procs[-1].pid
        for port in ports.values():
            wait_http(f"http://127.0.0.1:{port}/api/v1/content?limit=20", timeout=180)
            run_wrk(
                f"http://127.0.0.1:{port}/api/v1/content?limit=20", 3, args.connections, script
            )  # warm-up
        for r in range(args.rounds):
            names = list(ports)
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                cpu_before = cpu_seconds(pids[name])
                res = run_wrk(
                    f"http://127.0.0.1:{ports[name]}/api/v1/content?limit=20",
                    args.seconds,
                    args.connections,
                    script,
                )
                res["cpu_us"] = (cpu_seconds(pids[name]) - cpu_before) / (res["rps"] * args.seconds) * 1e6
                results[name].append(res)
                print(
                    f"round {r + 1} {name:13s} {res['rps']:8.0f} req/s  p50 {res['p50_ms']:6.1f} ms"
                    f"  p95 {res['p95_ms']:6.1f} ms  server CPU {res['cpu_us']:5.0f} us/req"
                    f"  errors {res['errors']:.0f}  load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
                time.sleep(1)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
        pg.destroy()
    ratios = {
        name: [x["rps"] / ref["rps"] for x, ref in zip(results[name], results["reference"], strict=True)]
        for name in ("bare", "instrumented")
    }
    med = {
        name: {
            k: statistics.median(r[k] for r in rs) for k in ("rps", "p50_ms", "p95_ms", "cpu_us", "errors")
        }
        for name, rs in results.items()
    }
    print("\nmedians over rounds")
    for name, m in med.items():
        print(
            f"  {name:13s} {m['rps']:8.0f} req/s  p50 {m['p50_ms']:6.1f} ms  p95 {m['p95_ms']:6.1f} ms"
            f"  server CPU {m['cpu_us']:5.0f} us/req  errors {m['errors']:.0f}"
        )
    for name, values in ratios.items():
        per_round = ", ".join(f"{x:.3f}" for x in values)
        print(
            f"  {name}/reference throughput: median {statistics.median(values):.3f} (per round: {per_round})"
        )
    for name in ("bare", "instrumented"):  # requests per server CPU-second, less disturbed by neighbours
        per_cpu = [
            ref["cpu_us"] / x["cpu_us"] for x, ref in zip(results[name], results["reference"], strict=True)
        ]
        per_round = ", ".join(f"{x:.3f}" for x in per_cpu)
        print(
            f"  {name}/reference requests per server CPU-s: median {statistics.median(per_cpu):.3f}"
            f" (per round: {per_round})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
