"""The dashboard's panels as data: one service and environment of keel.yaml -> titled panels with their queries
(PromQL for Prometheus, and the Cloud Monitoring equivalent) and target lines. The web page and the Grafana and
Cloud Monitoring exports all render these."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from keel.durations import format_duration
from keel.slo.config import AlertsSpec, SloSpec, SlosSpec
from keel.slo.prometheus import ERROR_RATIO, le_matcher, selector
from keel.slo.rules import build_rules, windows_of

if TYPE_CHECKING:
    from keel.spec import KeelSpec

# Grafana picks a rate window fit for the scrape interval and the zoom; a target without that variable (Cloud
# Monitoring) reads every rate over this fixed window instead.
RATE_INTERVAL = "$__rate_interval"
FIXED_RATE_WINDOW = "5m"

# The review's targets (P2 #9): the lines drawn on the performance panels.
P50_TARGET = 0.2
P95_TARGET = 0.5
P99_TARGET = 2.0
ERROR_TARGET = 0.01
SERVER_ERROR_TARGET = 0.001

STATUS_METRIC = "health_check_status"  # 1 healthy, 0.5 degraded, 0 unhealthy, -1 disabled (keel.health)
CHECK_LATENCY_METRIC = "health_check_latency_seconds"
READY_METRIC = "health_ready"
CLOUD_RUN_REQUESTS = "run.googleapis.com/request_count"


class Unit(StrEnum):
    """What a panel's values measure; each target maps it to its own unit names."""

    requests_per_second = "requests_per_second"
    ratio = "ratio"  # 0..1, shown as a percentage
    seconds = "seconds"
    health = "health"  # keel.health's status values
    burn_rate = "burn_rate"  # multiples of the rate that spends the budget exactly over the SLO period


class Kind(StrEnum):
    timeseries = "timeseries"
    stat = "stat"  # one current value
    state = "state"  # a value per series over time, mapped to health states
    events = "events"  # deployments: annotations, not a query


class Section(StrEnum):
    health = "Health now"
    performance = "Performance against targets"
    slos = "SLOs"
    deployments = "Deployments"


@dataclass(frozen=True)
class Query:
    """One series (or one series per label value) of a panel. ``promql`` may use Grafana's
    ``$__rate_interval``; ``legend`` names a series by its labels (``{{route}}``)."""

    promql: str
    legend: str = ""


@dataclass(frozen=True)
class CloudQuery:
    """One Cloud Monitoring data set: PromQL over Managed Service for Prometheus data, or (``filter``) a
    Monitoring filter on Google Cloud's own metrics, aligned by ``aligner`` and reduced by ``reducer`` across
    everything but ``group_by``."""

    prometheus: str = ""
    filter: str = ""
    aligner: str = ""
    reducer: str = ""
    group_by: tuple[str, ...] = ()
    legend: str = ""


@dataclass(frozen=True)
class Threshold:
    """A target line: values on the ``bad`` side of ``value`` miss the target."""

    value: float
    label: str
    bad: Literal["above", "below"] = "above"
    severity: Literal["warning", "critical"] = "critical"


@dataclass(frozen=True)
class Panel:
    """``queries`` read a Prometheus data source (with keel's recording rules where they exist);
    ``cloud_queries`` are the Cloud Monitoring equivalent. An empty tuple means the target cannot show it."""

    id: str
    title: str
    description: str
    section: Section
    kind: Kind
    unit: Unit
    queries: tuple[Query, ...]
    cloud_queries: tuple[CloudQuery, ...]
    thresholds: tuple[Threshold, ...] = ()


@dataclass(frozen=True)
class DeploymentMarks:
    """Where deployments appear on the time axis. keel's records live in its store, not in Prometheus, so
    Grafana reads them as annotations tagged ``tags`` (posted to Grafana's annotations API after each release)
    and overlays ``restarts_promql``, which marks a new process of the service (a new revision)."""

    tags: tuple[str, ...]
    restarts_promql: str


@dataclass(frozen=True)
class Dashboard:
    service: str
    environment: str
    title: str
    panels: tuple[Panel, ...]
    deployments: DeploymentMarks

    def section(self, section: Section) -> tuple[Panel, ...]:
        return tuple(p for p in self.panels if p.section is section)


def _rate(metric: str, sel: str, window: str) -> str:
    return f"rate({metric}{sel}[{window}])"


def _health(alerts: AlertsSpec) -> tuple[Panel, ...]:
    sel = selector(alerts.signals)
    ready = f"min({READY_METRIC}{sel})"
    status = f"max by (check) ({STATUS_METRIC}{sel})"
    latency = f"max by (check) ({CHECK_LATENCY_METRIC}{sel})"
    return (
        Panel(
            "readiness", "Readiness",
            "1 while no critical check is unhealthy (/health/ready answers 200), 0 while it answers 503.",
            Section.health, Kind.stat, Unit.health,
            (Query(ready, "ready"),), (CloudQuery(prometheus=ready),),
            (Threshold(1, "ready", bad="below"),),
        ),
        Panel(
            "dependencies", "Dependencies",
            "Each health check's latest status: healthy, degraded, unhealthy, or not configured (disabled: "
            "declared absent in this environment).",
            Section.health, Kind.state, Unit.health,
            (Query(status, "{{check}}"),), (CloudQuery(prometheus=status, legend="${check}"),),
            (Threshold(1, "healthy", bad="below", severity="warning"), Threshold(0.5, "degraded", bad="below")),
        ),
        Panel(
            "dependency-latency", "Dependency check latency",
            "How long each health check's latest run took.",
            Section.health, Kind.timeseries, Unit.seconds,
            (Query(latency, "{{check}}"),), (CloudQuery(prometheus=latency, legend="${check}"),),
        ),
    )  # fmt: skip


def _performance(alerts: AlertsSpec, window: str) -> dict[str, tuple[Query, ...]]:
    """The performance queries over ``window`` (the same text feeds both targets' query types)."""
    signals = alerts.signals
    req, lat, status = signals.requests, signals.latency, signals.status_label
    sel = selector(signals)
    errors = selector(signals, **{status: "~[45].."})
    server = selector(signals, **{status: "~5.."})
    total = f"sum({_rate(req, sel, window)})"
    buckets = f"sum by (le) ({_rate(lat + '_bucket', sel, window)})"
    return {
        "request-rate": (Query(total, "requests/s"),),
        "error-rate": (Query(f"(sum({_rate(req, errors, window)}) or vector(0)) / {total}", "4xx+5xx share"),),
        "server-error-rate": (Query(f"(sum({_rate(req, server, window)}) or vector(0)) / {total}", "5xx share"),),
        "latency": tuple(
            Query(f"histogram_quantile({q:g}, {buckets})", f"p{round(q * 100)}") for q in (0.5, 0.95, 0.99)
        ),
        "errors-by-route": (Query(f"sum by (route) ({_rate(req, errors, window)})", "{{route}}"),),
        "errors-by-status": (Query(f"sum by ({status}) ({_rate(req, errors, window)})", f"{{{{{status}}}}}"),),
    }  # fmt: skip


def cloud_legend(legend: str) -> str:
    """Grafana's ``{{route}}`` as Cloud Monitoring's legend template writes it: ``${route}``."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", r"${\1}", legend)


def _cloud(queries: tuple[Query, ...]) -> tuple[CloudQuery, ...]:
    return tuple(CloudQuery(prometheus=q.promql, legend=cloud_legend(q.legend)) for q in queries)


def _performance_panels(alerts: AlertsSpec) -> tuple[Panel, ...]:
    grafana = _performance(alerts, RATE_INTERVAL)
    cloud = _performance(alerts, FIXED_RATE_WINDOW)

    def panel(pid: str, title: str, description: str, unit: Unit, *thresholds: Threshold) -> Panel:
        return Panel(
            pid, title, description, Section.performance, Kind.timeseries, unit,
            grafana[pid], _cloud(cloud[pid]), thresholds,
        )  # fmt: skip

    return (
        panel("request-rate", "Request rate", "Answers per second, every route and status.",
              Unit.requests_per_second),
        panel("error-rate", "Error rate", "Share of answers with a 4xx or 5xx status. Target: under 1 %.",
              Unit.ratio, Threshold(ERROR_TARGET, "errors < 1 %")),
        panel("server-error-rate", "5xx rate", "Share of answers with a 5xx status. Target: under 0.1 %.",
              Unit.ratio, Threshold(SERVER_ERROR_TARGET, "5xx < 0.1 %")),
        panel("latency", "Latency p50 / p95 / p99",
              "Request latency quantiles from the duration histogram. Targets: p50 under 200 ms, p95 under "
              "500 ms, p99 under 2 s.",
              Unit.seconds,
              Threshold(P50_TARGET, "p50 < 200 ms", severity="warning"),
              Threshold(P95_TARGET, "p95 < 500 ms", severity="warning"),
              Threshold(P99_TARGET, "p99 < 2 s")),
        panel("errors-by-route", "Errors by route", "4xx and 5xx answers per second, by route template.",
              Unit.requests_per_second),
        panel("errors-by-status", "Errors by status", "4xx and 5xx answers per second, by status code.",
              Unit.requests_per_second),
    )  # fmt: skip


def _bad_ratio(alerts: AlertsSpec, slo: SloSpec, window: str) -> str:
    """The SLO's share of bad events over ``window``, computed in place (no recording rule)."""
    signals = alerts.signals
    sel = selector(signals)
    if slo.latency is None:
        bad = selector(signals, **{signals.status_label: "~5.."})
        req = signals.requests
        return f"(sum(increase({req}{bad}[{window}])) or vector(0)) / sum(increase({req}{sel}[{window}]))"
    good = selector(signals, le=le_matcher(slo.latency))
    lat = signals.latency
    return f"1 - (sum(increase({lat}_bucket{good}[{window}])) / sum(increase({lat}_count{sel}[{window}])))"


def _span(seconds: float) -> str:
    """A PromQL range: whole days as days (``30d``), anything else as keel writes durations."""
    if seconds >= 86400 and seconds % 86400 == 0:
        return f"{int(seconds // 86400)}d"
    return format_duration(seconds)


def _slo_labels(service: str, environment: str, name: str) -> str:
    labels = {"environment": environment, "service": service, "slo": name}
    escaped = {k: v.replace("\\", "\\\\").replace('"', '\\"') for k, v in labels.items()}
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(escaped.items())) + "}"


def _slo_panels(alerts: AlertsSpec, slos: SlosSpec, service: str, environment: str) -> tuple[Panel, ...]:
    """Per SLO: attainment and budget left over its period (computed in place: the period is not recorded),
    and the burn rate over each alert window: keel's recording rules for Prometheus (the rules ``keel alerts
    render --target prometheus`` writes), the same ratio in place for Cloud Monitoring (which has none)."""
    recorded = windows_of(build_rules(alerts, slos, service, environment))
    windows = alerts.SLOErrorBudgetBurn.windows if alerts.SLOErrorBudgetBurn.enabled else ()
    out: list[Panel] = []
    for name, slo in slos.items():
        period = _span(slo.period)
        ratio = _bad_ratio(alerts, slo, period)
        what = (
            "answers without a 5xx"
            if slo.latency is None
            else f"answers within {format_duration(slo.latency)}"
        )
        attained = f"1 - ({ratio})"
        left = f"1 - (({ratio}) / {slo.budget:g})"
        out.append(Panel(
            f"slo-{name}-attainment", f"SLO {name}: attainment ({period})",
            f"Share of {what} over the last {period}. Objective: {slo.objective:g} %.",
            Section.slos, Kind.stat, Unit.ratio,
            (Query(attained, name),), (CloudQuery(prometheus=attained),),
            (Threshold(round(slo.objective / 100, 12), f"objective {slo.objective:g} %", bad="below"),),
        ))  # fmt: skip
        out.append(Panel(
            f"slo-{name}-budget", f"SLO {name}: error budget left",
            f"Share of the error budget ({slo.budget * 100:g} % of requests over {period}) not yet spent; "
            "negative once overspent.",
            Section.slos, Kind.stat, Unit.ratio,
            (Query(left, name),), (CloudQuery(prometheus=left),),
            (Threshold(0.25, "a quarter left", bad="below", severity="warning"),
             Threshold(0, "budget spent", bad="below")),
        ))  # fmt: skip
        longs = sorted({w.long for w in windows})
        queries, cloud = [], []
        for long in longs:
            span = format_duration(long)
            if long in recorded.get(name, ()):
                expr = f"{ERROR_RATIO}{span}{_slo_labels(service, environment, name)} / {slo.budget:g}"
            else:
                expr = f"({_bad_ratio(alerts, slo, span)}) / {slo.budget:g}"
            queries.append(Query(expr, f"{span} window"))
            cloud.append(CloudQuery(prometheus=f"({_bad_ratio(alerts, slo, span)}) / {slo.budget:g}",
                                    legend=f"{span} window"))  # fmt: skip
        if not queries:  # burn-rate alerts off: still show the burn over the shortest useful window
            expr = f"({_bad_ratio(alerts, slo, '1h')}) / {slo.budget:g}"
            queries, cloud = [Query(expr, "1h window")], [CloudQuery(prometheus=expr, legend="1h window")]
        out.append(Panel(
            f"slo-{name}-burn-rate", f"SLO {name}: burn rate",
            "How fast the error budget burns: 1 spends it exactly over the SLO period. Lines: the burn-rate "
            "alerts' factors (both of a pair's windows above its factor alert).",
            Section.slos, Kind.timeseries, Unit.burn_rate, tuple(queries), tuple(cloud),
            tuple(
                Threshold(w.factor, f"{w.severity} {w.factor:g}x ({format_duration(w.long)})",
                          severity="critical" if w.severity == "page" else "warning")
                for w in sorted(windows, key=lambda w: -w.factor)
            ),
        ))  # fmt: skip
    return tuple(out)


def _deployment_panels(service: str, cloud_run_service: str | None) -> tuple[Panel, ...]:
    cloud: tuple[CloudQuery, ...] = ()
    if cloud_run_service:
        cloud = (
            CloudQuery(
                filter=f'metric.type="{CLOUD_RUN_REQUESTS}" resource.type="cloud_run_revision" '
                f'resource.label."service_name"="{cloud_run_service}"',
                aligner="ALIGN_RATE",
                reducer="REDUCE_SUM",
                group_by=('resource.label."revision_name"',),
            ),
        )
    return (
        Panel(
            "deployments", "Deployments",
            f"Releases of {service}: keel's deploy annotations (and restarts of the service's processes). On "
            "Cloud Run, requests per revision show each canary's traffic split.",
            Section.deployments, Kind.events, Unit.requests_per_second, (), cloud,
        ),
    )  # fmt: skip


def build_dashboard(
    service: str,
    environment: str,
    alerts: AlertsSpec,
    slos: SlosSpec,
    cloud_run_service: str | None = None,
) -> Dashboard:
    """The panels of one service and environment. ``cloud_run_service`` (the environment's Cloud Run service,
    when it runs there) adds Cloud Run's own per-revision request metric to the deployments panel."""
    sel = selector(alerts.signals)
    return Dashboard(
        service=service,
        environment=environment,
        title=f"{service} ({environment})",
        panels=(
            *_health(alerts),
            *_performance_panels(alerts),
            *_slo_panels(alerts, slos, service, environment),
            *_deployment_panels(service, cloud_run_service),
        ),
        deployments=DeploymentMarks(
            tags=("keel", "deploy", f"service:{service}", f"environment:{environment}"),
            restarts_promql=f"changes(process_start_time_seconds{sel}[2m]) > 0",
        ),
    )


def dashboard_for(spec: KeelSpec, environment: str) -> Dashboard:
    """The dashboard of ``environment`` in a loaded keel.yaml; an unknown environment is a SpecError naming
    the known ones."""
    env = spec.environment(environment)
    cloud_run = getattr(env, "service", None) if env.platform == "cloudrun" else None
    return build_dashboard(spec.service, environment, spec.alerts, spec.slos, cloud_run)
