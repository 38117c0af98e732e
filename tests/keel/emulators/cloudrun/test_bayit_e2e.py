"""End to end: keel's Cloud Run adapter drives the emulator running real ``bayit serve`` revisions, with
Secret Manager references, start-up/liveness probes and the optional dependencies declared absent."""

from __future__ import annotations

import secrets
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from keel.emulators.cloudrun.config import EmulatorConfig
from keel.emulators.cloudrun.server import Emulator, running
from keel.platforms.base import RevisionSpec, RevisionState
from keel.platforms.cloudrun import CloudRunConfig, CloudRunPlatform
from keel.probing import Probes

pytestmark = pytest.mark.slow

BAYIT = (str(Path(sys.executable).parent / "bayit"), "serve", "--host", "127.0.0.1", "--seed")
TOKEN = "health-token-for-the-test"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    root = tmp_path_factory.mktemp("bayit-cloudrun")
    config = EmulatorConfig(
        images={"bayit:1": BAYIT, "bayit:2": BAYIT},
        secrets={
            "bayit-database-url:latest": f"sqlite+aiosqlite:///{root / 'bayit.db'}",
            "bayit-secret-key:latest": secrets.token_urlsafe(48),
            "bayit-health-token:latest": TOKEN,
        },
        ingestion_delay=1.0,
        state_dir=str(root / "emulator"),
    )
    with running(config) as emu:
        yield emu


async def test_bayit_released_on_the_emulator_deploy_split_read_back_remove(emulator: Emulator) -> None:
    config = CloudRunConfig.model_validate({
        "platform": "cloudrun", "project": "bayit-plus", "region": "us-east1", "service": "bayit-plus-backend-staging",
        "image": "bayit:1", "api_endpoint": emulator.url, "env": {"ENVIRONMENT": "staging"},
        "secrets": {"DATABASE_URL": "bayit-database-url:latest", "SECRET_KEY": "bayit-secret-key:latest",
                    "HEALTH_CHECK_TOKEN": "bayit-health-token:latest"},
        "optional_unconfigured": ["openai"],
    })  # fmt: skip
    probes = Probes.model_validate({"startup": {"period": "2s", "failure_threshold": 30}})
    platform = CloudRunPlatform(config, keel_service="bayit-plus-backend", probes=probes)
    first = await platform.deploy(RevisionSpec("bayit-plus-backend-00001-aaa"))
    assert first.state is RevisionState.RUNNING, first.detail
    second = await platform.deploy(RevisionSpec("bayit-plus-backend-00002-bbb", image="bayit:2"))
    assert second.state is RevisionState.RUNNING, second.detail
    assert (await platform.traffic()).weights == {"bayit-plus-backend-00001-aaa": 100}
    # Cloud Run names the revision after its service; keel's name maps back.
    assert {r.name for r in await platform.revisions()} == {
        "bayit-plus-backend-00001-aaa",
        "bayit-plus-backend-00002-bbb",
    }

    with httpx.Client(timeout=10) as http:
        deep = http.get(second.url + "/health/deep", headers={"X-Health-Token": TOKEN}).json()["services"]
        assert deep["openai"]["status"] == "disabled"  # HEALTH_OPTIONAL_UNCONFIGURED reached the service
        assert deep["elevenlabs"]["status"] != "disabled"  # only what keel.yaml declared
        assert http.get(second.url + "/api/v1/content").status_code == 200

        split = await platform.set_traffic(
            {"bayit-plus-backend-00001-aaa": 90, "bayit-plus-backend-00002-bbb": 10}
        )
        assert split.weights == {"bayit-plus-backend-00001-aaa": 90, "bayit-plus-backend-00002-bbb": 10}
        assert (await platform.traffic()).weights == split.weights
        service_url = emulator.runtime.service_url("bayit-plus-backend-staging")
        served = Counter(
            http.get(service_url + "/health/live").headers.get("x-keel-revision", "?") for _ in range(300)
        )
    assert set(served) == {"bayit-plus-backend-staging-00001-aaa", "bayit-plus-backend-staging-00002-bbb"}
    assert 10 <= served["bayit-plus-backend-staging-00002-bbb"] <= 60  # ~10 % of 300

    await platform.set_traffic({"bayit-plus-backend-00001-aaa": 100})
    await platform.remove("bayit-plus-backend-00002-bbb")
    assert [r.name for r in await platform.revisions()] == ["bayit-plus-backend-00001-aaa"]
