"""The alert rules as data, built once from keel.yaml: every target and the embedded watcher read these."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from keel.durations import format_duration
from keel.slo.config import (
    DEFAULT_SLOS,
    AlertsSpec,
    BurnWindow,
    CheckRule,
    ErrorRatioRule,
    LatencyRule,
    ReadinessRule,
    Severity,
    SlosSpec,
)


@dataclass(frozen=True)
class ErrorRatio:
    """5xx answers / all answers over ``window`` > ``threshold``, with at least ``min_requests``."""

    window: float
    threshold: float
    min_requests: int


@dataclass(frozen=True)
class LatencyQuantile:
    """The ``quantile`` of latency over ``window`` > ``threshold`` seconds, with at least ``min_requests``."""

    window: float
    quantile: float
    threshold: float
    min_requests: int


@dataclass(frozen=True)
class NotReady:
    """Readiness answers 503, or the target cannot be reached."""


@dataclass(frozen=True)
class CheckFailing:
    """A health check (critical or optional, of a component type) failed ``consecutive`` times in a row."""

    critical: bool
    component_type: str | None
    consecutive: int


@dataclass(frozen=True)
class BurnRate:
    """Any window pair burns the SLO's error budget faster than ``factor`` with ``min_requests`` in the long
    window (SRE Workbook: multiwindow, multi-burn-rate)."""

    slo: str
    sli: str
    latency: float | None
    budget: float
    windows: tuple[BurnWindow, ...]
    min_requests: int

    @property
    def threshold(self) -> float:
        return min(w.factor for w in self.windows) * self.budget


Condition = ErrorRatio | LatencyQuantile | NotReady | CheckFailing | BurnRate


@dataclass(frozen=True)
class AlertRule:
    name: str
    severity: Severity
    condition: Condition
    for_: float
    keep_firing_for: float
    summary: str
    threshold: float
    labels: Mapping[str, str] = field(default_factory=dict)
    runbook_url: str = ""
    dashboard_url: str = ""

    @property
    def key(self) -> str:
        """Stable identity of one alert: its name and labels (what Alertmanager fingerprints)."""
        return self.name + "{" + ",".join(f"{k}={v}" for k, v in sorted(self.labels.items())) + "}"


def _percent(share: float) -> str:
    return f"{share * 100:g} %"


def build_rules(
    alerts: AlertsSpec, slos: SlosSpec = DEFAULT_SLOS, service: str = "", environment: str = ""
) -> tuple[AlertRule, ...]:
    """Every enabled rule, in the order of the issue's table, with its labels and links."""
    if not alerts.enabled:
        return ()
    base = {"service": service} if service else {}
    if environment:
        base["environment"] = environment
    out: list[AlertRule] = []

    def add(name: str, severity: Severity, cond: Condition, for_: float, summary: str, threshold: float,
            extra: Mapping[str, str] | None = None) -> None:  # fmt: skip
        out.append(
            AlertRule(
                name, severity, cond, for_, alerts.keep_firing_for, summary, threshold,
                {**base, **(extra or {}), "severity": severity},
                f"{alerts.runbook_url}#{name.lower()}" if alerts.runbook_url else "",
                alerts.dashboard_url,
            )
        )  # fmt: skip

    ready: ReadinessRule = alerts.ReadinessFailing
    if ready.enabled:
        add(
            "ReadinessFailing", ready.severity, NotReady(), (ready.consecutive - 1) * alerts.interval,
            f"readiness failing (503 or unreachable) for {ready.consecutive} evaluations", 0.0,
        )  # fmt: skip
    for name in ("HighErrorRate", "ElevatedErrorRate"):
        ratio: ErrorRatioRule = getattr(alerts, name)
        if ratio.enabled:
            add(
                name, ratio.severity, ErrorRatio(ratio.window, ratio.threshold, ratio.min_requests),
                ratio.for_,
                f"5xx share above {_percent(ratio.threshold)} over {format_duration(ratio.window)}",
                ratio.threshold,
            )  # fmt: skip
        if name == "HighErrorRate":
            _check_rule(alerts.DatabaseConnectionFailures, "DatabaseConnectionFailures", add)
            lat: LatencyRule = alerts.HighLatencyP95
            if lat.enabled:
                add(
                    "HighLatencyP95", lat.severity,
                    LatencyQuantile(lat.window, lat.quantile, lat.threshold, lat.min_requests), lat.for_,
                    f"p{lat.quantile * 100:g} latency above {format_duration(lat.threshold)} "
                    f"over {format_duration(lat.window)}",
                    lat.threshold,
                )  # fmt: skip
    _check_rule(alerts.ExternalApiDegraded, "ExternalApiDegraded", add)
    burn = alerts.SLOErrorBudgetBurn
    if burn.enabled:
        for slo_name, slo in slos.items():
            for severity in sorted({w.severity for w in burn.windows}):
                windows = tuple(w for w in burn.windows if w.severity == severity)
                cond = BurnRate(slo_name, slo.sli, slo.latency, slo.budget, windows, burn.min_requests)
                add(
                    "SLOErrorBudgetBurn", severity, cond, 0.0,
                    f"SLO {slo_name} ({slo.objective:g} %) burning its error budget at "
                    f"{min(w.factor for w in windows):g}x or faster",
                    cond.threshold, {"slo": slo_name},
                )  # fmt: skip
    return tuple(out)


def _check_rule(rule: CheckRule, name: str, add: Callable[..., None]) -> None:
    if not rule.enabled:
        return
    kind = "critical" if rule.critical else "optional"
    what = f"a {kind} {rule.component_type or ''} health check".replace("  ", " ")
    add(
        name, rule.severity, CheckFailing(rule.critical, rule.component_type, rule.consecutive), 0.0,
        f"{what} failed {rule.consecutive} times in a row", float(rule.consecutive),
    )  # fmt: skip


def windows_of(rules: tuple[AlertRule, ...]) -> dict[str, tuple[float, ...]]:
    """The distinct burn-rate windows each SLO needs, shortest first (recording rules, watcher history)."""
    out: dict[str, set[float]] = {}
    for rule in rules:
        if isinstance(rule.condition, BurnRate):
            spans = out.setdefault(rule.condition.slo, set())
            for w in rule.condition.windows:
                spans.update((w.short, w.long))
    return {slo: tuple(sorted(spans)) for slo, spans in out.items()}
