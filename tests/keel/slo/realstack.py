"""The real alerting stack for tests and benchmarks: Bayit+ (restartable with BAYIT_FAULT_*), steady load,
Prometheus evaluating the generated rules, Alertmanager routing to local PagerDuty and Slack receivers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from keel.slo.render import render
from keel.spec import load_spec
from tests.keel.notify.server import Recorder, receiver

PD_KEY = "e2e-routing-key-0000000000000000"


class Missing(Exception):
    """A binary the stack needs is not installed."""


SPEC = """\
service: bayit
environments:
  local: {{platform: local, run: [bayit, serve], port: 8080}}
notify:
  slack: {{webhook_env: E2E_SLACK_HOOK}}
  pagerduty: {{routing_key_env: E2E_PD_KEY}}
slos:
  availability: {{objective: 99}}
alerts:
  interval: 1s
  keep_firing_for: 2s
  signals: {{selector: {{job: bayit}}}}
  dashboard_url: http://grafana.invalid/d/bayit
  alertmanager:
    secrets_dir: {secrets}
    pagerduty_url: {pd_url}/v2/enqueue
    group_wait: 1s
    group_interval: 2s
  ReadinessFailing: {{consecutive: 2}}
  HighErrorRate: {{window: 10s, min_requests: 5}}
  ElevatedErrorRate: {{window: 10s, for: 5s, min_requests: 5}}
  HighLatencyP95: {{window: 10s, threshold: 250ms, min_requests: 5}}
  SLOErrorBudgetBurn:
    min_requests: 5
    windows:
      - {{severity: page, long: 20s, short: 5s, factor: 14.4}}
      - {{severity: ticket, long: 40s, short: 10s, factor: 1}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise Missing(f"{names[0]} is not installed (apt-get install prometheus prometheus-alertmanager)")


def _wait_http(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready after {timeout} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Bayit:
    port: int
    db: Path
    proc: subprocess.Popen[bytes] | None = None
    database_url: str | None = None  # default: SQLite at ``db``

    def start(self, **faults: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BAYIT_FAULT_")}
        url = self.database_url or f"sqlite+aiosqlite:///{self.db}"
        env |= {"DATABASE_URL": url, "PORT": str(self.port), **faults}
        bayit = str(Path(sys.executable).parent / "bayit")
        self.proc = subprocess.Popen(
            [bayit, "serve", "--host", "127.0.0.1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_http(f"http://127.0.0.1:{self.port}/health/ready", self.proc, "bayit serve")

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


@dataclass
class Load:
    """Steady traffic on an API route from a few threads (each waits for its answer, as users do).
    ``first`` holds when each status code was first answered since the last ``mark()``."""

    url: str
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    first: dict[int, float] = field(default_factory=dict)

    def mark(self) -> None:
        self.first = {}

    def probe(self, ready_url: str, period: float = 1.0) -> None:
        """Also probe readiness every ``period``, as Cloud Run or Kubernetes do (health checks run on probes)."""

        def run() -> None:
            with httpx.Client(timeout=5) as client:
                while not self.stop.wait(period):
                    with suppress(httpx.HTTPError):
                        client.get(ready_url)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.stop.is_set():
                try:
                    status = client.get(self.url).status_code
                    self.first.setdefault(status, time.monotonic())
                except httpx.HTTPError:
                    time.sleep(0.1)  # the service is down: keep trying
                time.sleep(0.05)

    def __enter__(self) -> Load:
        workers = [threading.Thread(target=self._run, daemon=True) for _ in range(3)]
        for t in workers:
            t.start()
        self.threads += workers
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=10)


def pd_events(pd: Recorder) -> list[tuple[float, str, str]]:
    """(time, alertname, trigger|resolve) of what Alertmanager sent PagerDuty."""
    out = []
    for at, (_, _, body) in zip(pd.times, pd.posts, strict=False):
        details = body.get("payload", {}).get("custom_details", {})
        out.append((at, str(details.get("alert", "?")), str(body.get("event_action"))))
    return out


def slack_titles(slack: Recorder) -> list[tuple[float, str]]:
    return [
        (at, " ".join(str(a.get("title", "")) for a in body.get("attachments", [])))
        for at, (_, _, body) in zip(slack.times, slack.posts, strict=False)
    ]


def until(check: Callable[[], bool], what: str, timeout: float = 120.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {timeout} s")


@contextmanager
def real_stack(
    tmp_path: Path, spec_text: str = SPEC, database_url: str | None = None
) -> Iterator[dict[str, Any]]:
    prometheus = _binary("prometheus")
    alertmanager = _binary("prometheus-alertmanager", "alertmanager")
    procs: list[subprocess.Popen[bytes]] = []
    bayit = Bayit(_free_port(), tmp_path / "bayit.db", database_url=database_url)
    with receiver() as (slack_url, slack), receiver() as (pd_url, pd):
        pd.status = 202
        secrets = tmp_path / "secrets"
        secrets.mkdir()
        (secrets / "E2E_SLACK_HOOK").write_text(slack_url + "/services/T0/B0/e2e")
        (secrets / "E2E_PD_KEY").write_text(PD_KEY)
        (tmp_path / "keel.yaml").write_text(spec_text.format(secrets=secrets, pd_url=pd_url))
        spec = load_spec(tmp_path / "keel.yaml")
        for target, name in (("prometheus", "rules.yaml"), ("alertmanager", "alertmanager.yaml")):
            text = render(target, spec.alerts, spec.slos, spec.notify.channels, spec.service, "e2e")
            (tmp_path / name).write_text(text)
        am_port, prom_port = _free_port(), _free_port()
        (tmp_path / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "rule_files: [rules.yaml]\n"
            f"alerting: {{alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{am_port}']}}]}}]}}\n"
            f"scrape_configs: [{{job_name: bayit, static_configs: [{{targets: ['127.0.0.1:{bayit.port}']}}]}}]\n"
        )
        try:
            procs.append(
                subprocess.Popen(
                    [
                        alertmanager,
                        f"--config.file={tmp_path / 'alertmanager.yaml'}",
                        f"--storage.path={tmp_path / 'am'}",
                        f"--web.listen-address=127.0.0.1:{am_port}",
                        "--cluster.listen-address=",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            _wait_http(f"http://127.0.0.1:{am_port}/-/ready", procs[-1], "alertmanager")
            procs.append(
                subprocess.Popen(
                    [
                        prometheus,
                        f"--config.file={tmp_path / 'prometheus.yml'}",
                        f"--storage.tsdb.path={tmp_path / 'prom'}",
                        f"--web.listen-address=127.0.0.1:{prom_port}",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            _wait_http(f"http://127.0.0.1:{prom_port}/-/ready", procs[-1], "prometheus")
            yield {
                "bayit": bayit,
                "slack": slack,
                "pd": pd,
                "am": f"http://127.0.0.1:{am_port}",
                "spec": spec,
            }
        finally:
            bayit.stop()
            for proc in reversed(procs):
                _stop(proc)
