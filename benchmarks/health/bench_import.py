"""Start-up cost of ``import keel.health``: whole processes, against ``import json`` in the same run.

    python -m benchmarks.health.bench_import --rounds 15
    python -m benchmarks.health.bench_import --python /tmp/keel-base/bin/python   # a base-only install

Each round starts one ``python -c "import keel.health"`` and one ``python -c "import json"`` (order
alternating), so the ratio of a pair holds while the shared machine's speed drifts. Also reported: what
``-X importtime`` attributes to ``keel.health`` itself (cumulative, in-process), and the heavy top-level
modules the import left in ``sys.modules`` (must be none).
"""

from __future__ import annotations

import argparse
import json
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


def _wall(python: str, code: str) -> float:
    start = time.perf_counter()
    subprocess.run([python, "-c", code], check=True)
    return time.perf_counter() - start


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
    _wall(args.python, health_code)  # warm the file cache
    _wall(args.python, reference_code)
    health, reference, ratios, cumulative = [], [], [], []
    for i in range(args.rounds):
        if i % 2:
            r = _wall(args.python, reference_code)
            h = _wall(args.python, health_code)
        else:
            h = _wall(args.python, health_code)
            r = _wall(args.python, reference_code)
        health.append(h)
        reference.append(r)
        ratios.append(h / r)
        cumulative.append(_importtime(args.python))
    print(f"interpreter: {args.python}  rounds: {args.rounds}")
    print(
        f"python -c 'import json'        median {statistics.median(reference) * 1000:7.1f} ms (whole process)"
    )
    print(f"python -c 'import keel.health' median {statistics.median(health) * 1000:7.1f} ms (whole process)")
    print(
        f"ratio keel.health / json       median {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})"
    )
    print(
        f"-X importtime keel.health      median {statistics.median(cumulative) * 1000:7.1f} ms "
        f"(min {min(cumulative) * 1000:.1f}, max {max(cumulative) * 1000:.1f}); target < 300 ms"
    )
    print(f"heavy modules in sys.modules: {_heavy_modules(args.python) or 'none'}")


if __name__ == "__main__":
    main()
