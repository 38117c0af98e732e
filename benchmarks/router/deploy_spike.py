"""Does starting a new revision hurt the serving one? Client latency while a second revision starts with no
traffic, with what tells the causes apart. Everything runs on this machine; each run is a fresh environment.

    .venv/bin/python -m benchmarks.router.deploy_spike [--runs 3] [--rate 40] [--out f.json]

Per run: the real daemon (through LocalPlatform) with one Bayit+ revision (SQLite, seeded) taking 100 %,
steady open-loop load at ``rate`` requests/s from a separate loader process (httpx; the
demo's own generator used it too before it got a lean client), then a second Bayit+ revision deployed with no traffic; the run ends 3 s after it is ready.
The spike window is from the deploy call to 1 s after the new revision answers /health/ready.

What is recorded, to tell the causes apart:
  client       per-request latency at the loader, by the second the request was due; p95 per second
  loader lag   the loader's own event-loop oversleep (a stalled client inflates its latencies by itself)
  admin probe  latency of GET /v1/daemon every 50 ms: the daemon's event loop (which also runs the router)
               answers it, so a blocked daemon loop shows here
  router       the router's own p95 for the serving revision over the spike window (its metrics)
  schedstat    per process: CPU seconds and run-queue wait seconds in the spike window (Linux
               /proc/PID/schedstat, all threads): waiting for a CPU is CPU starvation
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from keel.platforms.base import RevisionSpec, RevisionState
from keel.platforms.local import LocalPlatform

ROOT = Path(__file__).resolve().parents[2]
COMMAND = ["bayit", "serve", "--seed", "--host", "127.0.0.1"]
PATHS = ("/api/v1/content?limit=5", "/api/v1/", "/api/v1/live?limit=5")


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


# -- the loader (a separate process) -------------------------------------------------------------------------
async def _load(url: str, rate: float, seconds: float, out: Path) -> None:
    records: list[tuple[float, float, float, int]] = []  # due (epoch), sent delay, latency, status
    lags: list[tuple[float, float]] = []
    stop = asyncio.Event()
    done = asyncio.Event()  # SIGTERM: stop sending, finish what is in flight, write the records
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, done.set)

    async def lag_probe() -> None:
        while not stop.is_set():
            before = time.monotonic()
            await asyncio.sleep(0.01)
            lag = time.monotonic() - before - 0.01
            if lag > 0.005:
                lags.append((time.time(), lag))

    async def one(client: httpx.AsyncClient, path: str, due: float, due_mono: float) -> None:
        began = time.monotonic()
        try:
            status = (await client.get(path)).status_code
        except httpx.HTTPError:
            status = 0
        records.append((due, began - due_mono, time.monotonic() - began, status))

    limits = httpx.Limits(max_connections=32, max_keepalive_connections=16)
    probe = asyncio.create_task(lag_probe())
    tasks: set[asyncio.Task[None]] = set()
    async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits, trust_env=False) as client:
        t0_mono, t0 = time.monotonic(), time.time()
        i = 0
        while (elapsed := i / rate) < seconds and not done.is_set():
            delay = t0_mono + elapsed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            path = PATHS[i % len(PATHS)]
            task = asyncio.create_task(one(client, path, t0 + elapsed, t0_mono + elapsed))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
        await asyncio.gather(*tasks)
    stop.set()
    await probe
    out.write_text(json.dumps({"requests": records, "lags": lags}))


# -- the driver ------------------------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    found = [pid]
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            found += _children(int(child))
    return found


def _schedstat(pid: int, children: bool = True) -> tuple[float, float]:
    """CPU seconds and run-queue wait seconds of a process (and its children), all threads."""
    cpu = wait = 0.0
    for p in _children(pid) if children else [pid]:
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{p}/task").iterdir():
                run, waited, _ = (task / "schedstat").read_text().split()
                cpu += int(run) / 1e9
                wait += int(waited) / 1e9
    return cpu, wait


async def _ready(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url + "/health/ready")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} not ready within {timeout}s")


async def _revision(platform: LocalPlatform, name: str) -> dict[str, Any]:
    for status in await platform.revision_status():
        if status.revision.name == name:
            return {"url": status.revision.url, "pid": status.pid, "state": status.revision.state}
    raise RuntimeError(f"no revision {name}")


async def one_run(rate: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="keel-spike-") as tmp:
        directory = Path(tmp)
        env = {
            "ENVIRONMENT": "development",
            "DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'bayit.db'}",
            "SECRET_KEY": "spike-benchmark-" + "x" * 40,
            "LOG_LEVEL": "WARNING",
        }
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        platform = LocalPlatform("spike", "bench", COMMAND, port, directory / ".keel", env)
        try:
            await platform.deploy(RevisionSpec("spike-00001"))
            while (first := await _revision(platform, "spike-00001"))["state"] is not RevisionState.RUNNING:
                await asyncio.sleep(0.1)
            await _ready(first["url"])
            await platform.set_traffic({"spike-00001": 100})
            info = platform.daemon()
            assert info is not None
            seconds = 40.0
            out = directory / "load.json"
            loader = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.router.deploy_spike",
                    "--loader",
                    platform.url,
                    "--rate",
                    str(rate),
                    "--seconds",
                    str(seconds),
                    "--out",
                    str(out),
                ],
                cwd=ROOT,
            )
            await asyncio.sleep(4.0)  # warm-up and baseline
            probes: list[tuple[float, float]] = []
            stop = asyncio.Event()

            async def admin_probe() -> None:
                headers = {"authorization": f"Bearer {info.token}"}
                async with httpx.AsyncClient(base_url=info.admin_url, trust_env=False, timeout=30) as client:
                    while not stop.is_set():
                        began = time.monotonic()
                        await client.get("/v1/daemon", headers=headers)
                        probes.append((time.time(), time.monotonic() - began))
                        await asyncio.sleep(0.05)

            prober = asyncio.create_task(admin_probe())
            await asyncio.sleep(1.0)
            pids = {"daemon": info.pid, "serving": first["pid"], "loader": loader.pid}
            before = {k: _schedstat(p, k != "daemon") for k, p in pids.items()}
            deployed_at = time.time()
            await platform.deploy(RevisionSpec("spike-00002"))
            second = await _revision(platform, "spike-00002")
            while second["pid"] is None:
                second = await _revision(platform, "spike-00002")
            pids["new"] = second["pid"]
            before["new"] = (0.0, 0.0)
            await _ready(second["url"])
            ready_at = time.time()
            await asyncio.sleep(1.0)
            after = {k: _schedstat(p, k != "daemon") for k, p in pids.items()}
            window_end = time.time()
            await asyncio.sleep(2.0)
            stop.set()
            await prober
            router = await platform.window("spike-00001", deployed_at, window_end)
            loader.terminate()
            loader.wait(10)
        finally:
            await platform.stop()
        if not out.exists():
            raise RuntimeError("the loader wrote nothing")
        load = json.loads(out.read_text())
    in_window = [r for r in load["requests"] if deployed_at <= r[0] <= window_end]
    baseline = [r for r in load["requests"] if r[0] < deployed_at - 0.5]
    per_second: dict[int, list[float]] = {}
    for due, _, latency, _ in in_window:
        per_second.setdefault(int(due - deployed_at), []).append(latency)
    router_p95 = router.latency.quantile(0.95)
    return {
        "start_s": round(ready_at - deployed_at, 2),
        "baseline_p95_ms": round((p95([r[2] for r in baseline]) or 0) * 1000, 1),
        "client_p95_ms": round((p95([r[2] for r in in_window]) or 0) * 1000, 1),
        "client_max_second_p95_ms": round(max((p95(v) or 0) for v in per_second.values()) * 1000, 1),
        "client_p95_by_second_ms": [
            round((p95(per_second.get(s, [])) or 0) * 1000) for s in range(max(per_second, default=-1) + 1)
        ],
        "client_failed": sum(1 for r in in_window if r[3] != 200),
        "loader_max_lag_ms": round(
            max((lag for t, lag in load["lags"] if deployed_at <= t <= window_end), default=0) * 1000, 1
        ),
        "loader_max_send_delay_ms": round(max((r[1] for r in in_window), default=0) * 1000, 1),
        "admin_probe_max_ms": round(
            max((lat for t, lat in probes if deployed_at <= t <= window_end), default=0) * 1000, 1
        ),
        "admin_probe_p95_ms": round(
            (p95([lat for t, lat in probes if deployed_at <= t <= window_end]) or 0) * 1000, 1
        ),
        "router_p95_ms": None if router_p95 is None else round(router_p95 * 1000, 1),
        "cpu_s": {k: round(after[k][0] - before[k][0], 2) for k in pids},
        "runqueue_wait_s": {k: round(after[k][1] - before[k][1], 2) for k in pids},
        "loadavg_1m": float(Path("/proc/loadavg").read_text().split()[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=40.0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--loader", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=30.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loader:
        asyncio.run(_load(args.loader, args.rate, args.seconds, args.out))
        return
    bin_dir = str(Path(sys.executable).parent)  # `bayit` beside this Python
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    runs = []
    for i in range(args.runs):
        run = asyncio.run(one_run(args.rate))
        runs.append(run)
        print(f"run {i + 1}: {json.dumps(run)}", flush=True)
    summary = {
        key: {"median": statistics.median(r[key] for r in runs), "max": max(r[key] for r in runs)}
        for key in (
            "client_p95_ms",
            "client_max_second_p95_ms",
            "loader_max_lag_ms",
            "admin_probe_max_ms",
            "router_p95_ms",
            "start_s",
        )
        if all(r[key] is not None for r in runs)
    }
    print("summary: " + json.dumps(summary), flush=True)
    if args.out:
        args.out.write_text(json.dumps({"runs": runs, "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
