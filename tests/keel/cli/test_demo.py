"""keel demo's closing summary: the releases table, each release's charts and the synthetic traffic's; in
Markdown with --format markdown."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from keel.cli.app import main
from keel.cli.demo import _print_summary
from keel.cli.terminal import Terminal
from keel.demo.run import demo_markdown
from keel.rollout.markdown import rollout_markdown as markdown


def _release(
    revision: str, phase: str, traffic: list[dict[str, Any]], verdicts: list[dict[str, Any]]
) -> dict:
    return {
        "revision": revision, "phase": phase, "reason": f"{phase} reason", "cause": None, "rollback": None,
        "duration_s": 20.0, "traffic": traffic, "verdicts": verdicts,
    }  # fmt: skip


def test_summary_draws_each_release_and_the_traffic() -> None:
    look = {
        "step": 0, "look": 1, "outcome": "fail", "summary": "", "t_s": 9.0, "limits": {},
        "canary": {"requests": 100, "errors": 9, "error_rate": 0.09, "p95_ms": 340.0},
        "baseline": {"requests": 900, "errors": 0, "error_rate": 0.0, "p95_ms": 20.0},
    }  # fmt: skip
    releases = [
        _release("svc-1", "promoted", [{"t_s": 0.0, "weight": 0, "event": "start"},
                                       {"t_s": 5.0, "weight": 100, "event": "step 1: 100%"}], []),
        _release("svc-2", "promoted", [], []),
        _release("svc-3", "rolled_back", [{"t_s": 0.0, "weight": 0, "event": "start"},
                                          {"t_s": 6.0, "weight": 10, "event": "step 1: 10%"},
                                          {"t_s": 9.0, "weight": 0, "event": "rolled back"}], [look]),
    ]  # fmt: skip
    result = {
        "releases": releases, "seconds": 60.0, "exit_code": 0, "kept_running": True, "directory": "/tmp/d",
        "traffic": {
            "requests": 80, "outcomes": {"200": 79, "500": 1}, "transport_errors": 0,
            "timeline": {"bucket_s": 1, "first_s": 0, "requests": [40, 40], "errors": [0, 1],
                         "p95_ms": [12.0, 300.0]},
        },
    }  # fmt: skip
    term = Terminal()
    term.out = Console(record=True, width=100, no_color=True)
    _print_summary(term, result)
    text = term.out.export_text()
    assert text.count("traffic to the new revision") == 3
    assert "0s start; 5s step 1: 100%" in text
    assert "traffic to the new revision: no data" in text  # the release without a timeline says so
    assert "0s start; 6s step 1: 10%; 9s rolled back" in text
    assert "error rate  canary    █" in text and "verdict               ✗" in text
    assert "p95 latency of the synthetic traffic" in text and "300ms" in text
    assert "errors of the synthetic traffic" in text
    assert "stop it with: keel down --file /tmp/d/keel.yaml --env demo" in text
    assert "dashboard: keel dashboard --file /tmp/d/keel.yaml --env demo  ->  http://127.0.0.1:8686/" in text


def _full_release(revision: str, phase: str, previous: str | None, rollback: dict[str, Any] | None) -> dict:
    """A release as run_deploy reports it (schema keel.rollout/v1), as far as the summaries read it."""
    return {
        **_release(revision, phase, [], []), "kind": "deploy", "service": "bayit-plus", "environment": "demo",
        "previous": previous, "rollout": f"r-{revision}", "rollback": rollback, "exit_code": 0,
        "steps": [{"weight": 10, "hold_s": 5.0}, {"weight": 100, "hold_s": 0.0}],
        "gates": {"health": None, "smoke": {"summary": "12 passed"}}, "notifications": {"failures": []},
        "cause": "error rate 9.00% | above 1%" if rollback else None,
        "verdicts": [{"step": 0, "look": 1, "outcome": "fail", "summary": "error rate 9.00% above 1%"}]
        if rollback else [],
    }  # fmt: skip


def test_markdown_format_prints_markdown_like_keel_deploy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rollback = {
        "target": "svc-2",
        "cause": "analysis",
        "seconds_from_failure_to_switch": 0.412,
        "verified": True,
    }
    result = {
        "schema": "keel.demo/v1", "directory": str(tmp_path), "router": "http://127.0.0.1:1", "seconds": 61.2,
        "exit_code": 0, "kept_running": False,
        "releases": [
            _full_release("svc-1", "promoted", None, None),
            _full_release("svc-2", "promoted", "svc-1", None),
            _full_release("svc-3", "rolled_back", "svc-2", rollback),
        ],
        "traffic": {"requests": 80, "outcomes": {"200": 79, "500": 1}, "transport_errors": 0, "timeline": {}},
    }  # fmt: skip

    class Finished:  # what run_demo returns, as far as the CLI reads it
        exit_code = 0

        def to_json(self) -> dict[str, Any]:
            return result

        def to_markdown(self) -> str:
            return demo_markdown(result)

    async def fake_demo(*args: object, **kwargs: object) -> Finished:  # the real one takes about a minute
        return Finished()

    monkeypatch.setattr("keel.demo.run.run_demo", fake_demo)
    monkeypatch.setattr(sys, "argv", ["keel", "demo", "--dir", str(tmp_path), "--format", "markdown"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "## keel demo: ✅ as expected"
    table = lines.index("| release | revision | outcome | why | s |")
    assert lines[table + 1] == "|---|---|---|---|---|"
    assert lines[table + 2] == "| first | `svc-1` | promoted | promoted reason | 20 |"
    assert lines[table + 4] == (
        "| faulty | `svc-3` | rolled back | error rate 9.00% \\| above 1% "
        "(traffic back 0.41s after the failing verdict) | 20 |"
    )
    # Each release's own summary is the one keel deploy --format markdown prints.
    for release in result["releases"]:
        assert markdown(release) in out
    assert "synthetic traffic: 80 requests" in out.lower()
    assert not set(out) & set("┃━│─┏┗╇")  # no box drawing: this is not the terminal table


@pytest.mark.slow
def test_the_real_demo_with_a_short_hold(tmp_path: Path) -> None:
    """keel demo itself, as the README's quickstart runs it (shorter holds): the Bayit+ API on the local
    platform, synthetic traffic, a good release promoted and a faulty one rolled back by the analysis."""
    import json
    import subprocess

    from tests.keel.cli.releases import KEEL

    proc = subprocess.run(
        [KEEL, "demo", "--hold", "6", "--rate", "30", "--format", "json", "--dir", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=280, stdin=subprocess.DEVNULL,
        env={**__import__("os").environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["schema"] == "keel.demo/v1" and result["exit_code"] == 0
    first, good, faulty = result["releases"]
    assert first["phase"] == "promoted" and first["first_deploy"]
    assert good["phase"] == "promoted" and [p["weight"] for p in good["traffic"]] == [0, 10, 50, 100]
    assert faulty["phase"] == "rolled_back" and faulty["failed_by"] == "analysis"
    assert faulty["rollback"]["verified"] and faulty["rollback"]["target"] == good["revision"]
    assert result["traffic"]["requests"] > 0
    # keel's embedded watcher saw the faulty canary's +300 ms in the service's p95 and paged, then resolved
    events = [(a["alert"], a["event"]) for a in result["alerts"]]
    assert ("HighLatencyP95", "firing") in events, result["alerts"]
    assert not (tmp_path / "demo" / ".keel" / "demo" / "daemon.json").exists()  # stopped when done
