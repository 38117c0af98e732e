"""``keel dashboard apply`` through the official client against a local server speaking DashboardsService:
created once, then replaced in place (same name, etag guarded), one dashboard per service and environment."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from keel.dashboard.exports.apply import DashboardApplyError, apply_dashboard
from keel.dashboard.exports.cloudmonitoring import cloudmonitoring_dashboard
from tests.dashboard.exports.fake_dashboards_api import FakeDashboards, serve
from tests.dashboard.exports.golden import DATA, dashboard


def test_apply_creates_then_updates_in_place() -> None:
    fake = FakeDashboards()
    document = cloudmonitoring_dashboard(dashboard("cloudrun"))
    with serve(fake) as client:
        first = apply_dashboard(document, "bayit-plus", client=client)
        second = apply_dashboard(document, "bayit-plus", client=client)
        other = apply_dashboard(cloudmonitoring_dashboard(dashboard("custom")), "bayit-plus", client=client)
    assert (first.action, second.action, other.action) == ("created", "updated", "created")
    assert first.name == second.name != other.name
    assert first.name.startswith("projects/bayit-plus/dashboards/")
    assert fake.calls.count("CreateDashboard") == 2 and fake.calls.count("UpdateDashboard") == 1
    stored = fake.dashboards[first.name]
    assert stored.display_name == "bayit-plus-backend (production): keel"
    assert len(stored.mosaic_layout.tiles) == len(document["mosaicLayout"]["tiles"])


def test_a_refusal_names_the_project_and_the_dashboard() -> None:
    fake = FakeDashboards()
    document = cloudmonitoring_dashboard(dashboard("cloudrun"))
    document["mosaicLayout"]["tiles"] = []
    with serve(fake) as client, pytest.raises(DashboardApplyError) as caught:
        apply_dashboard(document, "p", client=client)
    assert (
        "Cloud Monitoring (project p): dashboard 'bayit-plus-backend (production): keel': InvalidArgument"
        in str(caught.value)
    )


def test_cli_needs_a_project_where_the_environment_names_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from keel.cli.app import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "keel.yaml").write_text((DATA / "in-custom.yaml").read_text())
    monkeypatch.delenv("KEEL_DASHBOARD_PROJECT", raising=False)
    monkeypatch.setattr(sys, "argv", ["keel", "dashboard", "apply", "--env", "local"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert "environment 'local' names no Google Cloud project: give --project" in capsys.readouterr().err
