"""Prometheus recording and alerting rules (a rule file ``promtool check rules`` accepts) from the rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keel.durations import format_duration
from keel.slo.config import Signals
from keel.slo.rules import (
    AlertRule,
    BurnRate,
    CheckFailing,
    Condition,
    ErrorRatio,
    LatencyQuantile,
    NotReady,
    windows_of,
)

READY_METRIC = "health_ready"
FAILURES_METRIC = "health_check_consecutive_failures"
ERROR_RATIO = "keel_slo:sli_error:ratio_rate"
REQUESTS = "keel_slo:requests:increase"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def selector(signals: Signals, **extra: str) -> str:
    """``{job="bayit",status=~"5.."}``: the configured labels plus ``extra`` (``=~`` when it starts with ~)."""
    parts = [f'{k}="{_escape(v)}"' for k, v in sorted(signals.selector.items())]
    for key, value in extra.items():
        if value.startswith("~"):
            parts.append(f'{key}=~"{_escape(value[1:])}"')
        else:
            parts.append(f'{key}="{_escape(value)}"')
    return "{" + ",".join(parts) + "}"


def window(seconds: float) -> str:
    return format_duration(seconds)


def le_matcher(bound: float) -> str:
    """Bucket bounds as exporters write them (``1.0``) and as Prometheus 3 normalises them (``1``)."""
    forms = sorted({repr(float(bound)), f"{bound:g}"})
    return "~" + "|".join(f.replace(".", "\\.").replace("+", "\\+") for f in forms)


def error_ratio_expr(signals: Signals, span: float) -> str:
    req, w = signals.requests, window(span)
    bad = selector(signals, **{signals.status_label: "~5.."})
    return f"(sum(rate({req}{bad}[{w}])) or vector(0)) / sum(rate({req}{selector(signals)}[{w}]))"


def latency_error_ratio_expr(signals: Signals, span: float, bound: float) -> str:
    lat, w = signals.latency, window(span)
    good = selector(signals, le=le_matcher(bound))
    return f"1 - (sum(rate({lat}_bucket{good}[{w}])) / sum(rate({lat}_count{selector(signals)}[{w}])))"


def requests_expr(signals: Signals, span: float, sli: str = "availability") -> str:
    metric = signals.requests if sli == "availability" else f"{signals.latency}_count"
    return f"sum(increase({metric}{selector(signals)}[{window(span)}]))"


def condition_expr(
    cond: Condition, signals: Signals, labels: Mapping[str, str], *, inline: bool = False
) -> str:
    """The alerting expression of one condition. Burn rates read the recording rules, or with ``inline``
    (a target without recording rules: Cloud Monitoring) compute every window in place."""
    if isinstance(cond, NotReady):
        sel = selector(signals)
        return f"({READY_METRIC}{sel} == 0) or (up{sel} == 0)"
    if isinstance(cond, ErrorRatio):
        return (
            f"({error_ratio_expr(signals, cond.window)} > {cond.threshold:g}) "
            f"and ({requests_expr(signals, cond.window)} >= {cond.min_requests})"
        )
    if isinstance(cond, LatencyQuantile):
        lat, w = signals.latency, window(cond.window)
        quantile = (
            f"histogram_quantile({cond.quantile:g}, sum by (le) (rate({lat}_bucket{selector(signals)}[{w}])))"
        )
        count = f"sum(increase({lat}_count{selector(signals)}[{w}]))"
        return f"({quantile} > {cond.threshold:g}) and ({count} >= {cond.min_requests})"
    if isinstance(cond, CheckFailing):
        extra = {"critical": "true" if cond.critical else "false"}
        if cond.component_type:
            extra["component_type"] = cond.component_type
        return f"max by (check) ({FAILURES_METRIC}{selector(signals, **extra)}) >= {cond.consecutive}"
    if inline:
        return _burn_inline(cond, signals)
    slo = _slo_selector(cond, labels)
    arms = []
    for pair in cond.windows:
        limit = f"({pair.factor:g} * {cond.budget:g})"
        long, short = window(pair.long), window(pair.short)
        arms.append(
            f"(({ERROR_RATIO}{long}{slo} > {limit}) and ({ERROR_RATIO}{short}{slo} > {limit})"
            f" and ({REQUESTS}{long}{slo} >= {cond.min_requests}))"
        )
    return "\n or ".join(arms)


def _burn_inline(cond: BurnRate, signals: Signals) -> str:
    def ratio(span: float) -> str:
        if cond.latency is None:
            return error_ratio_expr(signals, span)
        return latency_error_ratio_expr(signals, span, cond.latency)

    arms = []
    for pair in cond.windows:
        limit = f"({pair.factor:g} * {cond.budget:g})"
        arms.append(
            f"((({ratio(pair.long)}) > {limit}) and (({ratio(pair.short)}) > {limit})"
            f" and ({requests_expr(signals, pair.long, cond.sli)} >= {cond.min_requests}))"
        )
    return "\n or ".join(arms)


def _slo_selector(cond: BurnRate, labels: Mapping[str, str]) -> str:
    keep = {k: v for k, v in labels.items() if k in ("service", "environment")}
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in sorted({**keep, "slo": cond.slo}.items())) + "}"


def recording_rules(rules: tuple[AlertRule, ...], signals: Signals) -> list[dict[str, Any]]:
    """Per SLO and window: the error ratio and the request count the burn-rate alerts compare."""
    out: list[dict[str, Any]] = []
    by_slo = {r.condition.slo: r for r in rules if isinstance(r.condition, BurnRate)}
    for slo, spans in windows_of(rules).items():
        rule = by_slo[slo]
        cond = rule.condition
        assert isinstance(cond, BurnRate)
        labels = {k: v for k, v in rule.labels.items() if k in ("service", "environment")} | {"slo": slo}
        for span in spans:
            ratio = (
                error_ratio_expr(signals, span)
                if cond.latency is None
                else latency_error_ratio_expr(signals, span, cond.latency)
            )
            out.append({"record": f"{ERROR_RATIO}{window(span)}", "expr": ratio, "labels": dict(labels)})
            out.append(
                {"record": f"{REQUESTS}{window(span)}", "expr": requests_expr(signals, span, cond.sli),
                 "labels": dict(labels)}
            )  # fmt: skip
    return out


def alerting_rule(rule: AlertRule, signals: Signals) -> dict[str, Any]:
    out: dict[str, Any] = {"alert": rule.name, "expr": condition_expr(rule.condition, signals, rule.labels)}
    if rule.for_ > 0:
        out["for"] = window(rule.for_)
    if rule.keep_firing_for > 0:
        out["keep_firing_for"] = window(rule.keep_firing_for)
    out["labels"] = dict(rule.labels)
    annotations = {
        "summary": rule.summary,
        "description": f"{rule.name}: {rule.summary} (value {{{{ $value | humanize }}}}, "
        f"threshold {rule.threshold:g})",
        "threshold": f"{rule.threshold:g}",
    }
    if rule.runbook_url:
        annotations["runbook_url"] = rule.runbook_url
    if rule.dashboard_url:
        annotations["dashboard_url"] = rule.dashboard_url
    out["annotations"] = annotations
    return out


def rule_groups(
    rules: tuple[AlertRule, ...], signals: Signals, interval: float, group: str = "keel"
) -> dict[str, Any]:
    """The rule file: one recording group (when SLOs alert) and one alerting group, both at ``interval``."""
    groups: list[dict[str, Any]] = []
    recording = recording_rules(rules, signals)
    if recording:
        groups.append({"name": f"{group}-slo-recording", "interval": window(interval), "rules": recording})
    groups.append(
        {
            "name": f"{group}-alerts",
            "interval": window(interval),
            "rules": [alerting_rule(r, signals) for r in rules],
        }
    )
    return {"groups": groups}
