"""Side-by-side tables of two judge benchmark runs on the same traffic (run.py --json), e.g. main's code
("before") against a branch ("after"): keel's figures from both, the baselines' from the second (they do not
depend on keel's code and see the same seeded traffic).

    python benchmarks/judge/before_after.py before.json after.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

NAMES = ("Flagger-style", "Kayenta-style", "Flagger-style calibrated", "Kayenta-style calibrated")
SHORT = ("Flagger", "Kayenta", "Flagger cal.", "Kayenta cal.")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def _time(entry: dict[str, Any] | None) -> str:
    if not entry or entry["median_seconds_to_fail"] is None:
        return "-"
    return f"{entry['median_seconds_to_fail']:.0f}"


def _kind(row: dict[str, Any]) -> str:
    if row["regression"]:
        return "regression"
    return "inside allowance" if row.get("allowed") else "A/A"


def tables(before: dict[str, Any], after: dict[str, Any]) -> str:
    old = {(r["scenario"], r["rps"]): r for r in before["rows"]}
    out = [
        "| scenario | truth | req/s | keel fail before | keel fail after | keel inconclusive before / after "
        "| keel median s to fail before / after | keel @10% before / after | keel @50% before / after | "
        + " | ".join(f"{s} fail" for s in SHORT)
        + " |",
        "|" + "---|" * (9 + len(SHORT)),
    ]
    for row in after["rows"]:
        prev = old.get((row["scenario"], row["rps"]))
        b, a = (prev or {}).get("keel"), row["keel"]
        crash_b = b.get("rollout_crash", 0.0) if b else 0.0
        cells = [
            row["scenario"],
            _kind(row),
            f"{row['rps']:g}",
            _pct(b["rollout_fail"] if b else None) + (f" (+{_pct(crash_b)} crash)" if crash_b else ""),
            _pct(a["rollout_fail"]),
            f"{_pct(b['rollout_inconclusive'] if b else None)} / {_pct(a['rollout_inconclusive'])}",
            f"{_time(b)} / {_time(a)}",
            f"{_pct(b['step_fail']['10%'] if b else None)} / {_pct(a['step_fail']['10%'])}",
            f"{_pct(b['step_fail']['50%'] if b else None)} / {_pct(a['step_fail']['50%'])}",
        ]
        cells += [_pct(row[n]["rollout_fail"]) if row.get(n) else "-" for n in NAMES]
        out.append("| " + " | ".join(cells) + " |")
    invalid_b, invalid_a = before.get("invalid") or {}, after.get("invalid") or {}
    if invalid_a:
        out += [
            "",
            "| spoiled window | before: pass / fail / inconclusive / crash | after: pass / fail / inconclusive / crash |",
            "|---|---|---|",
        ]
        for name, shares in invalid_a.items():
            prev = invalid_b.get(name)

            def four(s: dict[str, float] | None) -> str:
                if not s:
                    return "-"
                return " / ".join(_pct(s[o]) for o in ("pass", "fail", "inconclusive", "crash"))

            out.append(f"| {name} | {four(prev)} | {four(shares)} |")
    return "\n".join(out)


def main() -> int:
    before, after = (json.loads(Path(p).read_text()) for p in sys.argv[1:3])
    print(tables(before, after))
    return 0


if __name__ == "__main__":
    sys.exit(main())
