"""A CI runner releasing to Cloud Run (the emulator) is killed -9 mid-canary; its state lives in a shared
PostgreSQL store. A later job on a fresh machine (a new checkout: no `.keel` at all) runs `keel rollback` and
ends with all traffic on the revision that served before, and a second runner deploying at the same time as a
live one is refused with exit 3. Steady load throughout: no request fails because of a traffic change."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from keel.emulators.cloudrun.config import EmulatorConfig
from keel.emulators.cloudrun.server import Emulator, running
from keel.platforms.cloudrun import CloudRunConfig, CloudRunPlatform
from tests.e2e.support import Load, result, start_deploy, wait_for_holding
from tests.e2e.test_cloudrun_release import BAYIT, ENV, SERVICE
from tests.e2e.test_cloudrun_release import write_project as write_cloudrun_project
from tests.keel.cli.releases import keel

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LOCK_TTL = 10.0


@dataclass
class Runner:
    emulator: Emulator
    url: str  # the shared store
    first: Path  # the killed runner's checkout
    load: Load
    serving: str


def spec_for(directory: Path, endpoint: str, store_url: str) -> None:
    write_cloudrun_project(directory, endpoint)
    spec = directory / "keel.yaml"
    text = spec.read_text().replace("steps: [{weight: 10, hold: 8s}", "steps: [{weight: 10, hold: 120s}")
    spec.write_text(text + f"store: {{url: '{store_url}', lock_ttl: {LOCK_TTL:g}s}}\n")


def traffic(emulator: Emulator) -> dict[str, int]:
    config = CloudRunConfig(platform="cloudrun", project="bayit-plus", region="us-east1", service=SERVICE,
                            api_endpoint=emulator.url)  # fmt: skip
    return dict(asyncio.run(CloudRunPlatform(config).traffic()).weights)


@pytest.fixture
def runner(tmp_path: Path, postgres_url: str) -> Iterator[Runner]:
    config = EmulatorConfig(
        images={"bayit:1": BAYIT},
        secrets={
            "bayit-database-url:latest": f"sqlite+aiosqlite:///{tmp_path / 'bayit.db'}",
            "bayit-secret-key:latest": secrets.token_urlsafe(48),
        },
        ingestion_delay=2.0,
        state_dir=str(tmp_path / "emulator"),
    )
    first = tmp_path / "runner-1"
    first.mkdir()
    with running(config) as emulator:
        spec_for(first, emulator.url, postgres_url)
        proc = keel("deploy", "--env", ENV, "--format", "json", "--set", "RELEASE=1", cwd=first, timeout=240)
        assert proc.returncode == 0, proc.stderr
        load = Load(emulator.runtime.service_url(SERVICE)).start()
        yield Runner(emulator, postgres_url, first, load, str(result(proc)["revision"]))
        load.stop()
        assert load.unexpected() == {}, load.outcomes


def test_a_runner_killed_mid_canary_is_rolled_back_from_a_fresh_machine(
    runner: Runner, tmp_path: Path
) -> None:
    proc = start_deploy(runner.first, "RELEASE=2", env_name=ENV, group=True)
    canary = str(wait_for_holding(runner.url, SERVICE, ENV)["revision"])
    os.killpg(proc.pid, signal.SIGKILL)  # the runner and everything it started
    proc.wait(timeout=30)
    assert traffic(runner.emulator) == {runner.serving: 90, canary: 10}

    fresh = tmp_path / "runner-2"  # a new job: a new checkout, no .keel, the same keel.yaml
    fresh.mkdir()
    spec_for(fresh, runner.emulator.url, runner.url)
    refused = keel("rollback", "--env", ENV, "--yes", "--format", "json", cwd=fresh, timeout=60)
    assert refused.returncode == 3, (
        refused.stderr
    )  # the dead runner's lock holds until its heartbeat ages out
    assert "locked" in refused.stderr
    time.sleep(LOCK_TTL + 1)
    done = keel("rollback", "--env", ENV, "--yes", "--format", "json", cwd=fresh, timeout=120)
    assert done.returncode == 0, done.stderr
    data = result(done)
    assert data["action"] == "undo_interrupted" and data["phase"] == "rolled_back"
    assert traffic(runner.emulator) == {runner.serving: 100}
    assert not (fresh / ".keel" / "keel.db").exists()  # nothing of keel's state on the new machine


def test_two_runners_deploying_at_once_one_is_refused(runner: Runner, tmp_path: Path) -> None:
    other = tmp_path / "runner-2"
    other.mkdir()
    spec_for(other, runner.emulator.url, runner.url)
    first = start_deploy(runner.first, "RELEASE=2", env_name=ENV)
    wait_for_holding(runner.url, SERVICE, ENV)
    second = keel("deploy", "--env", ENV, "--format", "json", "--set", "RELEASE=3", cwd=other, timeout=60)
    assert second.returncode == 3, second.stderr
    assert "locked" in second.stderr
    first.send_signal(signal.SIGINT)  # the live runner aborts its release: traffic back on the serving one
    _out, err = first.communicate(timeout=120)
    assert first.returncode == 1, err
    assert traffic(runner.emulator) == {runner.serving: 100}
