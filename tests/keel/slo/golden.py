"""Golden files of the generators: tests/testdata/slo/in-<case>.yaml -> out-<case>-<target>.*."""

from __future__ import annotations

from pathlib import Path

from keel.slo.render import render
from keel.spec import load_spec

DATA = Path(__file__).resolve().parents[2] / "testdata" / "slo"
CASES = tuple(sorted(p.stem.removeprefix("in-") for p in DATA.glob("in-*.yaml")))
SUFFIX = {"prometheus": "yaml", "alertmanager": "yaml", "promtool-tests": "yaml", "cloudmonitoring": "json"}


def rendered(case: str, target: str) -> str:
    spec = load_spec(DATA / f"in-{case}.yaml")
    return render(target, spec.alerts, spec.slos, spec.notify.channels, spec.service, "production")


def golden_path(case: str, target: str) -> Path:
    return DATA / f"out-{case}-{target}.{SUFFIX[target]}"


if (
    __name__ == "__main__"
):  # python -m tests.keel.slo.golden: rewrite the golden files after a deliberate change
    from keel.slo.render import TARGETS

    for case in CASES:
        for target in TARGETS:
            golden_path(case, target).write_text(rendered(case, target))
            print(golden_path(case, target))
