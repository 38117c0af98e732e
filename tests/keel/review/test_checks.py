"""The review's checks on small keel.yaml projects: each item passes, fails or warns for what it looked at,
and the evidence names the file:line: key."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from keel.review import CHECKS, Priority, ProjectView, Status, load_project, review
from keel.review.checks import (
    alerting,
    canary_production,
    ci_scans,
    dashboard,
    gcs_bucket,
    probe_timeouts,
    secret_ages,
    smoke_gate,
    staging_secrets,
)
from keel.review.project import LiveEndpoint, gcs_without_bucket
from keel.yamlfile import SpecError, read_yaml

ROOT = Path(__file__).resolve().parents[3]
ORIGINAL = ROOT / "tests" / "testdata" / "review" / "original"

BASE = """\
service: svc
environments:
  staging: {platform: cloudrun, project: p, region: r, service: s-staging, optional_unconfigured: [openai]}
  production: {platform: cloudrun, project: p, region: r, service: s, env: {STORAGE_TYPE: gcs, GCS_BUCKET_NAME: b}}
probes:
  startup: {timeout: 5s}
  liveness: {timeout: 3s}
  readiness: {timeout: 5s}
gates: {smoke: {checks: [{path: /health/ready}]}}
"""


def project(tmp_path: Path, text: str = BASE, **files: str) -> ProjectView:
    (tmp_path / "keel.yaml").write_text(text)
    for name, content in files.items():
        path = tmp_path / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return load_project(tmp_path / "keel.yaml")


def test_the_original_situation_reports_its_three_p0_items() -> None:
    report = review(load_project(ORIGINAL / "keel.yaml"))
    assert [i.id for i in report.open_items(Priority.P0)] == [
        "gcs-bucket",
        "staging-secrets",
        "probe-timeouts",
    ]
    assert report.exit_code == 1
    items = {i.id: i for i in report.items}
    assert "keel.yaml:14: environments.production: stores media in GCS" in items["gcs-bucket"].evidence
    assert "environments.staging: no optional_unconfigured" in items["staging-secrets"].evidence
    assert items["probe-timeouts"].evidence.count("no timeout") == 3
    assert items["runbooks"].status is Status.failed and items["alerting"].status is Status.failed
    assert items["ci-scans"].status is Status.failed
    assert all(i.fix for i in report.items if i.status is Status.failed)


def test_this_repository_passes_every_p0() -> None:
    report = review(load_project(ROOT / "keel.yaml"))
    p0 = {i.id: i.status for i in report.items if i.priority is Priority.P0}
    assert p0 == {
        "gcs-bucket": Status.passed,
        "staging-secrets": Status.passed,
        "probe-timeouts": Status.passed,
        "live-ready": Status.skipped,
    }
    assert report.exit_code == 0
    items = {i.id: i.status for i in report.items}
    assert items["runbooks"] is items["ci-scans"] is items["smoke-gate"] is Status.passed


def test_gcs_without_a_bucket_fails_and_with_one_passes(tmp_path: Path) -> None:
    assert gcs_bucket(project(tmp_path)).status is Status.passed
    view = project(tmp_path, BASE.replace(", GCS_BUCKET_NAME: b", ""))
    finding = gcs_bucket(view)
    assert (
        finding.status is Status.failed
        and "production" in finding.evidence
        and "GCS_BUCKET_NAME" in finding.fix
    )
    assert gcs_bucket(project(tmp_path, BASE.replace("STORAGE_TYPE: gcs, ", ""))).status is Status.passed


def test_a_bucket_from_secret_manager_counts_and_the_stand_in_never_shows(tmp_path: Path) -> None:
    doc = read_yaml(ORIGINAL / "keel.yaml")
    assert gcs_without_bucket(doc) == ["production"]
    data = copy.deepcopy(doc.data)
    data["environments"]["production"]["secrets"] = {"GCS_BUCKET_NAME": "bucket-name:latest"}
    assert gcs_without_bucket(dataclasses.replace(doc, data=data)) == []
    data["environments"]["production"] = {"platform": "cloudrun", "uses": ["gcs"]}
    assert gcs_without_bucket(dataclasses.replace(doc, data=data)) == ["production"]
    report = review(load_project(ORIGINAL / "keel.yaml"))
    assert "keel-review-unset" not in json.dumps(report.to_json()) + report.to_markdown()


def test_a_staging_environment_must_declare_what_it_runs_without(tmp_path: Path) -> None:
    assert staging_secrets(project(tmp_path)).status is Status.passed
    finding = staging_secrets(project(tmp_path, BASE.replace(", optional_unconfigured: [openai]", "")))
    assert finding.status is Status.failed and "keel.yaml:3: environments.staging" in finding.evidence


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("  liveness: {timeout: 3s}\n", "  liveness: {path: /health/live}\n"), "probes.liveness: no timeout"),
        (("  readiness: {timeout: 5s}", "  readiness: {timeout: 20s, period: 10s}"), "not under its period"),
        (("probes:\n  startup: {timeout: 5s}\n  liveness: {timeout: 3s}\n  readiness: {timeout: 5s}\n", ""),
         "probes.startup: no timeout"),
    ],
)  # fmt: skip
def test_probe_timeouts_must_be_set_and_shorter_than_the_period(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    assert probe_timeouts(project(tmp_path)).status is Status.passed
    finding = probe_timeouts(project(tmp_path, BASE.replace(*change)))
    assert finding.status is Status.failed and expected in finding.evidence


def test_canary_and_smoke_gate(tmp_path: Path) -> None:
    assert canary_production(project(tmp_path)).status is Status.passed  # keel's default canary
    direct = project(tmp_path, BASE + "strategy: {direct: {}}\n")
    assert canary_production(direct).status is Status.failed
    no_hold = project(tmp_path, BASE + "strategy: {canary: {steps: [{weight: 50}, {weight: 100}]}}\n")
    assert canary_production(no_hold).status is Status.failed
    assert smoke_gate(project(tmp_path)).status is Status.passed
    assert (
        smoke_gate(
            project(tmp_path, BASE.replace("gates: {smoke: {checks: [{path: /health/ready}]}}\n", ""))
        ).status
        is Status.failed
    )


def test_alerting_fails_until_keel_yaml_has_alerts(tmp_path: Path) -> None:
    view = project(tmp_path)
    if hasattr(view.spec, "alerts"):
        pytest.skip("this keel has alerts: (with defaults): see the routing test below")
    finding = alerting(view)
    assert finding.status is Status.failed and finding.fix.startswith("add alerts:")


def with_alerts(
    view: ProjectView, channels: list[str], routes: dict[str, str], enabled: bool = True
) -> ProjectView:
    """The view as keel with alerts:/slos: in its spec sees it (stand-ins of the spec's sections)."""
    alerts = SimpleNamespace(
        enabled=enabled, routes={k: SimpleNamespace(channel=v) for k, v in routes.items()}
    )
    notify = SimpleNamespace(channels={name: {} for name in channels})
    spec = SimpleNamespace(alerts=alerts, slos={"availability": object()}, notify=notify)
    return dataclasses.replace(view, spec=cast(Any, spec))


def test_alerting_needs_every_route_to_reach_a_configured_channel(tmp_path: Path) -> None:
    view = project(tmp_path)
    routes = {"page": "pagerduty", "ticket": "slack", "warning": "slack"}
    finding = alerting(with_alerts(view, ["slack"], routes))
    assert finding.status is Status.failed
    assert (
        "alerts (defaults): routed to a channel not configured in notify: page -> pagerduty"
        in finding.evidence
    )
    assert "pagerduty" in finding.fix
    passed = alerting(with_alerts(view, ["slack", "pagerduty"], routes))
    assert passed.status is Status.passed and "page -> pagerduty" in passed.evidence
    assert "slos: availability" in passed.evidence
    assert alerting(with_alerts(view, ["slack"], {"page": "noop"})).status is Status.passed
    assert alerting(with_alerts(view, ["slack"], {}, enabled=False)).status is Status.failed


def test_scans_in_ci_name_what_is_missing(tmp_path: Path) -> None:
    ci = (
        "# trivy-action: to do\n"
        "jobs:\n  s:\n    steps:\n      - run: bandit -r src\n      - run: pip-audit -r requirements.lock\n"
        "      - name: aquasecurity/trivy-action\n        run: echo later\n"
    )  # a comment or a step name mentioning a scanner does not run it
    finding = ci_scans(project(tmp_path, **{".github__workflows__ci.yml": ci}))
    assert finding.status is Status.failed and "trivy: none" in finding.evidence and "trivy" in finding.fix
    with_trivy = ci + "      - uses: aquasecurity/trivy-action@0123\n"
    assert ci_scans(project(tmp_path, **{".github__workflows__ci.yml": with_trivy})).status is Status.passed


def test_secret_ages_come_from_keel_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64
    import os

    finding = secret_ages(project(tmp_path))
    assert finding.status is Status.warn and "no secrets: section" in finding.evidence
    monkeypatch.setenv("KEEL_SECRETS_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    declared = BASE.replace("environments:\n", "environments:\n  dev: {platform: memory}\n") + (
        "secrets:\n  environment: dev\n  items:\n"
        "    jwt: {type: jwt, env: SECRET_KEY, previous_env: SECRET_KEY_OLD, every: 90d}\n"
    )
    finding = secret_ages(project(tmp_path, declared))
    assert finding.status is Status.failed and "jwt not stored" in finding.evidence
    assert "keel secrets rotate NAME" in finding.fix
    from keel.secrets.inventory import store_value
    from keel.secrets.wiring import backend_of

    store_value(backend_of(project(tmp_path, declared).spec), "jwt", "k" * 48)
    finding = secret_ages(project(tmp_path, declared))
    assert finding.status is Status.passed and "jwt ok (age 0d, every 90d)" in finding.evidence
    monkeypatch.delenv("KEEL_SECRETS_KEY")
    monkeypatch.setenv(
        "XDG_CONFIG_HOME", str(tmp_path.parent / f"{tmp_path.name}-nokeys")
    )  # outside the project
    finding = secret_ages(project(tmp_path, declared))
    assert finding.status is Status.skipped and "does not exist" in finding.evidence


def test_every_check_is_pure_data_with_a_unique_id() -> None:
    assert len({c.id for c in CHECKS}) == len(CHECKS)
    assert {c.priority for c in CHECKS} == set(Priority)


def test_live_health_is_judged_from_the_answers(tmp_path: Path) -> None:
    view = project(tmp_path)
    live = {
        "/health/ready": LiveEndpoint("/health/ready", 503, {"status": "unhealthy"}),
        "/health/deep": LiveEndpoint(
            "/health/deep",
            200,
            {
                "status": "degraded",
                "services": {
                    "database": {"status": "healthy", "message": "ok"},
                    "openai": {"status": "degraded", "message": "HTTP 429 from the provider"},
                },
            },
        ),
    }
    report = review(ProjectView(view.root, view.spec, view.doc, url="http://svc", live=live))
    items = {i.id: i for i in report.items}
    assert items["live-ready"].status is Status.failed and "HTTP 503" in items["live-ready"].evidence
    assert items["live-deep"].status is Status.warn
    assert items["live-deep"].evidence == "http://svc/health/deep: degraded (openai degraded)"
    assert report.exit_code == 1


def test_the_score_weighs_by_priority_and_ignores_skipped_items() -> None:
    report = review(load_project(ORIGINAL / "keel.yaml"))
    doc = report.to_json()
    assert doc["schema"] == "keel.review/v1" and doc["open"] == {"P0": 3, "P1": 2, "P2": 1}
    assert 0 < doc["score"] < 50 and doc["passed"] is False
    assert json.loads(json.dumps(doc)) == doc
    assert [i["priority"] for i in doc["items"]] == sorted(i["priority"] for i in doc["items"])


def test_a_bad_keel_yaml_is_a_spec_error_naming_the_line(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"keel.yaml:2"):
        project(tmp_path, "service: svc\nenvironments: {x: {platform: nowhere}}\n")


def _export(root: Path, target: str, env: str, name: str) -> None:
    from keel.dashboard.exports import render
    from keel.dashboard.panels import dashboard_for
    from keel.spec import load_spec

    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(target, dashboard_for(load_spec(root / "keel.yaml"), env)))


def test_this_repository_commits_its_dashboards_up_to_date() -> None:
    finding = dashboard(load_project(ROOT / "keel.yaml"))
    assert finding.status is Status.passed, finding.evidence
    assert "dashboards/bayit-plus-backend-production.grafana.json (grafana, production)" in finding.evidence
    assert "(cloudmonitoring, production)" in finding.evidence


def test_a_dashboard_keel_exported_must_follow_keel_yaml(tmp_path: Path) -> None:
    finding = dashboard(project(tmp_path))
    assert finding.status is Status.warn and "keel dashboard export" in finding.fix
    _export(tmp_path, "grafana", "production", "dashboards/prod.json")
    _export(tmp_path, "cloudmonitoring", "staging", "monitoring/staging.json")
    finding = dashboard(project(tmp_path))
    assert finding.status is Status.passed
    assert finding.evidence == (
        "up to date with keel.yaml: dashboards/prod.json (grafana, production), "
        "monitoring/staging.json (cloudmonitoring, staging)"
    )
    # a new SLO changes the dashboard: both exports are now stale, and the fix regenerates each
    finding = dashboard(project(tmp_path, BASE + "slos:\n  availability: {objective: 99.5}\n"))
    assert finding.status is Status.failed
    assert "dashboards/prod.json: out of date with keel.yaml: panels[" in finding.evidence
    assert "monitoring/staging.json: out of date" in finding.evidence
    assert (
        "keel dashboard export --target cloudmonitoring --env staging -o monitoring/staging.json"
        in finding.fix
    )


def test_dashboards_keel_did_not_export_are_listed_but_not_compared(tmp_path: Path) -> None:
    hand_made = json.dumps({"title": "by hand", "panels": [], "schemaVersion": 39})
    finding = dashboard(project(tmp_path, **{"dashboards__team.json": hand_made}))
    assert finding.status is Status.warn and "dashboards/team.json: not exported by keel" in finding.evidence
    _export(tmp_path, "grafana", "production", "dashboards/prod.json")
    finding = dashboard(project(tmp_path))
    assert finding.status is Status.passed and finding.evidence.endswith(
        "also dashboards/team.json (not keel's)"
    )
    finding = dashboard(project(tmp_path, **{"dashboards__broken.json": "{"}))
    assert finding.status is Status.failed and "dashboards/broken.json: not valid JSON" in finding.evidence


def test_a_hostile_dashboard_file_is_reported_not_read(tmp_path: Path) -> None:
    finding = dashboard(project(tmp_path, **{"dashboards__deep.json": "[" * 100_000}))
    assert (
        finding.status is Status.failed
        and "dashboards/deep.json: not valid JSON (nested too deep)" in finding.evidence
    )
    (tmp_path / "dashboards" / "deep.json").unlink()
    finding = dashboard(project(tmp_path, **{"monitoring__huge.json": "[" + "0," * 3_000_000 + "0]"}))
    assert finding.status is Status.failed and "larger than 5,000,000 characters" in finding.evidence
