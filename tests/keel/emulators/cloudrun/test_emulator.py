"""The Cloud Run emulator through the official client and keel's adapter: Cloud Run's semantics, local
processes, tag URLs, and the Cloud Monitoring time series of the revisions with their ingestion delay."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2

from keel.analysis.sources.cloudmonitoring import CloudMonitoringSource, WindowIncomplete
from keel.analysis.sources.cloudmonitoring_config import CloudMonitoringSpec
from keel.emulators.cloudrun.config import EmulatorConfig, load_config
from keel.emulators.cloudrun.server import Emulator, running
from keel.platforms.base import RevisionSpec, RevisionState
from keel.platforms.cloudrun import CloudRunConfig, CloudRunPlatform
from keel.yamlfile import SpecError

APP = (sys.executable, "-c", "\n".join([
    "import http.server, os",
    "class H(http.server.BaseHTTPRequestHandler):",
    "    def do_GET(self):",
    "        body = os.environ['K_REVISION'].encode()",
    "        self.send_response(500 if self.path == '/fail' else 200)",
    "        self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)",
    "    def log_message(self, *a): pass",
    "http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()",
]))  # fmt: skip
CRASH = (sys.executable, "-c", "import sys; sys.exit(3)")
PARENT = "projects/p/locations/r"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    config = EmulatorConfig(images={"app:1": APP, "app:2": APP, "crash": CRASH}, ingestion_delay=2.0,
                            secrets={"db-url:latest": "sqlite://"})  # fmt: skip
    with running(config) as emu:
        yield emu


def client(emulator: Emulator) -> run_v2.ServicesClient:
    return run_v2.ServicesClient(
        transport="rest", credentials=AnonymousCredentials(), client_options={"api_endpoint": emulator.url}
    )


def adapter(emulator: Emulator, service: str) -> CloudRunPlatform:
    config = CloudRunConfig(platform="cloudrun", project="p", region="r", service=service, image="app:1",
                            api_endpoint=emulator.url, secrets={"DATABASE_URL": "db-url:latest"})  # fmt: skip
    return CloudRunPlatform(config, keel_service=service)


def test_cloud_run_semantics_through_the_official_client(emulator: Emulator) -> None:
    services = client(emulator)
    body = run_v2.Service(template=run_v2.RevisionTemplate(containers=[run_v2.Container(image="app:1")]))
    created = services.create_service(parent=PARENT, service=body, service_id="sem").result(timeout=60)
    first = created.latest_ready_revision.rsplit("/", 1)[-1]
    assert first.startswith("sem-00001-")  # Cloud Run's naming when the template names no revision
    assert (
        created.traffic_statuses[0].type_
        == run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
    )
    assert httpx.get(created.uri).text == first

    stale = run_v2.Service(name=created.name, etag='"0-0"', traffic=created.traffic)
    with pytest.raises(gexc.Conflict, match="etag"):
        services.update_service(service=stale, update_mask={"paths": ["traffic"]})
    current = services.get_service(name=created.name)
    bad_sum = run_v2.Service(name=created.name, traffic=[run_v2.TrafficTarget(revision=first, percent=90)])
    with pytest.raises(gexc.BadRequest, match="add up to 90"):
        services.update_service(service=bad_sum, update_mask={"paths": ["traffic"]})
    same_tag = [
        run_v2.TrafficTarget(revision=first, percent=100, tag="a"),
        run_v2.TrafficTarget(revision=first, tag="a"),
    ]
    with pytest.raises(gexc.BadRequest, match="more than once"):
        services.update_service(
            service=run_v2.Service(name=created.name, traffic=same_tag), update_mask={"paths": ["traffic"]}
        )
    unknown = [run_v2.TrafficTarget(revision="sem-00009-zzz", percent=100)]
    with pytest.raises(gexc.BadRequest, match="not found"):
        services.update_service(
            service=run_v2.Service(name=created.name, traffic=unknown), update_mask={"paths": ["traffic"]}
        )
    assert services.get_service(name=created.name).etag == current.etag  # refused updates change nothing
    foreign = run_v2.RevisionTemplate(revision="other-1", containers=[run_v2.Container(image="app:2")])
    with pytest.raises(gexc.BadRequest, match="must start with"):
        services.update_service(service=run_v2.Service(name=created.name, template=foreign))


async def test_the_adapter_deploys_splits_and_removes_on_the_emulator(emulator: Emulator) -> None:
    platform = adapter(emulator, "web")
    one = await platform.deploy(RevisionSpec("web-00001-aaa"))
    assert one.state is RevisionState.RUNNING and (await platform.traffic()).weights == {"web-00001-aaa": 100}
    two = await platform.deploy(RevisionSpec("web-00002-bbb", image="app:2"))
    assert (await platform.traffic()).weights == {"web-00001-aaa": 100}  # the new revision has no traffic
    assert httpx.get(two.url).text == "web-00002-bbb"  # the tag URL reaches it alone
    split = await platform.set_traffic({"web-00001-aaa": 90, "web-00002-bbb": 10})
    assert split.weights == {"web-00001-aaa": 90, "web-00002-bbb": 10}
    service = client(emulator).get_service(name=f"{PARENT}/services/web")
    with httpx.Client(trust_env=False) as http:
        seen = {http.get(service.uri).text for _ in range(200)}
    assert seen == {"web-00001-aaa", "web-00002-bbb"}
    with pytest.raises(Exception, match="still has traffic"):
        await platform.remove("web-00002-bbb")
    await platform.set_traffic({"web-00001-aaa": 100})
    await platform.remove("web-00002-bbb")
    assert [r.name for r in await platform.revisions()] == ["web-00001-aaa"]
    with pytest.raises(httpx.HTTPError):
        httpx.get(two.url, timeout=2).raise_for_status()


async def test_a_revision_that_crashes_at_start_fails_with_the_reason_and_keeps_the_split(
    emulator: Emulator,
) -> None:
    platform = adapter(emulator, "crashy")
    await platform.deploy(RevisionSpec("crashy-00001-aaa"))
    bad = await platform.deploy(RevisionSpec("crashy-00002-bbb", image="crash"))
    assert bad.state is RevisionState.FAILED
    assert "failed to start and listen on the port" in bad.detail
    missing = await platform.deploy(RevisionSpec("crashy-00003-ccc", image="nope:1"))
    assert missing.state is RevisionState.FAILED and "Image 'nope:1' not found" in missing.detail
    no_secret = CloudRunPlatform(
        platform.config.model_copy(update={"secrets": {"API_KEY": "not-in-secret-manager:latest"}}),
        keel_service="crashy",
    )
    unresolved = await no_secret.deploy(RevisionSpec("crashy-00004-ddd"))
    assert unresolved.state is RevisionState.FAILED
    assert "not-in-secret-manager/versions/latest was not found" in unresolved.detail
    assert (await platform.traffic()).weights == {"crashy-00001-aaa": 100}


async def test_traffic_following_latest_is_refused_by_the_adapter_and_left_alone(emulator: Emulator) -> None:
    services = client(emulator)
    body = run_v2.Service(template=run_v2.RevisionTemplate(containers=[run_v2.Container(image="app:1")]))
    created = services.create_service(parent=PARENT, service=body, service_id="latest").result(timeout=60)
    before = services.get_service(name=created.name)
    with pytest.raises(Exception, match="follows LATEST") as err:
        await adapter(emulator, "latest").deploy(RevisionSpec("latest-00002-bbb"))
    assert "gcloud run services update-traffic latest" in str(err.value)
    after = services.get_service(name=created.name)
    assert after.etag == before.etag and len(emulator.api.services[created.name].revisions) == 1


def test_the_emulator_config_file_is_validated_naming_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "emulator.yaml"
    path.write_text("images: {app: [python, app.py]}\ningestion_delay: soon\n")
    with pytest.raises(SpecError) as err:
        load_config(path)
    assert str(err.value.problems[0]).startswith(f"{path}:2: ingestion_delay:")
    path.write_text("images: {app: [python, app.py]}\ningestion_delay: 30s\n")
    assert load_config(path).ingestion_delay == 30.0


async def test_request_counts_reach_cloud_monitoring_after_the_ingestion_delay(emulator: Emulator) -> None:
    platform = adapter(emulator, "metered")
    rev = await platform.deploy(RevisionSpec("metered-00001-aaa"))
    start = time.time() - 1
    for _ in range(20):
        httpx.get(rev.url)
    httpx.get(rev.url + "/fail")
    spec = CloudMonitoringSpec(project="p", service="metered", transport="rest", api_endpoint=emulator.url,
                               anonymous=True, ingestion_delay=2.0)  # fmt: skip
    source = CloudMonitoringSource(spec)
    with pytest.raises(WindowIncomplete):
        await source.window(rev.name, time.time() - 1, time.time())
    # The emulator's own delay: asking too early (a source told of a shorter delay) sees fewer requests.
    early = await CloudMonitoringSource(spec.model_copy(update={"ingestion_delay": 0.0})).window(
        rev.name, start, time.time()
    )
    assert early.requests < 21
    deadline = time.time() + 30
    while True:
        try:
            window = await source.window(rev.name, start, time.time())
        except WindowIncomplete:  # less than the delay since ``start``: readable in a moment
            if time.time() > deadline:
                raise
            time.sleep(0.5)
            continue
        if window.requests == 21 or time.time() > deadline:
            break
        time.sleep(0.5)
    assert (window.requests, window.errors) == (21, 1)
    assert window.latency.total == 21
