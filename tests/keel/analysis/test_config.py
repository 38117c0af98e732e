import pytest

from keel.analysis.analyzer import WindowAnalyzer
from keel.analysis.config import AnalysisSpec, build_analyzer, build_judge
from keel.analysis.judges.registry import create_judge
from keel.analysis.sources.memory import MemorySource
from keel.errors import ConfigError
from keel.yamlfile import SpecError, parse_yaml, validate


def _load(text: str) -> AnalysisSpec:
    return validate(parse_yaml(text, "keel.yaml"), AnalysisSpec)


def test_defaults_allow_omitting_the_section() -> None:
    spec = AnalysisSpec()
    assert spec.source == "router"
    assert spec.judge == "auto"
    assert spec.min_requests == 100
    assert spec.max_extra_hold == 600.0
    assert spec.on_inconclusive == "fail"
    assert spec.false_fail_rate == 0.01
    assert spec.thresholds.min_success_rate == 0.99


def test_yaml_values_durations_and_percentages() -> None:
    spec = _load(
        """
judge: compare
interval: 15s
max_extra_hold: 5m
on_inconclusive: pause
thresholds: {min_success_rate: 99.5%, max_p95: 500ms, max_p99: 1s}
errors: {allowed_increase: 10%, critical: false}
latency: {allowed_increase: 0.1}
tail: {quantile: 0.95}
"""
    )
    assert spec.interval == 15.0
    assert spec.max_extra_hold == 300.0
    assert spec.on_inconclusive == "pause"
    assert spec.thresholds.min_success_rate == pytest.approx(0.995)
    assert spec.thresholds.max_p95 == 0.5
    assert spec.thresholds.max_p99 == 1.0
    assert spec.errors.allowed_increase == pytest.approx(0.1)
    assert spec.errors.critical is False
    assert spec.tail.quantile == 0.95


def test_errors_name_file_line_and_key() -> None:
    with pytest.raises(SpecError) as info:
        _load("source: router\nthresholds:\n  min_success_rate: 1.5\n  max_p99: soon\nbogus: 1\n")
    text = str(info.value)
    assert "keel.yaml:3: thresholds.min_success_rate:" in text
    assert "keel.yaml:4: thresholds.max_p99: invalid duration" in text
    assert "keel.yaml:5: bogus: unknown key" in text


def test_unknown_source_and_judge_are_refused() -> None:
    with pytest.raises(SpecError, match=r"keel\.yaml:1: source: unknown metric source 'datadog' \(known: "):
        _load("source: datadog\n")
    with pytest.raises(SpecError, match=r"keel\.yaml:1: judge:"):
        _load("judge: magic\n")
    with pytest.raises(ConfigError, match=r"unknown judge .magic. \(known: compare, thresholds\)"):
        create_judge("magic", AnalysisSpec())


def test_remote_sources_need_their_section() -> None:
    with pytest.raises(SpecError, match="prometheus: section"):
        _load("source: prometheus\n")
    with pytest.raises(SpecError, match="cloudmonitoring: section"):
        _load("source: cloudmonitoring\n")
    spec = _load("source: prometheus\nprometheus: {url: 'http://127.0.0.1:9090', revision_label: rev}\n")
    assert spec.prometheus is not None and spec.prometheus.revision_label == "rev"
    with pytest.raises(SpecError, match="url must start with http"):
        _load("source: prometheus\nprometheus: {url: 'localhost:9090'}\n")


def test_auto_judge_compares_only_with_a_baseline() -> None:
    spec = AnalysisSpec()
    assert build_judge(spec, has_baseline=True).name == "compare"
    assert build_judge(spec, has_baseline=False).name == "thresholds"
    forced = AnalysisSpec(judge="thresholds")
    assert build_judge(forced, has_baseline=True).name == "thresholds"


def test_build_analyzer_wires_source_and_judge() -> None:
    analyzer = build_analyzer(AnalysisSpec(), MemorySource(), has_baseline=True)
    assert isinstance(analyzer, WindowAnalyzer)
    assert analyzer.judge_name == "compare"
