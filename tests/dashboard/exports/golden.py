"""The exports' golden cases: tests/testdata/dashboard/in-<case>.yaml -> out-<case>-<target>.json, each for the
spec's first environment."""

from __future__ import annotations

from pathlib import Path

from keel.dashboard.exports import render
from keel.dashboard.panels import Dashboard, dashboard_for
from keel.spec import load_spec

DATA = Path(__file__).resolve().parents[2] / "testdata" / "dashboard"
CASES = tuple(sorted(p.stem.removeprefix("in-") for p in DATA.glob("in-*.yaml")))


def dashboard(case: str) -> Dashboard:
    spec = load_spec(DATA / f"in-{case}.yaml")
    return dashboard_for(spec, next(iter(spec.environments)))


def rendered(case: str, target: str) -> str:
    return render(target, dashboard(case))


def golden_name(case: str, target: str) -> str:
    return f"dashboard/out-{case}-{target}.json"
