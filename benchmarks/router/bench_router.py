"""The local router against direct requests (and nginx doing the same split, where installed), and the
rollback switch time. Everything runs in one process tree on this machine; rounds alternate A/B/C so drift
in the machine's load hits all of them alike; ratios are medians of the per-round ratios.

    .venv/bin/python -m benchmarks.router.bench_router [--rounds 5] [--seconds 8] [--connections 32]
        [--upstream asgi|bayit]

Throughput: wrk (1 thread, N keep-alive connections) for ``seconds``, against
  direct  the revision's own port,
  router  keel's router (the real daemon, started through LocalPlatform) with 100 % on that revision,
  nginx   nginx (1 worker, upstream keep-alive) proxying to the same revision.
Added latency: wrk with 1 connection (no queueing), p50 of each target minus p50 direct.
Split: router 90/10 over two revisions against nginx with upstream weights 9:1 over the same two.
CPU: microseconds of CPU time per request of the router's daemon and of the revision (from /proc), a figure
that the machine's other load disturbs less than throughput.
Switch: under load at 90/10, the time ``set_traffic({previous: 100})`` takes to return (after which every
new request goes to the previous revision), and the time until a fresh probe sees only the previous one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
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

UPSTREAMS = {
    # the cheapest revision Python can serve: the router's cost shows most
    "asgi": ([sys.executable, "-m", "benchmarks.router.upstream"], {}, "/"),
    # the Bayit+ API on SQLite, a page of the catalog: what the router fronts in the demo
    "bayit": (
        ["bayit", "serve", "--seed", "--host", "127.0.0.1"],
        {"ENVIRONMENT": "development", "DATABASE_URL": "sqlite+aiosqlite:///{dir}/bayit-{revision}.db"},
        "/api/v1/content?limit=20",
    ),
}
ROOT = Path(__file__).resolve().parents[2]

LUA = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.1f %.1f\\n", summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wrk(url: str, seconds: float, connections: int, script: Path) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    requests, duration_us, errors, p50, p99 = (float(v) for v in line.split()[1:])
    return {
        "rps": requests / (duration_us / 1e6),
        "errors": errors,
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
    }


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy; fastcgi_temp_path {dir}/fcgi;
  uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  upstream single {{ server 127.0.0.1:{p1}; keepalive 64; }}
  upstream split {{ server 127.0.0.1:{p1} weight=9; server 127.0.0.1:{p2} weight=1; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location /single/ {{ proxy_pass http://single/; proxy_http_version 1.1; proxy_set_header Connection ""; }}
    location /split/ {{ proxy_pass http://split/; proxy_http_version 1.1; proxy_set_header Connection ""; }}
  }}
}}
"""


def start_nginx(workdir: Path, p1: int, p2: int) -> tuple[subprocess.Popen[bytes], int] | None:
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        return None
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=workdir, p1=p1, p2=p2, port=port))
    process = subprocess.Popen([binary, "-c", str(conf), "-p", str(workdir)], stderr=subprocess.DEVNULL)
    return process, port


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_http(url: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {within}s")


async def switch_times(platform: LocalPlatform, repeats: int, script: Path, path: str) -> dict[str, float]:
    """Under load (wrk, 16 connections, another process) at r1 90 / r2 10, how long the rollback to r1 100
    takes: the admin call, and until a fresh probe has seen 20 answers in a row from r1."""
    calls: list[float] = []
    until_clean: list[float] = []
    load = subprocess.Popen(
        ["wrk", "-t1", "-c16", f"-d{repeats * 2 + 30}s", "-s", str(script), platform.url + path],
        stdout=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=platform.url, trust_env=False) as probe:
            for _ in range(repeats):
                await platform.set_traffic({"r1": 90, "r2": 10})
                await asyncio.sleep(0.5)
                started = time.perf_counter()
                await platform.set_traffic({"r1": 100})
                calls.append(time.perf_counter() - started)
                seen = 0
                while seen < 20:
                    revision = (await probe.get(path)).headers["x-keel-revision"]
                    seen = seen + 1 if revision == "r1" else 0
                until_clean.append(time.perf_counter() - started)
    finally:
        load.terminate()
        load.wait()
    return {
        "set_traffic_p50_ms": statistics.median(calls) * 1000,
        "set_traffic_max_ms": max(calls) * 1000,
        "until_20_on_previous_p50_ms": statistics.median(until_clean) * 1000,
        "until_20_on_previous_max_ms": max(until_clean) * 1000,
    }


async def start_platform(state: Path, upstream: str = "asgi") -> LocalPlatform:
    command, env, _ = UPSTREAMS[upstream]
    platform = LocalPlatform("bench", "bench", command, free_port(), state, stop_grace=5)
    for name in ("r1", "r2"):
        values = {k: v.format(dir=state.parent, revision=name) for k, v in env.items()}
        await platform.deploy(RevisionSpec(name, env={"REVISION": name, **values}))
    deadline = time.monotonic() + 60
    while any(r.state is not RevisionState.RUNNING for r in await platform.revisions()):
        if time.monotonic() > deadline:
            raise RuntimeError(await platform.revisions())
        await asyncio.sleep(0.1)
    return platform


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--switches", type=int, default=20)
    parser.add_argument("--upstream", choices=sorted(UPSTREAMS), default="asgi")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install -y wrk)")
    os.chdir(ROOT)
    workdir = Path(tempfile.mkdtemp(prefix="keel-bench-router-"))
    script = workdir / "report.lua"
    script.write_text(LUA)
    platform = asyncio.run(start_platform(workdir / "state", args.upstream))
    path = UPSTREAMS[args.upstream][2]
    nginx = None
    try:
        revisions = {r.name: r.url for r in asyncio.run(platform.revisions())}
        p1, p2 = (int(revisions[n].rsplit(":", 1)[1]) for n in ("r1", "r2"))
        nginx = start_nginx(workdir, p1, p2)
        targets = {"direct": revisions["r1"] + path, "router": platform.url + path}
        if nginx is not None:
            targets["nginx"] = f"http://127.0.0.1:{nginx[1]}/single" + path
        asyncio.run(platform.set_traffic({"r1": 100}))
        for url in targets.values():
            wait_http(url)
        results: dict[str, dict[str, list[float]]] = {}

        status = {s.revision.name: s.pid for s in asyncio.run(platform.revision_status())}
        daemon = platform.daemon()
        assert daemon is not None
        cpu_pids: dict[str, int | None] = {"router": daemon.pid, "revision": status["r1"]}
        if nginx is not None:
            workers = subprocess.run(
                ["pgrep", "-P", str(nginx[0].pid)], capture_output=True, text=True
            ).stdout
            cpu_pids["nginx"] = int(workers.split()[0]) if workers.strip() else None

        def measure(label: str, url: str, connections: int, seconds: float) -> None:
            before = {k: cpu_seconds(pid) for k, pid in cpu_pids.items() if pid}
            r = wrk(url, seconds, connections, script)
            if r["errors"]:
                raise RuntimeError(f"{label}: {r['errors']:.0f} errors")
            served = r["rps"] * round(seconds)
            for k, pid in cpu_pids.items():
                if pid and label.startswith(("router c", "direct c", "nginx c")):
                    r[f"{k}_cpu_us_per_request"] = (cpu_seconds(pid) - before[k]) / served * 1e6
            for key, value in r.items():
                results.setdefault(label, {}).setdefault(key, []).append(value)

        for url in targets.values():  # warm-up
            wrk(url, 2, args.connections, script)
        for _ in range(args.rounds):
            for name, url in targets.items():
                measure(f"{name} c{args.connections}", url, args.connections, args.seconds)
                measure(f"{name} c1", url, 1, args.seconds / 2)
        asyncio.run(platform.set_traffic({"r1": 90, "r2": 10}))
        for _ in range(args.rounds):
            measure(f"router split c{args.connections}", platform.url + path, args.connections, args.seconds)
            if nginx is not None:
                split = f"http://127.0.0.1:{nginx[1]}/split" + path
                measure(f"nginx split c{args.connections}", split, args.connections, args.seconds)
        switch = asyncio.run(switch_times(platform, args.switches, script, path))
    finally:
        if nginx is not None:
            nginx[0].terminate()
            nginx[0].wait()
        asyncio.run(platform.stop())
        shutil.rmtree(workdir, ignore_errors=True)

    medians = {label: {k: statistics.median(v) for k, v in m.items()} for label, m in results.items()}

    def per_round(a: str, b: str, key: str, subtract: bool = False) -> float:
        """Median over rounds of a/b (or a-b) measured in the same round."""
        pairs = zip(results[a][key], results[b][key], strict=True)
        return statistics.median([x - y if subtract else x / y for x, y in pairs])

    c = f"c{args.connections}"
    summary: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "rounds": args.rounds,
        "seconds": args.seconds,
        "connections": args.connections,
        "upstream": args.upstream,
        "medians": medians,
        "router_vs_direct_throughput": per_round(f"router {c}", f"direct {c}", "rps"),
        "router_added_p50_ms": per_round("router c1", "direct c1", "p50_ms", subtract=True),
        "switch": switch,
    }
    if nginx is not None:
        summary["nginx_vs_direct_throughput"] = per_round(f"nginx {c}", f"direct {c}", "rps")
        summary["nginx_added_p50_ms"] = per_round("nginx c1", "direct c1", "p50_ms", subtract=True)
        summary["router_vs_nginx_split_throughput"] = per_round(
            f"router split {c}", f"nginx split {c}", "rps"
        )
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
