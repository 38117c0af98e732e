"""keel demo's closing summary: the releases table, each release's charts and the synthetic traffic's."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from keel.cli.demo import _print_summary
from keel.cli.terminal import Terminal


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
