"""The review's items as data: each a priority, a title and a small pure function of the project view that
says pass, fail, warn or skipped, with the evidence it saw and the fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from keel.review.project import DEEP_PATH, READY_PATH, LiveEndpoint, ProjectView, gcs_without_bucket

RUNBOOKS = ("INCIDENT_RESPONSE.md", "DEPLOYMENT_CHECKLIST.md", "SECRET_ROTATION.md")
PROBES = ("startup", "liveness", "readiness")
SCANNERS = {"bandit": "bandit", "pip-audit": "pip-audit", "trivy": "aquasecurity/trivy-action"}


class Priority(StrEnum):
    P0 = "P0"  # blocks production
    P1 = "P1"
    P2 = "P2"


class Status(StrEnum):
    passed = "pass"
    failed = "fail"
    warn = "warn"
    skipped = "skipped"


@dataclass(frozen=True)
class Finding:
    status: Status
    evidence: str
    fix: str = ""


@dataclass(frozen=True)
class Check:
    id: str
    priority: Priority
    title: str
    run: Callable[[ProjectView], Finding]


def _pass(evidence: str) -> Finding:
    return Finding(Status.passed, evidence)


# --- P0 ------------------------------------------------------------------------------------------------------


def gcs_bucket(view: ProjectView) -> Finding:
    missing = gcs_without_bucket(view.doc)  # the raw file: the spec may hold the review's stand-in
    if missing:
        return Finding(
            Status.failed,
            "; ".join(
                f"{view.where('environments', n)}: stores media in GCS, no GCS_BUCKET_NAME" for n in missing
            ),
            "set GCS_BUCKET_NAME under environments.<env>.env (or secrets:): "
            "the service refuses to start without its bucket",
        )
    using = [name for name, env in view.spec.environments.items() if env.env.get("STORAGE_TYPE") == "gcs"]
    using += [
        n for n, env in view.spec.environments.items() if "gcs" in getattr(env, "uses", ()) and n not in using
    ]
    if not using:
        return _pass("no environment stores media in GCS")
    return _pass(f"GCS_BUCKET_NAME set wherever GCS is used ({', '.join(using)})")


def staging_secrets(view: ProjectView) -> Finding:
    shared = [
        name
        for name, env in view.spec.environments.items()
        if env.platform not in ("local", "memory") and name != "production"
    ]
    if not shared:
        return _pass("no staging environment")
    undeclared = [n for n in shared if not getattr(view.spec.environments[n], "optional_unconfigured", ())]
    declared = [
        f"{n}: {', '.join(getattr(view.spec.environments[n], 'optional_unconfigured', ()))}"
        for n in shared
        if n not in undeclared
    ]
    if not undeclared:
        return _pass("dependencies declared absent: " + "; ".join(declared))
    return Finding(
        Status.failed,
        "; ".join(f"{view.where('environments', n)}: no optional_unconfigured" for n in undeclared)
        + " (its deep health reports every secret it lacks as a failure)",
        "declare the dependencies it runs without, e.g. "
        "environments.staging.optional_unconfigured: [openai, elevenlabs, anthropic, pinecone]",
    )


def probe_timeouts(view: ProjectView) -> Finding:
    problems: list[str] = []
    for name in PROBES:
        probe = view.raw("probes", name)
        if not isinstance(probe, dict) or "timeout" not in probe:
            problems.append(f"{view.where('probes', name)}: no timeout")
            continue
        spec = getattr(view.spec.probes, name)
        if spec.timeout >= spec.period:
            problems.append(
                f"{view.where('probes', name, 'timeout')}: {spec.timeout:g}s, not under its period {spec.period:g}s"
            )
    if problems:
        return Finding(
            Status.failed,
            "; ".join(problems),
            "set probes.<probe>.timeout in keel.yaml, shorter than its period "
            "(e.g. startup 5s, liveness 3s, readiness 5s)",
        )
    timeouts = ", ".join(f"{n} {getattr(view.spec.probes, n).timeout:g}s" for n in PROBES)
    return _pass(f"{view.where('probes')}: {timeouts}")


def _live(view: ProjectView, path: str) -> LiveEndpoint | None:
    return view.live.get(path)


def live_ready(view: ProjectView) -> Finding:
    answer = _live(view, READY_PATH)
    if answer is None:
        return Finding(Status.skipped, "no --url given")
    if answer.ok:
        return _pass(f"{view.url}{READY_PATH}: HTTP {answer.status}")
    got = answer.error or f"HTTP {answer.status}"
    return Finding(
        Status.failed,
        f"{view.url}{READY_PATH}: {got}",
        "fix the service's readiness (docs/runbooks/INCIDENT_RESPONSE.md)",
    )


# --- P1 ------------------------------------------------------------------------------------------------------


def runbooks(view: ProjectView) -> Finding:
    missing = [name for name in RUNBOOKS if name not in view.runbooks]
    if not missing:
        return _pass("docs/runbooks/: " + ", ".join(RUNBOOKS))
    return Finding(
        Status.failed, "missing in docs/runbooks/: " + ", ".join(missing), "write " + ", ".join(missing)
    )


def alerting(view: ProjectView) -> Finding:
    """Alerts exist, are on, and every severity routes to a notify: channel that is configured. Reads the
    spec's ``alerts``/``slos`` when keel has them (defaults included), else the raw keel.yaml sections."""
    alerts = getattr(view.spec, "alerts", None)
    channels = sorted(view.spec.notify.channels)
    if alerts is None:
        sections = [key for key in ("alerts", "slos") if view.raw(key) is not None]
        if not sections:
            return Finding(
                Status.failed,
                f"{view.spec_name}: no alerts: or slos: section"
                + (f" (notify channels: {', '.join(channels)})" if channels else ""),
                "add alerts: (and slos:) to keel.yaml: burn-rate alerts on availability and latency, "
                "routed to on-call",
            )
        if not channels:
            return Finding(
                Status.warn,
                f"{', '.join(sections)} present, no notify: channel",
                "add a notify: channel (slack, pagerduty) so an alert reaches someone",
            )
        return _pass(f"{', '.join(view.where(s) for s in sections)}; notify: {', '.join(channels)}")
    if not getattr(alerts, "enabled", True):
        return Finding(Status.failed, f"{view.where('alerts', 'enabled')}: false", "turn alerts on")
    routes = dict(getattr(alerts, "routes", {}) or {})
    unrouted = [
        f"{severity} -> {route.channel}"
        for severity, route in sorted(routes.items())
        if route.channel != "noop" and route.channel not in channels
    ]
    where = view.where("alerts") if view.raw("alerts") is not None else f"{view.spec_name}: alerts (defaults)"
    if unrouted:
        return Finding(
            Status.failed,
            f"{where}: routed to a channel not configured in notify: {', '.join(unrouted)}"
            f" (configured: {', '.join(channels) or 'none'})",
            "add each channel under notify: (e.g. pagerduty: {routing_key_env: PAGERDUTY_ROUTING_KEY}) or "
            "route the severity to a configured one in alerts.routes",
        )
    slos = getattr(view.spec, "slos", None) or {}
    routed = ", ".join(f"{severity} -> {route.channel}" for severity, route in sorted(routes.items()))
    return _pass(f"{where}: {routed}; slos: {', '.join(sorted(slos)) or 'none'}")


def canary_production(view: ProjectView) -> Finding:
    if "production" not in view.spec.environments:
        return Finding(
            Status.warn, f"{view.spec_name}: no production environment", "add environments.production"
        )
    canary = view.spec.strategy.canary
    if canary is None:
        return Finding(
            Status.failed,
            f"{view.where('strategy')}: direct (all traffic at once)",
            "use strategy: canary with steps such as 10% -> 50% -> 100%, each held and analysed",
        )
    partial = [s for s in canary.steps if s.weight < 100]
    if not partial or not any(s.hold > 0 for s in partial):
        return Finding(
            Status.failed,
            f"{view.where('strategy', 'canary')}: no held step below 100%",
            "hold at least one step below 100% (e.g. {weight: 10, hold: 10m}) so the analysis can judge it",
        )
    weights = " -> ".join(f"{s.weight}%" for s in canary.steps)
    return _pass(f"{view.where('strategy')}: canary {weights}")


def smoke_gate(view: ProjectView) -> Finding:
    gate = view.spec.gates.smoke
    if gate is None:
        return Finding(
            Status.failed,
            f"{view.where('gates')}: no smoke gate",
            "add gates: {smoke: smoke.yaml} (keel smoke)",
        )
    path = view.spec.smoke_file()
    if path is not None and not path.is_file():
        return Finding(
            Status.failed, f"{view.where('gates', 'smoke')}: {path.name} not found", f"write {path.name}"
        )
    what = path.name if path is not None else f"{len(gate.checks)} inline checks"
    return _pass(f"{view.where('gates', 'smoke')}: {what}")


def live_deep(view: ProjectView) -> Finding:
    answer = _live(view, DEEP_PATH)
    if answer is None:
        return Finding(Status.skipped, "no --url given")
    where = f"{view.url}{DEEP_PATH}"
    if answer.error:
        return Finding(Status.failed, f"{where}: {answer.error}", "make the service reachable")
    status = str((answer.body or {}).get("status", "")) or "no status"
    if answer.status in (401, 403):
        return Finding(Status.warn, f"{where}: HTTP {answer.status}", "pass the health token (--token)")
    services = (answer.body or {}).get("services")
    bad = sorted(
        f"{name} {info.get('status')}"
        for name, info in (services.items() if isinstance(services, dict) else ())
        if isinstance(info, dict) and info.get("status") in ("degraded", "unhealthy")
    )  # names and states only: a check's message is the service's to show
    which = f" ({', '.join(bad)})" if bad else ""
    if answer.ok and status == "healthy":
        return _pass(f"{where}: HTTP {answer.status}, healthy")
    if answer.ok and status == "degraded":
        return Finding(Status.warn, f"{where}: degraded{which}", "restore the degraded dependencies")
    return Finding(
        Status.failed, f"{where}: HTTP {answer.status}, {status}{which}", "restore the failing dependencies"
    )


# --- P2 ------------------------------------------------------------------------------------------------------


def dashboard(view: ProjectView) -> Finding:
    """A dashboard keel exported is committed (dashboards/ or monitoring/) and still what keel.yaml gives:
    each keel export is regenerated for its target and environment and compared."""
    from keel.dashboard.exports.committed import State, classify

    command = "keel dashboard export --target grafana --env production -o dashboards/grafana-production.json"
    if not view.dashboards:
        return Finding(
            Status.warn,
            "no dashboards/*.json or monitoring/*.json",
            f"export the service's dashboard and commit it: {command}",
        )
    found = [classify(view.spec, name, text) for name, text in view.dashboards.items()]
    broken = [c for c in found if c.state in (State.stale, State.invalid)]
    if broken:
        return Finding(
            Status.failed,
            "; ".join(f"{c.name}: {'out of date with keel.yaml: ' if c.state is State.stale else ''}{c.detail}"
                      for c in broken),
            "export again and commit: "
            + "; ".join(
                f"keel dashboard export --target {c.target or 'grafana'} --env {c.environment or 'production'} "
                f"-o {c.name}"
                for c in broken
            ),
        )  # fmt: skip
    current = [f"{c.name} ({c.target}, {c.environment})" for c in found if c.state is State.current]
    others = [c.name for c in found if c.state is State.foreign]
    if not current:
        return Finding(
            Status.warn,
            f"{', '.join(others)}: not exported by keel (cannot check they follow keel.yaml)",
            f"export keel's dashboard beside them: {command}",
        )
    tail = f"; also {', '.join(others)} (not keel's)" if others else ""
    return _pass(f"up to date with {view.spec_name}: {', '.join(current)}{tail}")


def secret_ages(view: ProjectView) -> Finding:
    """The ages keel secrets records: every declared secret stored and within its rotation schedule."""
    ages = view.secrets
    if not view.spec.secrets.items:
        return Finding(
            Status.warn,
            f"{view.spec_name}: no secrets: section, so no record of when each secret was last rotated",
            "declare the secrets under secrets.items (type, variable, every: 90d) and rotate them with "
            "keel secrets rotate NAME (docs/runbooks/SECRET_ROTATION.md)",
        )
    if ages.problem:
        return Finding(Status.skipped, f"keel secrets could not be read here: {ages.problem}", "")
    from keel.secrets.report import days

    due = [r for r in ages.rows if r.due]
    unscheduled = [r.name for r in ages.rows if r.every_days is None]
    seen = ", ".join(
        f"{r.name} {r.state} (age {days(r.age_days)}, every {days(r.every_days)})" for r in ages.rows
    )
    if due:
        names = " ".join(r.name for r in due)
        return Finding(
            Status.failed, seen, f"keel secrets rotate NAME for each of: {names} (keel secrets due)"
        )
    if unscheduled:
        return Finding(
            Status.warn, seen, f"set every: (e.g. 90d) for {', '.join(unscheduled)} in secrets.items"
        )
    return _pass(seen)


def _step_texts(text: str) -> list[str]:
    """The ``run:`` scripts and ``uses:`` references of a workflow's steps (comments and names do not count);
    nothing for a file that is not a workflow."""
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    jobs = doc.get("jobs") if isinstance(doc, dict) else None
    out: list[str] = []
    for job in jobs.values() if isinstance(jobs, dict) else ():
        for step in (job.get("steps") or ()) if isinstance(job, dict) else ():
            if isinstance(step, dict):
                out += [str(step[key]) for key in ("run", "uses") if key in step]
    return out


def ci_scans(view: ProjectView) -> Finding:
    if not view.workflows:
        return Finding(
            Status.failed, "no .github/workflows/*.yml", "add a CI workflow running bandit, pip-audit, trivy"
        )
    steps = {name: _step_texts(text) for name, text in view.workflows.items()}
    found = {
        scanner: [f for f, texts in steps.items() if any(needle in t for t in texts)]
        for scanner, needle in SCANNERS.items()
    }
    missing = [name for name, files in found.items() if not files]
    evidence = "; ".join(f"{name}: {', '.join(files) or 'none'}" for name, files in found.items())
    if missing:
        return Finding(Status.failed, evidence, "run " + ", ".join(missing) + " in a CI workflow step")
    return _pass(evidence)


CHECKS: tuple[Check, ...] = (
    Check("gcs-bucket", Priority.P0, "GCS bucket configured where GCS is used", gcs_bucket),
    Check("staging-secrets", Priority.P0, "staging's missing secrets declared", staging_secrets),
    Check("probe-timeouts", Priority.P0, "probe timeouts set", probe_timeouts),
    Check("live-ready", Priority.P0, "service ready (live /health/ready)", live_ready),
    Check("runbooks", Priority.P1, "runbooks present", runbooks),
    Check("alerting", Priority.P1, "alerting configured", alerting),
    Check("canary-production", Priority.P1, "canary strategy for production", canary_production),
    Check("smoke-gate", Priority.P1, "smoke gate before traffic", smoke_gate),
    Check("live-deep", Priority.P1, "dependencies healthy (live /health/deep)", live_deep),
    Check("dashboard", Priority.P2, "dashboard exported", dashboard),
    Check("secret-ages", Priority.P2, "secrets rotated on schedule", secret_ages),
    Check("ci-scans", Priority.P2, "security scans in CI", ci_scans),
)
