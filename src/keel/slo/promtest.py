"""``promtool test rules`` unit tests for every rule: it fires on its fault, stays quiet on health, the
low-traffic guard holds, and gauge alerts resolve once ``keep_firing_for`` has passed."""

from __future__ import annotations

import math
from typing import Any

from keel.durations import format_duration
from keel.slo.config import Signals
from keel.slo.prometheus import FAILURES_METRIC, READY_METRIC
from keel.slo.rules import AlertRule, BurnRate, CheckFailing, ErrorRatio, LatencyQuantile, NotReady

_PREFIXES = (
    (1e24, "Y"),
    (1e21, "Z"),
    (1e18, "E"),
    (1e15, "P"),
    (1e12, "T"),
    (1e9, "G"),
    (1e6, "M"),
    (1e3, "k"),
)
_SMALL = ((1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"), (1e-18, "a"))


def humanize(v: float) -> str:
    """Prometheus' ``humanize`` template function (SI prefixes, four significant digits)."""
    if v == 0 or math.isnan(v) or math.isinf(v):
        return f"{v:.4g}"
    if abs(v) >= 1:
        for size, prefix in _PREFIXES:
            if abs(v) >= size:
                return f"{v / size:.4g}{prefix}"
        return f"{v:.4g}"
    for size, prefix in _SMALL:
        if abs(v) >= size:
            return f"{v / size:.4g}{prefix}"
    return f"{v:.4g}"


def _series(metric: str, signals: Signals, **labels: str) -> str:
    all_labels = {**signals.selector, **labels}
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(all_labels.items()))
    return f"{metric}{{{inner}}}"


def _expected(rule: AlertRule, value: float, extra: dict[str, str] | None = None) -> dict[str, Any]:
    annotations = {
        "summary": rule.summary,
        "description": f"{rule.name}: {rule.summary} (value {humanize(value)}, threshold {rule.threshold:g})",
        "threshold": f"{rule.threshold:g}",
    }
    if rule.runbook_url:
        annotations["runbook_url"] = rule.runbook_url
    if rule.dashboard_url:
        annotations["dashboard_url"] = rule.dashboard_url
    return {"exp_labels": {**(extra or {}), **rule.labels}, "exp_annotations": annotations}


def _case(interval: float, series: list[tuple[str, str]], checks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "interval": format_duration(interval),
        "input_series": [{"series": s, "values": v} for s, v in series],
        "alert_rule_test": checks,
    }


def _check(name: str, at: float, expected: list[dict[str, Any]]) -> dict[str, Any]:
    return {"eval_time": format_duration(at), "alertname": name, "exp_alerts": expected}


def _steps(span: float, interval: float) -> int:
    return math.ceil(span / interval) + 2


def _ratio_cases(
    rule: AlertRule, cond: ErrorRatio, signals: Signals, interval: float
) -> list[dict[str, Any]]:
    at = cond.window + rule.for_ + 2 * interval
    n = _steps(at, interval)
    per_step = cond.min_requests
    status = signals.status_label
    failing = [(_series(signals.requests, signals, **{status: "500"}), f"0+{per_step}x{n}")]
    healthy = [(_series(signals.requests, signals, **{status: "200"}), f"0+{per_step}x{n}")]
    cases = [
        _case(interval, failing, [_check(rule.name, at, [_expected(rule, 1.0)])]),
        _case(interval, healthy, [_check(rule.name, at, [])]),
    ]
    if cond.min_requests >= 3:  # one failed request in the window: the guard keeps it quiet
        lone = [(_series(signals.requests, signals, **{status: "500"}), f"0 1+0x{n}")]
        cases.append(_case(interval, lone, [_check(rule.name, at, [])]))
    return cases


def _histogram(signals: Signals, counts: dict[float, int], n: int) -> list[tuple[str, str]]:
    """Cumulative bucket series (``counts`` per step at or under each bound), +Inf and _count."""
    lat = signals.latency
    total = max(counts.values())
    out = [
        (_series(f"{lat}_bucket", signals, le=repr(float(b))), f"0+{c}x{n}")
        for b, c in sorted(counts.items())
    ]
    out.append((_series(f"{lat}_bucket", signals, le="+Inf"), f"0+{total}x{n}"))
    out.append((_series(f"{lat}_count", signals), f"0+{total}x{n}"))
    return out


def _latency_cases(
    rule: AlertRule, cond: LatencyQuantile, signals: Signals, interval: float
) -> list[dict[str, Any]]:
    at = cond.window + rule.for_ + 2 * interval
    n = _steps(at, interval)
    k, t = cond.min_requests, cond.threshold
    slow = _histogram(signals, {t: 0, 2 * t: k}, n)  # every request between t and 2t
    fast = _histogram(signals, {t: k, 2 * t: k}, n)  # every request within t
    value = t * (1 + cond.quantile)
    return [
        _case(interval, slow, [_check(rule.name, at, [_expected(rule, value)])]),
        _case(interval, fast, [_check(rule.name, at, [])]),
    ]


def _gauge_cases(
    rule: AlertRule, signals: Signals, interval: float, metric: str, labels: dict[str, str], bad: float, good: float,
    result_labels: dict[str, str],
) -> list[dict[str, Any]]:  # fmt: skip
    firing_at = rule.for_ + 2 * interval
    bad_steps = _steps(firing_at, interval)
    tail = _steps(rule.keep_firing_for + 2 * interval, interval)
    series = _series(metric, signals, **labels)
    flapped = f"{bad:g}x{bad_steps} {good:g}x{tail}"
    recovered_at = (bad_steps + 1) * interval + rule.keep_firing_for + interval
    return [
        _case(interval, [(series, flapped)], [
            _check(rule.name, firing_at, [_expected(rule, bad, result_labels)]),
            _check(rule.name, recovered_at, []),
        ]),
        _case(interval, [(series, f"{good:g}x{bad_steps}")], [_check(rule.name, firing_at, [])]),
    ]  # fmt: skip


def _burn_inputs(
    signals: Signals, bound: float | None, n: int, k: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """Input series of a total outage, of health, and of a single failed request."""
    if bound is None:
        status = signals.status_label
        bad = [(_series(signals.requests, signals, **{status: "500"}), f"0+{k}x{n}")]
        good = [(_series(signals.requests, signals, **{status: "200"}), f"0+{k}x{n}")]
        lone = [(_series(signals.requests, signals, **{status: "500"}), f"0 1+0x{n}")]
    else:
        bad = _histogram(signals, {bound: 0, 2 * bound: k}, n)
        good = _histogram(signals, {bound: k, 2 * bound: k}, n)
        lone = [(s, f"0 1+0x{n}" if "+Inf" in s or "_count" in s else f"0x{n}") for s, _ in bad]
    return bad, good, lone


def _burn_cases(group: list[AlertRule], signals: Signals, interval: float) -> list[dict[str, Any]]:
    """One SLO kind (availability, or latency at one bound). For each severity: a total outage sampled at a
    step fine enough for its short windows fires every alert whose windows that step can resolve (a coarse
    step keeps the 3-day windows cheap for promtool); health and a single failed request stay quiet."""
    conds = [(r, r.condition) for r in group if isinstance(r.condition, BurnRate)]
    k = max(c.min_requests for _, c in conds)
    bound = conds[0][1].latency
    name = group[0].name
    cases: list[dict[str, Any]] = []
    for _, cond in conds:
        step = max(interval, min(w.short for w in cond.windows) / 4)
        at = max(w.long for w in cond.windows) + 2 * step
        bad, _, _ = _burn_inputs(signals, bound, _steps(at, step), k)
        firing = [
            _expected(r, 1.0)
            for r, c in conds
            if any(w.factor * c.budget < 1 and w.short >= 2 * step for w in c.windows)
        ]
        cases.append(_case(step, bad, [_check(name, at, firing)]))
    step = max(interval, min(w.short for _, c in conds for w in c.windows) / 4)
    at = min(max(w.long for w in c.windows) for _, c in conds) + 2 * step
    _, good, lone = _burn_inputs(signals, bound, _steps(at, step), k)
    cases.append(_case(step, good, [_check(name, at, [])]))
    cases.append(_case(step, lone, [_check(name, at, [])]))
    return cases


def unit_tests(rules: tuple[AlertRule, ...], signals: Signals, interval: float) -> dict[str, Any]:
    """A promtool test file for ``rules`` (the caller fills in ``rule_files``)."""
    tests: list[dict[str, Any]] = []
    for rule in rules:
        cond = rule.condition
        if isinstance(cond, ErrorRatio):
            tests += _ratio_cases(rule, cond, signals, interval)
        elif isinstance(cond, LatencyQuantile):
            tests += _latency_cases(rule, cond, signals, interval)
        elif isinstance(cond, NotReady):
            labels = {"instance": "app:8000"}
            tests += _gauge_cases(rule, signals, interval, READY_METRIC, labels, 0, 1,
                                  {**signals.selector, **labels})  # fmt: skip
        elif isinstance(cond, CheckFailing):
            labels = {"check": "dependency", "critical": "true" if cond.critical else "false"}
            if cond.component_type:
                labels["component_type"] = cond.component_type
            tests += _gauge_cases(rule, signals, interval, FAILURES_METRIC, labels, cond.consecutive,
                                  cond.consecutive - 1, {"check": "dependency"})  # fmt: skip
    kinds: dict[tuple[str, float | None], list[AlertRule]] = {}
    for rule in rules:
        if isinstance(rule.condition, BurnRate):
            kinds.setdefault((rule.condition.sli, rule.condition.latency), []).append(rule)
    for group in kinds.values():
        tests += _burn_cases(group, signals, interval)
    return {"rule_files": ["rules.yaml"], "evaluation_interval": format_duration(interval), "tests": tests}
