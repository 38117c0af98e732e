"""keel dora from the command line: JSON for a CI step, a table for people, exit 2 on bad input; keel
dashboard refuses a bad port before serving."""

from __future__ import annotations

import json
import time
from pathlib import Path

from keel.store import RolloutRow, Store
from tests.keel.cli.releases import keel

SPEC = "service: svc\nenvironments:\n  staging: {platform: memory}\n"


def promoted(store: Store, rid: str, started: float, finished: float, committed: float | None) -> None:
    store.insert_rollout(RolloutRow(rid, "staging", "svc", "deploy", f"svc-{rid}", None, "pending", True, {},
                                    started, started))  # fmt: skip
    store.save_transition(rid, from_phase="promoting", to_phase="promoted", reason="all steps passed",
                          active=False, state={}, at=finished, previous=None, weight=100)  # fmt: skip
    store.record_deployment(rid, "staging", "svc", f"svc-{rid}", None, started, finished, "promoted", False)
    if committed is not None:
        store.record_commit(rid, "staging", "f" * 40, committed, "GITHUB_SHA")


def test_dora_json_and_table(tmp_path: Path) -> None:
    (tmp_path / "keel.yaml").write_text(SPEC)
    empty = keel("dora", "--env", "staging", "--format", "json", cwd=tmp_path)
    assert empty.returncode == 0, empty.stderr
    assert json.loads(empty.stdout)["metrics"]["deployment_frequency"]["value"] == 0.0
    assert not (tmp_path / ".keel" / "keel.db").exists()  # reading created no store

    now = time.time()
    with Store(tmp_path / ".keel" / "keel.db", service="svc") as store:
        promoted(store, "r-one", now - 5000, now - 4000, now - 7600)  # lead 3600 s
        promoted(store, "r-two", now - 3000, now - 2000, None)
        promoted(store, "r-old", now - 40 * 86400, now - 40 * 86400 + 60, None)  # outside 30 days
    doc = json.loads(
        keel("dora", "--env", "staging", "--format", "json", "--days", "30", cwd=tmp_path).stdout
    )
    assert doc["schema"] == "keel.dora/v1" and doc["service"] == "svc" and doc["counts"]["promoted"] == 2
    assert doc["metrics"]["deployment_frequency"]["value"] == round(2 / 30, 6)
    assert doc["metrics"]["lead_time"]["value"] == 3600 and doc["metrics"]["lead_time"]["unknown"] == 1
    assert doc["metrics"]["deployment_success_rate"]["value"] == 1.0
    table = keel("dora", "--env", "staging", cwd=tmp_path)
    assert "Lead time for changes" in table.stdout and "1h 00m" in table.stdout and "100.0%" in table.stdout
    assert "no data" in table.stdout  # time to restore: no incident


def test_bad_input_exits_2(tmp_path: Path) -> None:
    (tmp_path / "keel.yaml").write_text(SPEC)
    assert keel("dora", "--env", "staging", "--days", "0", cwd=tmp_path).returncode == 2
    unknown = keel("dora", "--env", "nowhere", cwd=tmp_path)
    assert unknown.returncode == 2 and "nowhere" in unknown.stderr
    port = keel("dashboard", "--env", "staging", "--port", "70000", cwd=tmp_path)
    assert port.returncode == 2 and "--port" in port.stderr


def test_dashboard_serves_on_the_printed_url(tmp_path: Path) -> None:
    import os
    import re
    import subprocess

    import httpx

    from tests.keel.cli.releases import KEEL

    (tmp_path / "keel.yaml").write_text(SPEC)
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("KEEL_STATE_DIR", None)
    proc = subprocess.Popen(
        [KEEL, "dashboard", "--env", "staging", "--port", "0"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match is not None, line
        base = match.group(0)
        index = httpx.get(base + "api/v1", timeout=30).json()
        assert index["service"] == "svc" and index["environment"] == "staging"
        health = httpx.get(base + "api/v1/health", timeout=30).json()
        assert health["available"] is False and "no service URL" in health["reason"]
        assert httpx.get(base + "api/v1/dora?days=0", timeout=30).status_code == 400
        assert "no releases in the window" in httpx.get(base, timeout=30).text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
