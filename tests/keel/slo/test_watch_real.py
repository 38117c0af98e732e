"""keel's embedded watcher on a real Bayit+ process: injected errors page through the real PagerDuty
notifier (to a local Events v2 receiver) once, and the page resolves when a healthy process replaces it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from keel.slo.watcher import Watcher
from keel.spec import load_spec
from keel.store import Store
from tests.keel.notify.server import receiver
from tests.keel.slo.realstack import Bayit, Load, _free_port

pytestmark = pytest.mark.slow

SPEC = """\
service: bayit
environments:
  local: {platform: local, run: [bayit, serve], port: 8080}
notify:
  pagerduty: {routing_key_env: WATCH_PD_KEY, url: "%s"}
alerts:
  interval: 1s
  keep_firing_for: 2s
  HighErrorRate: {window: 5s, min_requests: 5}
  ElevatedErrorRate: false
  SLOErrorBudgetBurn: false
"""


async def test_watcher_pages_on_real_errors_and_resolves(tmp_path: Path) -> None:
    bayit = Bayit(_free_port(), tmp_path / "bayit.db")
    with receiver() as (url, pd):
        pd.status = 202
        (tmp_path / "keel.yaml").write_text(SPEC % (url + "/v2/enqueue"))
        spec = load_spec(tmp_path / "keel.yaml")
        store = Store(tmp_path / "keel.db")
        watcher, warnings = Watcher.from_spec(
            spec, "local", f"http://127.0.0.1:{bayit.port}", store=store, environ={"WATCH_PD_KEY": "k" * 32}
        )
        assert warnings == []
        stop = asyncio.Event()
        await asyncio.to_thread(bayit.start, BAYIT_FAULT_ERROR_RATE="0.5")
        task = asyncio.create_task(watcher.run(stop))
        try:
            with Load(f"http://127.0.0.1:{bayit.port}/api/v1/content"):
                await _until(lambda: _sent(pd.posts, "trigger"), 60)
                await asyncio.to_thread(bayit.stop)
                await asyncio.to_thread(bayit.start)
                await _until(lambda: _sent(pd.posts, "resolve"), 60)
        finally:
            stop.set()
            await task
            await watcher.aclose()
            await asyncio.to_thread(bayit.stop)
    alerts = [(b["event_action"], b["dedup_key"]) for _, _, b in pd.posts]
    high = [a for a in alerts if "HighErrorRate" in a[1]]
    assert [a for a, _ in high] == ["trigger", "resolve"], alerts  # once, then resolved: no duplicate page
    trigger = next(
        b for _, _, b in pd.posts if b["event_action"] == "trigger" and "HighErrorRate" in b["dedup_key"]
    )
    assert trigger["payload"]["custom_details"]["threshold"] == 0.05
    assert trigger["payload"]["source"] == "bayit/local"
    history = [h["event"] for h in store.alert_history("bayit", "local") if h["name"] == "HighErrorRate"]
    assert history[0] == "resolved"


def _sent(posts: list[tuple[str, dict[str, str], Any]], action: str) -> bool:
    return any(b["event_action"] == action and "HighErrorRate" in b["dedup_key"] for _, _, b in posts)


async def _until(check: object, timeout: float) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s")
        await asyncio.sleep(0.2)
