"""The ``alerts:`` and ``slos:`` sections of keel.yaml: the default rules, their thresholds and routes."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from keel.durations import Duration

Severity = Literal["page", "ticket", "warning"]
SEVERITIES: tuple[Severity, ...] = ("page", "ticket", "warning")
_LABEL = r"^[a-zA-Z_][a-zA-Z0-9_]*$"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Rule(Model):
    """Shared by every rule: ``false`` turns it off; ``enabled: false`` too."""

    enabled: bool = True
    severity: Severity = "page"

    @model_validator(mode="before")
    @classmethod
    def _from_bool(cls, data: Any) -> Any:
        if isinstance(data, bool):
            return {"enabled": data}
        return {} if data is None else data


class ReadinessRule(_Rule):
    """Readiness answering 503, or the target not scraped, for ``consecutive`` evaluations in a row."""

    consecutive: int = Field(default=2, ge=1, le=100)


class ErrorRatioRule(_Rule):
    """The share of 5xx answers over ``window`` above ``threshold``, with at least ``min_requests``."""

    threshold: float = Field(gt=0, lt=1)
    window: Duration = 300.0
    for_: Duration = Field(default=0.0, alias="for")
    min_requests: int = Field(default=10, ge=1)


class LatencyRule(_Rule):
    """The ``quantile`` of request latency over ``window`` above ``threshold`` seconds."""

    quantile: float = Field(default=0.95, gt=0, lt=1)
    threshold: Duration = 1.0
    window: Duration = 600.0
    for_: Duration = Field(default=0.0, alias="for")
    min_requests: int = Field(default=10, ge=1)


class CheckRule(_Rule):
    """A health check of the given criticality (and component type) failing ``consecutive`` times in a row."""

    critical: bool = True
    component_type: str | None = None
    consecutive: int = Field(default=3, ge=1, le=1000)


class BurnWindow(Model):
    severity: Severity
    long: Duration = Field(gt=0)
    short: Duration = Field(gt=0)
    factor: float = Field(gt=0)

    @model_validator(mode="after")
    def _short_is_shorter(self) -> BurnWindow:
        if self.short >= self.long:
            raise ValueError("the short window must be shorter than the long one")
        return self


@cache
def default_windows() -> tuple[BurnWindow, ...]:
    """The SRE Workbook's windows, read from the package's windows.yaml."""
    text = files("keel.slo").joinpath("windows.yaml").read_text(encoding="utf-8")
    return tuple(BurnWindow.model_validate(item) for item in yaml.safe_load(text))


class BurnRule(_Rule):
    """Multiwindow multi-burn-rate alerts for every SLO; ``min_requests`` in the long window is the
    low-traffic guard (one failed request at night does not page)."""

    windows: tuple[BurnWindow, ...] = Field(default_factory=default_windows)
    min_requests: int = Field(default=20, ge=1)

    @model_validator(mode="after")
    def _some_window(self) -> BurnRule:
        if self.enabled and not self.windows:
            raise ValueError("give at least one burn-rate window (or turn the rule off: false)")
        return self


class Signals(Model):
    """Where the rules read: the metric names the service exports and the labels that select its series."""

    requests: str = Field(default="http_requests_total", pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    latency: str = Field(default="http_request_duration_seconds", pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    status_label: str = Field(default="status", pattern=_LABEL)
    selector: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _label_names(self) -> Signals:
        import re

        bad = [k for k in self.selector if not re.match(_LABEL, k)]
        if bad:
            raise ValueError(f"invalid label name in selector: {bad[0]!r}")
        return self


class Receiver(Model):
    """A notify channel (by its name in ``notify:``) and how often Alertmanager repeats a firing alert."""

    channel: Literal["pagerduty", "slack", "webhook", "noop"]
    repeat: Duration = 14400.0


def _default_routes() -> dict[Severity, Receiver]:
    return {
        "page": Receiver(channel="pagerduty", repeat=3600.0),
        "ticket": Receiver(channel="slack"),
        "warning": Receiver(channel="slack"),
    }


class AlertmanagerOptions(Model):
    """Rendering details of the Alertmanager target. Secrets are read from files Alertmanager loads
    (``<secrets_dir>/<VARIABLE>``), never written into the configuration."""

    secrets_dir: str = "/etc/alertmanager/secrets"
    slack_channel: str = "#engineering"
    pagerduty_url: str | None = None  # default: PagerDuty's Events API v2
    # A webhook URL that holds no token; without it the URL is read from a file (Alertmanager >= 0.26).
    webhook_url: str | None = None
    group_wait: Duration = 30.0
    group_interval: Duration = 300.0


RULE_NAMES: tuple[str, ...] = (
    "ReadinessFailing",
    "HighErrorRate",
    "DatabaseConnectionFailures",
    "HighLatencyP95",
    "ElevatedErrorRate",
    "ExternalApiDegraded",
    "SLOErrorBudgetBurn",
)


class CloudMonitoringOptions(Model):
    """The Cloud Monitoring target: PromQL alert policies (Managed Service for Prometheus data) and channels.
    Channel secrets (PagerDuty key, Slack app token) are read from these variables by ``keel alerts apply``."""

    project: str | None = None  # default: the environment's Cloud Run project
    slack_token_env: str = Field(default="SLACK_AUTH_TOKEN", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    auto_close: Duration = 1800.0


class AlertsSpec(Model):
    """The default rules reproduce the review's P0/P1 alerts; names are stable API (silences and routes use
    them). Every rule can be tuned or turned off (``HighLatencyP95: false``)."""

    enabled: bool = True
    interval: Duration = Field(default=30.0, gt=0)
    keep_firing_for: Duration = 120.0
    signals: Signals = Signals()
    routes: dict[Severity, Receiver] = Field(default_factory=_default_routes)
    runbook_url: str = "https://github.com/bayit-plus/keel/blob/main/docs/runbooks/INCIDENT_RESPONSE.md"
    dashboard_url: str = ""
    alertmanager: AlertmanagerOptions = AlertmanagerOptions()
    cloudmonitoring: CloudMonitoringOptions = CloudMonitoringOptions()
    ReadinessFailing: ReadinessRule = ReadinessRule()
    HighErrorRate: ErrorRatioRule = ErrorRatioRule(threshold=0.05, window=300.0)
    DatabaseConnectionFailures: CheckRule = CheckRule(component_type="datastore")
    HighLatencyP95: LatencyRule = LatencyRule(severity="warning")
    ElevatedErrorRate: ErrorRatioRule = ErrorRatioRule(threshold=0.01, window=900.0, severity="warning")
    ExternalApiDegraded: CheckRule = CheckRule(critical=False, severity="warning")
    SLOErrorBudgetBurn: BurnRule = BurnRule()

    @model_validator(mode="before")
    @classmethod
    def _over_defaults(cls, data: Any) -> Any:
        """A rule's keys change only those keys: ``ElevatedErrorRate: {window: 30m}`` keeps its 1 %."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name in RULE_NAMES:
            value = out.get(name)
            if isinstance(value, bool):
                value = {"enabled": value}
            if isinstance(value, dict):
                default = cls.model_fields[name].default
                base = default.model_dump(by_alias=True, exclude={"windows"})
                out[name] = {**base, **value}
        return out


class SloSpec(Model):
    """One objective: ``availability`` (share of non-5xx answers) or ``latency`` (share answered within
    ``latency``), in percent over ``period``."""

    objective: float = Field(gt=0, lt=100)
    sli: Literal["availability", "latency"] = "availability"
    latency: Duration | None = None
    period: Duration = 30 * 86400.0

    @model_validator(mode="after")
    def _latency_threshold(self) -> SloSpec:
        if self.sli == "latency" and self.latency is None:
            raise ValueError("a latency SLO needs `latency:` (a histogram bucket bound such as 1s)")
        if self.sli == "availability" and self.latency is not None:
            raise ValueError("`latency:` applies to latency SLOs only (sli: latency)")
        return self

    @property
    def budget(self) -> float:
        """The error budget: the share of requests allowed to be bad."""
        return round(1 - self.objective / 100, 12)


SlosSpec = dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,62}$")], SloSpec]
DEFAULT_SLOS: SlosSpec = {"availability": SloSpec(objective=99.9)}
