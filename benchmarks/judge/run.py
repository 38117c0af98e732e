"""Canary judge benchmark: keel's comparison judge against Flagger-style and Kayenta-style baselines on
simulated traffic with known truth (seeded; NumPy draws the traffic, the judges run as they would live).

    .venv/bin/python benchmarks/judge/run.py            # full run, Markdown table on stdout
    .venv/bin/python benchmarks/judge/run.py --quick    # a smoke run with few replicas

The rollout is the default one: a 10 % step then a 50 % step, each held 10 minutes (keel holds an
inconclusive step up to 10 minutes longer, then stops it by policy). Every (scenario, traffic, weight) cell
is one task: the step is simulated for many replicas and every judge runs on the same traffic. The baselines
run at their documented defaults and calibrated (calibrate.py) on separate calibration runs (other seeds).

keel runs through its real analyzer (judges.py), so the code under test decides everything keel would: run
it with another checkout's sources first on the path to measure that version on the same traffic, e.g.
``PYTHONPATH=/path/to/main/src python benchmarks/judge/run.py``. The scenarios added for issue 14 (a tail
regression at the 50 % step, slow-downs inside the latency allowance, a cold start, other bucket layouts,
0.5 req/s) do not take part in calibrating the baselines; where no calibration exists for their request rate
the calibrated columns show "-". A last table spoils the windows of one revision in the ways sources can
(invalid windows) and counts what keel did with them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from baselines import FlaggerConfig, KayentaConfig, RolloutArrays, flagger_checks, kayenta_looks
from calibrate import FLAGGER_GRID, KAYENTA_GRID, Calibration, choose, time_to_fail
from judges import CRASH, FAIL, INCONCLUSIVE, PASS, Corrupt, KeelJudge, StepResult
from power import earliest_median_fail
from traffic import HOLD_S, MEDIAN_S, RATES, SCENARIOS, WEIGHTS, simulate_step, true_quantile

from keel.analysis.base import LatencyHistogram, RevisionWindow
from keel.analysis.config import AnalysisSpec

FLAGGER, KAYENTA = "Flagger-style", "Kayenta-style"
FLAGGER_CAL, KAYENTA_CAL = "Flagger-style calibrated", "Kayenta-style calibrated"
JUDGE_NAMES = ("keel", FLAGGER, KAYENTA, FLAGGER_CAL, KAYENTA_CAL)
LOW_TRAFFIC_JUDGE = "keel, low_traffic: judge"
CALIBRATION_SEED_OFFSET = 500_000
TARGET_FALSE_FAIL = 0.01
RATE_INDEX = {rate: i for i, rate in enumerate(RATES)}  # seeds of the original cells do not move

Key = tuple[str, int, float, float]  # (eval | cal, scenario index, req/s, weight)


def _low_traffic_judge() -> KeelJudge | None:
    try:
        return KeelJudge(AnalysisSpec(low_traffic="judge"))  # type: ignore[call-arg]
    except ValueError:  # the code under test has no such policy
        return None


def _task(args: tuple[str, int, float, float, int, int]) -> tuple[Key, dict[str, Any]]:
    kind, scenario_index, rps, weight, reps, seed = args
    scenario = SCENARIOS[scenario_index]
    traffic = simulate_step(scenario, rps, weight, reps, seed)
    step = WEIGHTS.index(weight)
    out: dict[str, Any] = {FLAGGER: flagger_checks(traffic), KAYENTA: kayenta_looks(traffic)}
    if kind == "eval":
        judge = KeelJudge()
        out["keel"] = [judge.run(traffic, rep, step) for rep in range(reps)]
        variant = _low_traffic_judge() if rps <= 1.0 else None
        if variant is not None:
            out[LOW_TRAFFIC_JUDGE] = [variant.run(traffic, rep, step) for rep in range(reps)]
    return (kind, scenario_index, rps, weight), out


def _spoil(**changes: Any) -> Corrupt:
    def spoil(window: RevisionWindow) -> RevisionWindow:
        fields = {
            "revision": window.revision,
            "start": window.start,
            "end": window.end,
            "requests": window.requests,
            "errors": window.errors,
            "latency": window.latency,
        }
        for key, value in changes.items():
            fields[key] = value(window) if callable(value) else value
        return RevisionWindow(**fields)

    return spoil


def _bucket(window: RevisionWindow, index: int, value: float) -> LatencyHistogram:
    counts = list(window.latency.counts)
    counts[index] = value  # type: ignore[call-overload]
    return LatencyHistogram(window.latency.bounds, tuple(counts))


def _bound(window: RevisionWindow, index: int, value: float) -> LatencyHistogram:
    bounds = list(window.latency.bounds)
    bounds[index] = value
    return LatencyHistogram(tuple(bounds), window.latency.counts)


NAN = float("nan")
# What sources can deliver (issue 14, finding 3), each applied to every window of one revision of a canary
# erring at 5 % against 1 %: a judge that computes a verdict from such a window may pass it.
INVALID: dict[str, dict[str, Corrupt]] = {
    "canary requests NaN": {"canary": _spoil(requests=NAN)},
    "canary errors +inf": {"canary": _spoil(errors=float("inf"))},
    "canary requests negative": {"canary": _spoil(requests=lambda w: -w.requests)},
    "baseline errors > requests": {"baseline": _spoil(errors=lambda w: 2 * w.requests + 1)},
    "canary bucket count negative": {"canary": _spoil(latency=lambda w: _bucket(w, 20, -5))},
    "canary bucket count NaN": {"canary": _spoil(latency=lambda w: _bucket(w, 20, NAN))},
    "bucket bound NaN (both)": {
        "canary": _spoil(latency=lambda w: _bound(w, 20, NAN)),
        "baseline": _spoil(latency=lambda w: _bound(w, 20, NAN)),
    },
}
INVALID_SCENARIO = "errors 1 % -> 5 %"


def _invalid_task(args: tuple[str, int, int]) -> tuple[str, dict[str, float]]:
    name, reps, seed = args
    scenario = next(s for s in SCENARIOS if s.name == INVALID_SCENARIO)
    traffic = simulate_step(scenario, 20.0, WEIGHTS[0], reps, seed)
    judge = KeelJudge()
    results = [judge.run(traffic, rep, 0, INVALID[name]) for rep in range(reps)]
    return name, {
        o: sum(1 for r in results if r.outcome == o) / reps for o in (PASS, FAIL, INCONCLUSIVE, CRASH)
    }


def _keel_rollout(steps: list[StepResult]) -> tuple[str, float, int, int]:
    """(outcome, seconds from rollout start, canary requests at the verdict, index of the deciding step)."""
    elapsed = 0.0
    for index, result in enumerate(steps):
        if result.outcome in (FAIL, INCONCLUSIVE, CRASH):
            return result.outcome, elapsed + result.seconds, result.canary_requests, index
        elapsed += result.seconds
    return PASS, elapsed, steps[-1].canary_requests, len(steps) - 1


def _keel_entry(per_weight: dict[float, list[StepResult]]) -> dict[str, Any]:
    reps = min(len(v) for v in per_weight.values())
    rollouts = [_keel_rollout([per_weight[w][i] for w in WEIGHTS]) for i in range(reps)]
    fails = [r for r in rollouts if r[0] == FAIL]
    first = per_weight[WEIGHTS[0]]
    times = sorted([r[1] for r in fails] + [float("inf")] * (reps - len(fails)))
    return {
        "replicas": reps,
        "rollout_fail": len(fails) / reps,
        "rollout_inconclusive": sum(1 for r in rollouts if r[0] == INCONCLUSIVE) / reps,
        "rollout_crash": sum(1 for r in rollouts if r[0] == CRASH) / reps,
        "step_fail": {
            f"{round(w * 100)}%": sum(1 for r in per_weight[w] if r.outcome == FAIL and r.seconds <= HOLD_S)
            / len(per_weight[w])
            for w in WEIGHTS
        },
        "first_step_held": sum(1 for r in first if r.outcome == INCONCLUSIVE or r.seconds > HOLD_S)
        / len(first),
        "median_seconds_to_fail": statistics.median([r[1] for r in fails]) if fails else None,
        "median_requests_to_fail": statistics.median([r[2] for r in fails]) if fails else None,
        "half_stopped_seconds": _finite(float(np.median(times))),
    }


def _finite(x: float) -> float | None:
    return None if not np.isfinite(x) else x


def _baseline_entry(config: Any, per_weight: dict[float, Any]) -> dict[str, Any]:
    result: RolloutArrays = config.rollout([per_weight[w] for w in WEIGHTS])
    failed = result.failed
    return {
        "replicas": len(failed),
        "config": config.label(),
        "rollout_fail": float(failed.mean()),
        "rollout_inconclusive": 0.0,
        "step_fail": {f"{round(w * 100)}%": float(config.step_fails(per_weight[w]).mean()) for w in WEIGHTS},
        "first_step_held": 0.0,
        "median_seconds_to_fail": float(np.median(result.seconds[failed])) if failed.any() else None,
        "median_requests_to_fail": float(np.median(result.requests[failed])) if failed.any() else None,
        "half_stopped_seconds": _finite(time_to_fail(result)),
    }


def _calibrate(cells: dict[Key, dict[str, Any]]) -> dict[tuple[float, float], dict[str, Calibration]]:
    chosen: dict[tuple[float, float], dict[str, Calibration]] = {}
    for rps in RATES:
        for base in sorted({s.base_error for s in SCENARIOS if s.original}):
            group = [si for si, s in enumerate(SCENARIOS) if s.base_error == base and s.original]
            found: dict[str, Calibration] = {}
            for name, grid in ((FLAGGER, FLAGGER_GRID), (KAYENTA, KAYENTA_GRID)):
                data = {si: [cells[("cal", si, rps, w)][name] for w in WEIGHTS] for si in group}
                aa = [data[si] for si in group if not SCENARIOS[si].regression]
                regressions = [data[si] for si in group if SCENARIOS[si].regression]
                found[name] = choose(grid, aa, regressions, TARGET_FALSE_FAIL)
            chosen[(rps, base)] = found
    return chosen


def summarise(cells: dict[Key, dict[str, Any]], only: str | None = None) -> dict[str, Any]:
    chosen = {} if only else _calibrate(cells)
    rows = []
    for si, scenario in enumerate(SCENARIOS):
        if only and only not in scenario.name:
            continue
        for rps in scenario.rates or RATES:
            row: dict[str, Any] = {
                "scenario": scenario.name,
                "regression": scenario.regression,
                "allowed": scenario.allowed,
                "base_error": scenario.base_error,
                "rps": rps,
            }
            per = {w: cells[("eval", si, rps, w)] for w in WEIGHTS}
            row["keel"] = _keel_entry({w: per[w]["keel"] for w in WEIGHTS})
            if all(LOW_TRAFFIC_JUDGE in per[w] for w in WEIGHTS):
                row[LOW_TRAFFIC_JUDGE] = _keel_entry({w: per[w][LOW_TRAFFIC_JUDGE] for w in WEIGHTS})
            row[FLAGGER] = _baseline_entry(FlaggerConfig(), {w: per[w][FLAGGER] for w in WEIGHTS})
            row[KAYENTA] = _baseline_entry(KayentaConfig(), {w: per[w][KAYENTA] for w in WEIGHTS})
            calibrated = chosen.get((rps, scenario.base_error))
            for name in (FLAGGER_CAL, KAYENTA_CAL):
                if calibrated is None:
                    row[name] = None
                    continue
                plain = FLAGGER if name == FLAGGER_CAL else KAYENTA
                row[name] = _baseline_entry(calibrated[plain].config, {w: per[w][plain] for w in WEIGHTS})
            rows.append(row)
    calibration = [
        {"rps": rps, "base_error": base, **{name: c.to_json() for name, c in found.items()}}
        for (rps, base), found in sorted(chosen.items())
    ]
    return {"rows": rows, "calibration": calibration}


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


SHORT = {
    "keel": "keel",
    FLAGGER: "Flagger",
    KAYENTA: "Kayenta",
    FLAGGER_CAL: "Flagger cal.",
    KAYENTA_CAL: "Kayenta cal.",
}


def _seconds(x: float | None) -> str:
    return "never" if x is None else f"{x:.0f}"


def markdown(summary: dict[str, Any], elapsed: float, reps_aa: int, reps: int) -> str:
    out = []
    out.append(
        f"Replicas: {reps_aa} per A/A cell, {reps} per regression cell (and as many again with other seeds for "
        f"the calibration); run time {elapsed:.0f} s. Baseline latency log-normal (median {MEDIAN_S * 1000:.0f} "
        f'ms, p99 {true_quantile(MEDIAN_S, 0.99) * 1000:.0f} ms), the local router\'s buckets. "cal." = the '
        f"baseline calibrated to <= {100 * TARGET_FALSE_FAIL:g} % A/A false fails for that request rate and stable "
        f"error rate (configurations in the third table)."
    )
    out.append("")
    out.append(
        "**Whole default rollout** (10 % step then 50 % step): share of rollouts failed by the judge "
        "(for A/A rows this is the false-fail rate), share stopped inconclusive (keel only), median "
        "time to the fail verdict (among failed rollouts) from the start of the rollout and the canary's "
        "requests in the deciding step by then."
    )
    out.append("")
    header = "| scenario | req/s | " + " | ".join(f"{SHORT[n]} fail" for n in JUDGE_NAMES)
    header += " | keel inconclusive | " + " | ".join(f"{SHORT[n]} median s (req)" for n in JUDGE_NAMES) + " |"
    out.append(header)
    out.append("|" + "---|" * (2 + 2 * len(JUDGE_NAMES) + 1))
    for row in summary["rows"]:
        cells = [row["scenario"], f"{row['rps']:g}"]
        cells += [_pct(row[n]["rollout_fail"]) if row[n] else "-" for n in JUDGE_NAMES]
        cells.append(_pct(row["keel"]["rollout_inconclusive"]))
        for n in JUDGE_NAMES:
            if not row[n]:
                cells.append("-")
                continue
            sec, req = row[n]["median_seconds_to_fail"], row[n]["median_requests_to_fail"]
            cells.append("-" if sec is None else f"{sec:.0f} ({req:.0f})")
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append(
        "**Within one 10-minute step** at each canary weight (the 10 % step is the rollout's first, "
        "the 50 % step its second): share of steps failed within the planned hold (keel's end-of-hold test "
        "included), and for keel the share of 10 % steps it held past the hold because the data were not enough."
    )
    out.append("")
    header = "| scenario | req/s | " + " | ".join(
        f"{SHORT[n]} @{w}" for n in JUDGE_NAMES for w in ("10%", "50%")
    )
    out.append(header + " | keel held @10% |")
    out.append("|" + "---|" * (2 + 2 * len(JUDGE_NAMES) + 1))
    for row in summary["rows"]:
        cells = [row["scenario"], f"{row['rps']:g}"]
        for n in JUDGE_NAMES:
            for w in ("10%", "50%"):
                cells.append(_pct(row[n]["step_fail"][w]) if row[n] else "-")
        cells.append(_pct(row["keel"]["first_step_held"]))
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append(
        "**Calibrated baselines**: per request rate and stable error rate, the configuration chosen on the "
        'calibration runs (A/A false-fail rate over a whole rollout on those runs in brackets; "not '
        'reached" when no configuration in the grid gets under the target, the safest is shown).'
    )
    out.append("")
    out.append("| req/s | stable errors | Flagger-style calibrated | Kayenta-style calibrated |")
    out.append("|---|---|---|---|")
    for cal in summary["calibration"]:
        cells = [f"{cal['rps']:g}", f"{100 * cal['base_error']:g} %"]
        for n in (FLAGGER, KAYENTA):
            c = cal[n]
            note = "" if c["admissible"] else ", not reached"
            cells.append(f"{c['config']} ({_pct(c['aa_false_fail'])} A/A{note})")
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append(
        "**Time to a fail verdict, keel against the better baseline**, calibrated and at the documented "
        "defaults: the median over all regressed rollouts of the time to the fail verdict, a missed regression "
        'counting as never (so "never" when half or more are missed); in brackets the share failed. The better '
        'baseline is the one with the shorter time. "A/A": the false-fail rate over a whole rollout on the '
        'evaluation runs at the same request rate and stable error rate, keel / that baseline. "Any judge >=" '
        "(error scenarios): no judge with at most 1 % false fails can have a shorter median time to fail "
        "(the stable rate known exactly and the whole budget spent on one look, see below): where it exceeds "
        "a third of the better baseline's time, the issue's 1/3 target is out of reach for every judge."
    )
    out.append("")
    out += _ratio_table(summary, (FLAGGER_CAL, KAYENTA_CAL), bound=True)
    out.append("")
    out += _ratio_table(summary, (FLAGGER, KAYENTA), bound=False)
    out += _extra_tables(summary)
    return "\n".join(out)


def _extra_tables(summary: dict[str, Any]) -> list[str]:
    out: list[str] = []
    low = [row for row in summary["rows"] if row.get(LOW_TRAFFIC_JUDGE)]
    if low:
        out += [
            "",
            "**Low traffic, the policies**: keel's default (`low_traffic: wait`: hold until `min_requests`, then "
            "`on_inconclusive`) against `low_traffic: judge` (judge what there is at the end of the hold): share "
            "of rollouts failed / stopped inconclusive.",
            "",
            "| scenario | req/s | wait: fail | wait: inconclusive | judge: fail | judge: inconclusive |",
            "|---|---|---|---|---|---|",
        ]
        for row in low:
            a, b = row["keel"], row[LOW_TRAFFIC_JUDGE]
            out.append(
                f"| {row['scenario']} | {row['rps']:g} | {_pct(a['rollout_fail'])} | "
                f"{_pct(a['rollout_inconclusive'])} | {_pct(b['rollout_fail'])} | {_pct(b['rollout_inconclusive'])} |"
            )
    invalid = summary.get("invalid")
    if invalid:
        out += [
            "",
            f"**Invalid windows** ({INVALID_SCENARIO} at 20 req/s, the 10 % step, every window of the named "
            f"revision spoiled): share of steps that keel ended with a verdict computed from the window (pass, "
            f"fail), held inconclusive, or crashed (an exception out of the analyzer, which stops keel deploy).",
            "",
            "| spoiled | pass | fail | inconclusive | crash |",
            "|---|---|---|---|---|",
        ]
        for name, shares in invalid.items():
            cells = " | ".join(_pct(shares[o]) for o in (PASS, FAIL, INCONCLUSIVE, CRASH))
            out.append(f"| {name} | {cells} |")
    return out


def _ratio_table(summary: dict[str, Any], names: tuple[str, str], *, bound: bool) -> list[str]:
    """keel's median time to fail against the better of two baselines, one row per regression cell."""
    a, b = names
    head = f"| scenario | req/s | keel s | {SHORT[a]} s | {SHORT[b]} s | better | keel / better | A/A keel / better |"
    out = [head + (" any judge >= s |" if bound else ""), "|" + "---|" * (8 + bound)]
    aa = {(row["rps"], row["base_error"]): row for row in summary["rows"] if not row["regression"]}
    for row in summary["rows"]:
        if not row["regression"] or not row[a] or not row[b]:
            continue
        entry = {n: row[n] for n in ("keel", a, b)}
        text = {
            n: f"{_seconds(e['half_stopped_seconds'])} ({_pct(e['rollout_fail'])})" for n, e in entry.items()
        }
        times = {n: entry[n]["half_stopped_seconds"] for n in names}
        finite = {n: t for n, t in times.items() if t is not None}
        mine = entry["keel"]["half_stopped_seconds"]
        if finite:
            better = min(finite, key=lambda n: finite[n])
            if mine is None:
                ratio = "keel misses"
            else:
                value = mine / finite[better]
                ratio = f"{value:.2f}" + (" (<= 1/3)" if value <= 1 / 3 else "")
        else:
            better = a if row[a]["rollout_fail"] >= row[b]["rollout_fail"] else b
            ratio = "both never" if mine is None else "baselines never"
        ref = aa.get((row["rps"], row["base_error"]))
        false_fails = (
            "-"
            if ref is None
            else f"{_pct(ref['keel']['rollout_fail'])} / {_pct(ref[better]['rollout_fail']) if ref[better] else '-'}"
        )
        line = (
            f"| {row['scenario']} | {row['rps']:g} | {text['keel']} | {text[a]} | {text[b]} "
            f"| {SHORT[better]} | {ratio} | {false_fails} |"
        )
        if bound:
            scenario = next(s for s in SCENARIOS if s.name == row["scenario"])
            fastest = earliest_median_fail(scenario, row["rps"], TARGET_FALSE_FAIL)
            line += f" {_seconds(fastest)} |"
        out.append(line)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=200, help="replicas per regression cell")
    parser.add_argument("--reps-aa", type=int, default=1000, help="replicas per A/A cell")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--quick", action="store_true", help="few replicas: check that it runs")
    parser.add_argument("--json", type=Path, help="also write the summary as JSON here")
    parser.add_argument("--render", type=Path, help="only print the tables of a summary saved with --json")
    parser.add_argument(
        "--only",
        help="run only the scenarios whose name contains this (no calibration; the invalid windows still)",
    )
    args = parser.parse_args()
    if args.render:
        saved = json.loads(args.render.read_text())
        print(markdown(saved, saved["elapsed_seconds"], saved["replicas_aa"], saved["replicas"]))
        return 0
    reps, reps_aa = (20, 40) if args.quick else (args.reps, args.reps_aa)
    tasks = []
    for si, scenario in enumerate(SCENARIOS):
        if args.only and args.only not in scenario.name:
            continue
        for ri, rps in enumerate(scenario.rates or RATES):
            for wi, weight in enumerate(WEIGHTS):
                n = reps if scenario.regression else reps_aa
                seed = args.seed + 1000 * si + 10 * RATE_INDEX.get(rps, 5 + ri) + wi
                tasks.append(("eval", si, rps, weight, n, seed))
                if scenario.original and not args.only:
                    tasks.append(("cal", si, rps, weight, n, seed + CALIBRATION_SEED_OFFSET))
    tasks.sort(key=lambda t: -t[4] * min(t[2], 100.0) * (4 if t[0] == "eval" else 1))  # big cells first
    started = time.perf_counter()
    cells: dict[Key, dict[str, Any]] = {}
    invalid: dict[str, dict[str, float]] = {}
    invalid_reps = reps // 2
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        bad = pool.map(
            _invalid_task, [(name, invalid_reps, args.seed + 7 + i) for i, name in enumerate(INVALID)]
        )
        for key, out in pool.map(_task, tasks):
            cells[key] = out
        invalid = dict(bad)
    summary = summarise(cells, only=args.only)
    summary["invalid"] = invalid
    elapsed = time.perf_counter() - started
    summary.update(elapsed_seconds=elapsed, replicas_aa=reps_aa, replicas=reps)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    print(markdown(summary, elapsed, reps_aa, reps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
