"""keel.yaml: the repository's own file loads; bad inputs are refused up front, naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.platforms.cloudrun import CloudRunConfig
from keel.platforms.local.config import LocalConfig
from keel.spec import load_spec
from keel.yamlfile import SpecError

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
service: demo-svc
environments:
  local: {platform: local, run: [python, -m, http.server], port: 8080}
strategy:
  canary:
    steps:
      - {weight: 10, hold: 30s}
      - {weight: 100}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keel.yaml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, text))
    return [str(p) for p in info.value.problems]


def test_the_repository_keel_yaml_is_valid() -> None:
    spec = load_spec(ROOT / "keel.yaml")
    assert spec.service == "bayit-plus-backend"
    local = spec.environment("local")
    assert isinstance(local, LocalConfig) and local.run[0] == "bayit"
    assert isinstance(spec.environment("production"), CloudRunConfig)
    assert [s.weight for s in spec.strategy.steps()] == [10, 50, 100]
    assert spec.strategy.steps()[0].hold == 600
    assert spec.smoke_file() == ROOT / "smoke.yaml"
    assert spec.gates.health.path == "/health/ready"


def test_defaults(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD))
    assert spec.gates.health.passes == 3 and spec.gates.smoke is None
    assert spec.analysis.interval == 30
    assert spec.strategy.steps()[0].hold == 30
    default = load_spec(write(tmp_path, GOOD.split("strategy:")[0]))
    assert [(s.weight, s.hold) for s in default.strategy.steps()] == [(10, 600), (50, 600), (100, 0)]


def test_direct_strategy(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD.split("strategy:")[0] + "strategy: direct\n"))
    assert [(s.weight, s.hold) for s in spec.strategy.steps()] == [(100, 0)]


def test_unknown_keys_are_named_with_their_line(tmp_path: Path) -> None:
    text = (
        GOOD.replace("  local: {platform: local,", "  local: {platfrom: x, platform: local,")
        + "colour: blue\n"
    )
    found = problems(tmp_path, text)
    assert any(p.endswith("keel.yaml:3: environments.local.platfrom: unknown key") for p in found), found
    assert any(p.endswith("keel.yaml:9: colour: unknown key") for p in found), found


def test_wrong_types(tmp_path: Path) -> None:
    text = GOOD.replace("port: 8080", "port: eighty").replace("hold: 30s", "hold: soon")
    found = problems(tmp_path, text)
    assert any(":3: environments.local.port:" in p and "integer" in p for p in found), found
    assert any(":7: strategy.canary.steps[0].hold: invalid duration" in p for p in found), found


def test_weights_must_end_at_100(tmp_path: Path) -> None:
    text = GOOD.replace("{weight: 100}", "{weight: 60}")
    assert [p.split("keel.yaml")[1] for p in problems(tmp_path, text)] == [
        ":8: strategy.canary.steps[1].weight: the last step's weight must be 100 (weights end at 100)"
    ]


def test_weights_must_increase_and_stay_in_range(tmp_path: Path) -> None:
    text = GOOD.replace("{weight: 10, hold: 30s}", "{weight: 50, hold: 30s}\n      - {weight: 20}")
    assert any(
        ":8: strategy.canary.steps[1].weight: weights must increase" in p for p in problems(tmp_path, text)
    )
    text = GOOD.replace("{weight: 10,", "{weight: 0,")
    assert any(
        ":7: strategy.canary.steps[0].weight:" in p and "greater than or equal to 1" in p
        for p in problems(tmp_path, text)
    )


def test_missing_command(tmp_path: Path) -> None:
    text = GOOD.replace(" run: [python, -m, http.server],", "")
    assert any(
        p.endswith(":3: environments.local.run: required key is missing") for p in problems(tmp_path, text)
    )
    text = GOOD.replace("run: [python, -m, http.server]", "run: []")
    assert any(":3: environments.local.run:" in p and "at least 1" in p for p in problems(tmp_path, text))


def test_unknown_or_missing_platform(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD.replace("platform: local", "platform: kubernetes"))
    assert any(
        p.endswith(
            ":3: environments.local.platform: unknown platform 'kubernetes' (known: cloudrun, local, memory)"
        )
        for p in found
    ), found
    found = problems(tmp_path, GOOD.replace("platform: local, ", ""))
    assert any("environments.local.platform: required key 'platform' is missing" in p for p in found), found


def test_cloudrun_fields_are_checked(tmp_path: Path) -> None:
    text = GOOD.replace(
        "strategy:", "  prod: {platform: cloudrun, project: p, region: 5, service: s, zone: x}\nstrategy:"
    )
    found = problems(tmp_path, text)
    assert any(":4: environments.prod.region:" in p for p in found), found
    assert any(":4: environments.prod.zone: unknown key" in p for p in found), found


def test_both_strategies_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("strategy:\n", "strategy:\n  direct: {}\n")
    assert any(":4: strategy: choose exactly one of direct or canary" in p for p in problems(tmp_path, text))


def test_smoke_file_must_exist(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD + "gates: {smoke: missing.yaml}\n")
    assert any(":9: gates.smoke: smoke suite file not found" in p for p in found), found


def test_inline_smoke_checks_and_health_shorthand(tmp_path: Path) -> None:
    text = GOOD + "gates:\n  health: /ready\n  smoke:\n    - {path: /api/v1/users/me, status: 401}\n"
    spec = load_spec(write(tmp_path, text))
    assert spec.gates.health.path == "/ready"
    assert spec.gates.smoke is not None and spec.gates.smoke.checks[0].status == 401


def test_notifiers_are_checked_by_the_registry(tmp_path: Path) -> None:
    found = problems(
        tmp_path, GOOD + "notify:\n  pigeon: {}\n  slack: {webhook: https://hooks.slack.com/x}\n"
    )
    assert any(":10: notify.pigeon: unknown notifier" in p for p in found), found
    assert any(":11: notify.slack.webhook: unknown key" in p for p in found), found


def test_analysis_section_is_validated(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD + "analysis: {interval: often}\n")
    assert any(":9: analysis.interval: invalid duration" in p for p in found), found


def test_unknown_environment_lists_the_known_ones(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD))
    with pytest.raises(SpecError, match=r"no environment 'prod' \(known: local\)"):
        spec.environment("prod")


def test_problems_never_echo_values(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD.replace("port: 8080", "port: hunter2-secret"))
    assert not any("hunter2" in p for p in found)


ALL_AT_ONCE = """\
service: demo-svc
environments:
  local: {platform: local, run: [python], port: 8080, bogus: 1}
strategy:
  canary:
    steps:
      - {weight: 50, hold: 30s}
      - {weight: 20}
gates: {smoke: missing.yaml}
notify:
  pigeon: {}
analysis: {source: prometheus}
"""


def test_rules_of_valid_sections_come_with_field_errors_of_others(tmp_path: Path) -> None:
    # One round of fixes: a bad key in one section does not hide the rules broken in the others.
    found = [p.split("keel.yaml")[1].split(" (known:")[0] for p in problems(tmp_path, ALL_AT_ONCE)]
    assert found == [
        ":3: environments.local.bogus: unknown key",
        ":12: analysis: source prometheus needs a prometheus: section (url, ...)",
        ":8: strategy.canary.steps[1].weight: weights must increase from step to step",
        ":8: strategy.canary.steps[1].weight: the last step's weight must be 100 (weights end at 100)",
        f":9: gates.smoke: smoke suite file not found: {tmp_path / 'missing.yaml'}",
        ":11: notify.pigeon: unknown notifier",
    ]


def test_a_section_with_field_errors_is_not_also_judged_by_its_rules(tmp_path: Path) -> None:
    # The steps' own fields are wrong: their order and last weight are not judged on a half-valid section.
    text = ALL_AT_ONCE.replace("{weight: 20}", "{weight: 20, hold: soon}")
    found = [p.split("keel.yaml")[1] for p in problems(tmp_path, text)]
    assert any(p.startswith(":8: strategy.canary.steps[1].hold: invalid duration") for p in found), found
    assert not any("weights" in p for p in found), found
    assert any(p.startswith(":11: notify.pigeon: unknown notifier") for p in found), found


def test_analysis_warmup_must_leave_part_of_every_step_to_judge(tmp_path: Path) -> None:
    assert load_spec(write(tmp_path, GOOD + "analysis: {warmup: 20s}\n")).analysis.warmup == 20.0
    found = problems(tmp_path, GOOD + "analysis:\n  warmup: 30s\n")
    assert [p.split("keel.yaml")[1] for p in found] == [
        ":10: analysis.warmup: warm-up 30s leaves nothing to judge in a step held 30s; make it shorter than "
        "every canary step's hold"
    ]
