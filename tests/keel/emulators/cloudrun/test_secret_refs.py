"""Revisions referencing Secret Manager versions (``secretKeyRef``) on the Cloud Run emulator, resolved from the
local Secret Manager when each revision starts: the revision reads the pinned version; a missing or disabled
version keeps it from becoming ready, with the reason; the service's JSON holds references, never values."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2

from keel.emulators.cloudrun.config import EmulatorConfig
from keel.emulators.cloudrun.server import Emulator, running
from keel.emulators.secretmanager.server import running as secret_manager
from keel.platforms.base import RevisionSpec, RevisionState
from keel.platforms.cloudrun import CloudRunConfig, CloudRunPlatform
from keel.secrets.backends.base import VersionState
from keel.secrets.backends.gcp import SecretManagerBackend
from keel.secrets.config import GcpBackendConfig

ECHO = (sys.executable, "-c", "\n".join([
    "import http.server, os",
    "class H(http.server.BaseHTTPRequestHandler):",
    "    def do_GET(self):",
    "        body = os.environ.get('API_KEY', '-').encode()",
    "        self.send_response(200)",
    "        self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)",
    "    def log_message(self, *a): pass",
    "http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()",
]))  # fmt: skip
FIRST, SECOND = "sk-first-value-0f9e8d7c6b5a", "sk-second-value-1a2b3c4d5e6f"


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, SecretManagerBackend]]:
    with secret_manager() as host:
        backend = SecretManagerBackend.from_config(
            GcpBackendConfig(type="gcp", project="bayit-plus", endpoint=host)
        )
        config = EmulatorConfig(images={"app:1": ECHO}, secret_manager=host,
                                state_dir=str(tmp_path_factory.mktemp("emu")))  # fmt: skip
        with running(config) as emulator:
            yield emulator, backend


def platform(emulator: Emulator) -> CloudRunPlatform:
    config = CloudRunConfig(platform="cloudrun", project="bayit-plus", region="r", service="refs", image="app:1",
                            api_endpoint=emulator.url, secrets={"API_KEY": "api-key:latest"})  # fmt: skip
    return CloudRunPlatform(config, keel_service="refs")


async def test_pinned_versions_are_read_and_unreadable_ones_keep_the_revision_unready(
    both: tuple[Emulator, SecretManagerBackend], tmp_path: Path
) -> None:
    emulator, backend = both
    backend.add_version("api-key", FIRST)
    backend.add_version("api-key", SECOND)
    p = platform(emulator)
    one = await p.deploy(RevisionSpec("refs-00001-aaa", {"API_KEY": "keel-secret:api-key:1"}))
    assert one.state is RevisionState.RUNNING
    assert httpx.get(one.url, timeout=10).text == FIRST  # version 1, although 2 is the latest
    services = run_v2.ServicesClient(transport="rest", credentials=AnonymousCredentials(),
                                     client_options={"api_endpoint": emulator.url})  # fmt: skip
    service = services.get_service(name="projects/bayit-plus/locations/r/services/refs")
    ref = next(e for e in service.template.containers[0].env if e.name == "API_KEY")
    assert (ref.value, ref.value_source.secret_key_ref.secret, ref.value_source.secret_key_ref.version) == (
        "", "api-key", "1")  # fmt: skip
    text = run_v2.Service.to_json(service)
    assert FIRST not in text and SECOND not in text

    missing = await p.deploy(RevisionSpec("refs-00002-bbb", {"API_KEY": "keel-secret:api-key:9"}))
    assert missing.state is RevisionState.FAILED
    assert "projects/bayit-plus/secrets/api-key/versions/9 was not found" in missing.detail
    backend.set_state("api-key", 2, VersionState.DISABLED)
    disabled = await p.deploy(RevisionSpec("refs-00003-ccc", {"API_KEY": "keel-secret:api-key:2"}))
    assert disabled.state is RevisionState.FAILED and "DISABLED state" in disabled.detail
    assert FIRST not in disabled.detail + missing.detail and SECOND not in disabled.detail
    assert (await p.traffic()).weights == {"refs-00001-aaa": 100}


def test_the_secret_manager_it_reads_is_on_loopback_only() -> None:
    from pydantic import ValidationError

    assert EmulatorConfig(secret_manager="127.0.0.1:8085").secret_manager == "127.0.0.1:8085"
    with pytest.raises(ValidationError, match="loopback only"):
        EmulatorConfig(secret_manager="secretmanager.example.com:443")
