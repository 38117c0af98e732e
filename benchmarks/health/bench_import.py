"""Start-up cost of ``import keel.health``: whole processes, against ``import json`` in the same run.

    python -m benchmarks.health.bench_import --rounds 15
    python -m benchmarks.health.bench_import --python /tmp/keel-base/bin/python   # a base-only install

Each round starts one ``python -c "import keel.health"`` and one ``python -c "import json"`` (order
alternating), so the ratio of a pair holds while the shared machine's speed drifts. Each process is measured
by its CPU time (user + system, from the kernel's accounting of the reaped child), which a loaded machine
disturbs far less than wall-clock time, and by wall time. Also reported: what
``-X importtime`` attributes to ``keel.health`` itself (cumulative, in-process), and the heavy top-level
modules the import left in ``sys.modules`` (must be none).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

HEAVY = (
    "fastapi",
    "starlette",
    "uvicorn",
    "scipy",
    "numpy",
    "grpc",
    "google",
    "sqlalchemy",
    "pymongo",
    "redis",
)


def _run(python: str, code: str) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one whole ``python -c code`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([python, "-c", code], check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def _importtime(python: str) -> float:
    """Seconds ``-X importtime`` attributes to keel.health and everything it imported."""
    err = subprocess.run(
        [python, "-X", "importtime", "-c", "import keel.health"], capture_output=True, text=True, check=True
    ).stderr
    for line in err.splitlines():
        fields = [f.strip() for f in line.removeprefix("import time:").split("|")]
        if len(fields) == 3 and fields[2] == "keel.health":
            return int(fields[1]) / 1e6
    raise RuntimeError("keel.health not in the -X importtime output")


def _heavy_modules(python: str) -> list[str]:
    code = (
        "import sys, json, keel.health; "
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded: list[str] = json.loads(out)
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter whose keel to measure")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    health_code, reference_code = "import keel.health", "import json"
    _run(args.python, health_code)  # warm the file cache
    _run(args.python, reference_code)
    health: list[tuple[float, float]] = []
    reference: list[tuple[float, float]] = []
    cumulative: list[float] = []
    for i in range(args.rounds):
        pair = [(health, health_code), (reference, reference_code)]
        for runs, code in reversed(pair) if i % 2 else pair:
            runs.append(_run(args.python, code))
        cumulative.append(_importtime(args.python))
    print(f"interpreter: {args.python}  rounds: {args.rounds}")
    for label, index in (("cpu", 0), ("wall", 1)):
        h = [run[index] for run in health]
        r = [run[index] for run in reference]
        ratios = [a / b for a, b in zip(h, r, strict=True)]
        print(
            f"{label:4}: import json {statistics.median(r) * 1000:6.1f} ms, import keel.health "
            f"{statistics.median(h) * 1000:6.1f} ms (whole processes, medians); difference "
            f"{(statistics.median(h) - statistics.median(r)) * 1000:6.1f} ms; ratio median "
            f"{statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})"
        )
    print(
        f"-X importtime keel.health (wall, in-process): median {statistics.median(cumulative) * 1000:.1f} ms "
        f"(min {min(cumulative) * 1000:.1f}, max {max(cumulative) * 1000:.1f}); target < 300 ms"
    )
    print(f"heavy modules in sys.modules: {_heavy_modules(args.python) or 'none'}")


if __name__ == "__main__":
    main()
