"""Google Secret Manager through the official client, against the local server speaking its REST API v1."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from keel.secrets.backends.base import CURRENT, PENDING, VersionState
from keel.secrets.backends.gcp import EMULATOR_HOST_ENV, SecretManagerBackend, endpoint
from keel.secrets.config import GcpBackendConfig
from keel.secrets.errors import SecretNotFound, SecretsError

pytest.importorskip("google.cloud.secretmanager_v1")

PLANTED = "sk-planted-gcp-0123456789abcdef"


@pytest.fixture(scope="module")
def host() -> Iterator[str]:
    from keel.emulators.secretmanager.server import running

    with running() as address:
        yield address


@pytest.fixture
def backend(host: str, request: pytest.FixtureRequest) -> SecretManagerBackend:
    project = f"keel-test-{abs(hash(request.node.name)) % 10**6}"  # one project per test on the shared server
    return SecretManagerBackend.from_config(
        GcpBackendConfig(type="gcp", project=project), {EMULATOR_HOST_ENV: host}
    )


def test_versions_aliases_and_states_through_the_official_client(backend: SecretManagerBackend) -> None:
    assert backend.describe("api") is None
    assert backend.add_version("api", "first").version == 1
    assert backend.add_version("api", PLANTED).version == 2
    backend.set_alias("api", CURRENT, 1)
    backend.set_alias("api", PENDING, 2)
    assert backend.access("api", CURRENT) == "first"
    assert backend.access("api", "latest") == PLANTED
    backend.set_state("api", 2, VersionState.DISABLED)
    with pytest.raises(SecretNotFound, match="DISABLED") as caught:
        backend.access("api", 2)
    assert PLANTED not in str(caught.value)
    backend.set_state("api", 2, VersionState.ENABLED)
    assert backend.access("api", PENDING) == PLANTED
    backend.set_state("api", 2, VersionState.DESTROYED)
    with pytest.raises(SecretNotFound):
        backend.set_state("api", 2, VersionState.ENABLED)
    backend.set_alias("api", PENDING, None)
    info = backend.describe("api")
    assert info is not None
    assert [(v.version, v.state) for v in info.versions] == [
        (1, VersionState.ENABLED),
        (2, VersionState.DESTROYED),
    ]
    assert dict(info.aliases) == {CURRENT: 1}
    assert backend.names() == ["api"]


def test_the_server_answers_google_json_errors(host: str) -> None:
    base = f"http://{host}/v1/projects/p-test/secrets"
    missing = httpx.get(f"{base}/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["status"] == "NOT_FOUND"
    assert (
        httpx.post(base, params={"secretId": "bad id!"}, json={}).json()["error"]["status"]
        == "INVALID_ARGUMENT"
    )
    assert httpx.post(base, params={"secretId": "dup"}, json={}).status_code == 200
    assert httpx.post(base, params={"secretId": "dup"}, json={}).status_code == 409
    bad = httpx.post(f"{base}/dup:addVersion", json={"payload": {"data": "%%%"}})
    assert bad.status_code == 400
    garbage = httpx.post(f"{base}/dup:addVersion", content=b"{not json")
    assert garbage.status_code == 400


def test_an_emulator_is_reached_anonymously_only_on_loopback() -> None:
    config = GcpBackendConfig(type="gcp", project="bayit-plus")
    assert endpoint(config, {}) == (None, False)
    assert endpoint(config, {EMULATOR_HOST_ENV: "127.0.0.1:8085"}) == ("http://127.0.0.1:8085", True)
    with pytest.raises(SecretsError, match="loopback"):
        endpoint(config, {EMULATOR_HOST_ENV: "10.1.2.3:8085"})
    remote = GcpBackendConfig(type="gcp", project="bayit-plus", endpoint="https://sm.example.com")
    assert endpoint(remote, {}) == ("https://sm.example.com", False)


def test_keel_emulate_secretmanager_serves_until_sigterm() -> None:
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    keel = str(Path(sys.executable).parent / "keel")
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [keel, "emulate", "secretmanager", "--port", "0"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith(f"{EMULATOR_HOST_ENV}=127.0.0.1:"), line
        backend = SecretManagerBackend.from_config(
            GcpBackendConfig(type="gcp", project="bayit-plus"), {EMULATOR_HOST_ENV: line.split("=", 1)[1]}
        )
        backend.add_version("k", PLANTED)
        assert backend.access("k", "latest") == PLANTED
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
