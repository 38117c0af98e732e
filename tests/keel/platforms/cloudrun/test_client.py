"""The Cloud Run adapter against handwritten Admin API v2 answers: what it sends and how it reads back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from keel.errors import ConfigError
from keel.platforms.base import RevisionSpec, RevisionState
from keel.platforms.cloudrun import CloudRunConfig, CloudRunError, CloudRunPlatform
from keel.probing import Probes
from tests.keel.platforms.cloudrun.fake_admin import SERVICE, FakeAdmin, done, error, revision, serve, service

NEW = "bayit-plus-backend-00002-xyz"
V2 = f"/v2/{SERVICE}"


@pytest.fixture
def fake() -> Iterator[FakeAdmin]:
    with serve(FakeAdmin()) as f:
        yield f


def platform(fake: FakeAdmin, **settings: Any) -> CloudRunPlatform:
    config = CloudRunConfig.model_validate({
        "platform": "cloudrun", "project": "bayit-plus", "region": "us-east1", "service": "bayit-plus-backend",
        "image": "us-docker.pkg.dev/bayit-plus/bayit/api:2", "api_endpoint": fake.url, **settings,
    })  # fmt: skip
    return CloudRunPlatform(
        config, keel_service="bayit-plus-backend", probes=Probes(), sleeper=lambda _: None
    )


def deployed(etag: str = '"e2"') -> dict[str, Any]:
    traffic = [
        {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": "bayit-plus-backend-00001-abc", "percent": 100},
        {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": NEW, "tag": "keel-00002-xyz",
         "uri": "https://keel-00002-xyz---bayit-plus-backend-abc123-ue.a.run.app"},
    ]  # fmt: skip
    return service(etag, traffic=traffic)


async def test_deploy_adds_a_tagged_revision_with_no_traffic_and_keeps_the_split(fake: FakeAdmin) -> None:
    fake.on("GET", V2, (200, service()), (200, deployed()))
    fake.on("PATCH", V2, (200, done(deployed())))
    fake.on(
        "GET",
        f"{V2}/revisions",
        (
            200,
            {
                "revisions": [
                    revision("bayit-plus-backend-00001-abc"),
                    revision(NEW, created="2026-12-02T10:00:00Z"),
                ]
            },
        ),
    )
    p = platform(fake, env={"ENVIRONMENT": "staging"}, secrets={"SECRET_KEY": "bayit-secret-key:latest"},
                 optional_unconfigured=["openai", "pinecone"], memory="1Gi", concurrency=40)  # fmt: skip
    rev = await p.deploy(RevisionSpec(NEW, env={"KEEL_REVISION_NOTE": "x"}))
    assert rev.name == NEW and rev.state is RevisionState.RUNNING
    assert rev.url == "https://keel-00002-xyz---bayit-plus-backend-abc123-ue.a.run.app"
    (_, query, body), = fake.calls("PATCH")  # fmt: skip
    assert body["etag"] == '"e1"'  # optimistic concurrency: the etag read is the one sent
    assert "updateMask" not in query
    targets = {(t.get("revision"), t.get("percent", 0), t.get("tag", "")) for t in body["traffic"]}
    # the serving revision (made outside keel) gets a tag as well: rollbacks are verified on its own URL
    assert targets == {("bayit-plus-backend-00001-abc", 100, "keel-00001-abc"), (NEW, 0, "keel-00002-xyz")}
    assert all(t["type"] in (2, "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION") for t in body["traffic"])
    template = body["template"]
    assert template["revision"] == NEW
    assert template["vpcAccess"]["connector"].endswith(
        "/connectors/c1"
    )  # settings keel does not own are kept
    assert template["maxInstanceRequestConcurrency"] == 40
    container = template["containers"][0]
    assert container["image"] == "us-docker.pkg.dev/bayit-plus/bayit/api:2"
    assert container["resources"]["limits"] == {"memory": "1Gi"}
    env = {e["name"]: e for e in container["env"]}
    assert env["ENVIRONMENT"]["value"] == "staging" and env["KEEL_REVISION_NOTE"]["value"] == "x"
    assert env["HEALTH_OPTIONAL_UNCONFIGURED"]["value"] == "openai,pinecone"
    assert env["SECRET_KEY"]["valueSource"]["secretKeyRef"] == {
        "secret": "bayit-secret-key",
        "version": "latest",
    }
    assert "OLD" not in env  # the environment is keel.yaml's, not left over from the last revision
    assert container["startupProbe"]["httpGet"]["path"] == "/health/startup"
    assert (
        container["startupProbe"]["timeoutSeconds"] == 5
        and container["startupProbe"]["failureThreshold"] == 3
    )
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["livenessProbe"]["timeoutSeconds"] == 3


async def test_traffic_pinned_to_latest_is_explained_and_nothing_is_changed(fake: FakeAdmin) -> None:
    latest = [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]
    fake.on("GET", V2, (200, service(traffic=latest)))
    with pytest.raises(CloudRunError) as err:
        await platform(fake).deploy(RevisionSpec(NEW))
    message = str(err.value)
    assert "Cloud Run service bayit-plus-backend (bayit-plus/us-east1)" in message
    assert "100% of its traffic follows LATEST" in message and "update-traffic" in message
    assert "bayit-plus-backend-00001-abc=100" in message
    assert fake.calls("PATCH") == []


async def test_a_concurrent_change_409_is_read_again_and_retried_with_the_new_etag(fake: FakeAdmin) -> None:
    fake.on("GET", V2, (200, service('"e1"')), (200, service('"e9"')), (200, deployed()))
    fake.on("PATCH", V2, error(409, "ABORTED", "etag mismatch"), (200, done(deployed())))
    fake.on("GET", f"{V2}/revisions", (200, {"revisions": [revision(NEW)]}))
    await platform(fake).deploy(RevisionSpec(NEW))
    assert [b["etag"] for _, _, b in fake.calls("PATCH")] == ['"e1"', '"e9"']


async def test_429_and_503_are_retried_then_the_error_names_service_call_and_reason(fake: FakeAdmin) -> None:
    fake.on("GET", V2, error(429, "RESOURCE_EXHAUSTED", "Quota exceeded"), error(503, "UNAVAILABLE", "try again"),
            (200, service()))  # fmt: skip
    assert (await platform(fake).traffic()).weights == {"bayit-plus-backend-00001-abc": 100}
    fake.on("GET", V2, error(403, "PERMISSION_DENIED", "Permission 'run.services.get' denied on resource"))
    with pytest.raises(CloudRunError) as err:
        await platform(fake).traffic()
    assert str(err.value).startswith(
        "Cloud Run service bayit-plus-backend (bayit-plus/us-east1): get service: HTTP 403"
    )
    assert "run.services.get" in str(err.value)
    fake.on("GET", V2, error(503, "UNAVAILABLE", "backend down"))
    with pytest.raises(CloudRunError, match="get service: HTTP 503"):
        await platform(fake, retries=2).traffic()
    assert len(fake.calls("GET")) == 3 + 1 + 3


async def test_a_revision_that_failed_to_start_is_failed_with_the_platform_reason(fake: FakeAdmin) -> None:
    why = "The user-provided container failed to start and listen on the port defined by PORT=8080"
    fake.on("GET", V2, (200, service()), (200, deployed()))
    fake.on("PATCH", V2, (200, {"name": "projects/bayit-plus/locations/us-east1/operations/op-2", "done": True,
                                "error": {"code": 9, "message": f"Revision '{NEW}' is not ready. {why}"}}))  # fmt: skip
    fake.on("GET", f"{V2}/revisions", (200, {"revisions": [
        revision(NEW, ready="CONDITION_FAILED", message=why, reason="HEALTH_CHECK_CONTAINER_ERROR")]}))  # fmt: skip
    rev = await platform(fake).deploy(RevisionSpec(NEW))
    assert rev.state is RevisionState.FAILED
    assert why in rev.detail and "HEALTH_CHECK_CONTAINER_ERROR" in rev.detail


async def test_set_traffic_sends_explicit_percentages_and_reads_back_the_status(fake: FakeAdmin) -> None:
    now = [
        {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": "bayit-plus-backend-00001-abc", "percent": 90},
        {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": NEW, "percent": 10, "tag": "keel-00002-xyz"},
    ]  # fmt: skip
    fake.on("GET", V2, (200, deployed()))
    fake.on("PATCH", V2, (200, done(service('"e3"', traffic=now))))
    split = await platform(fake).set_traffic({"bayit-plus-backend-00001-abc": 90, NEW: 10})
    assert split.weights == {"bayit-plus-backend-00001-abc": 90, NEW: 10}
    (_, query, body), = fake.calls("PATCH")  # fmt: skip
    # The whole service goes back as read (its etag, template and settings), only the traffic replaced.
    assert "updateMask" not in query and body["etag"] == '"e2"'
    assert body["template"]["vpcAccess"]["connector"].endswith("/connectors/c1")
    assert body["template"]["revision"] == "bayit-plus-backend-00001-abc"
    by_revision = {t["revision"]: t for t in body["traffic"]}
    assert (
        by_revision[NEW]["percent"] == 10 and by_revision[NEW]["tag"] == "keel-00002-xyz"
    )  # the tag URL stays
    with pytest.raises(CloudRunError, match="add up to 90"):
        await platform(fake).set_traffic({NEW: 90})


async def test_traffic_reads_the_status_not_the_request(fake: FakeAdmin) -> None:
    wanted = [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": NEW, "percent": 100}]
    actual = [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]
    fake.on("GET", V2, (200, service(traffic=wanted, statuses=actual)))
    assert (await platform(fake).traffic()).weights == {"bayit-plus-backend-00001-abc": 100}


async def test_remove_refuses_a_serving_revision_and_untags_before_deleting(fake: FakeAdmin) -> None:
    fake.on("GET", V2, (200, deployed()))
    with pytest.raises(CloudRunError, match="still has traffic"):
        await platform(fake).remove("bayit-plus-backend-00001-abc")
    fake.on("PATCH", V2, (200, done(service('"e4"'))))
    fake.on("DELETE", f"{V2}/revisions/{NEW}", (200, done(revision(NEW), "google.cloud.run.v2.Revision")))
    await platform(fake).remove(NEW)
    (_, _, body), = fake.calls("PATCH")  # fmt: skip
    assert all(t.get("tag") != "keel-00002-xyz" for t in body["traffic"])
    assert [p for p, _, _ in fake.calls("DELETE")] == [f"{V2}/revisions/{NEW}"]


def test_the_emulator_variable_is_honoured_only_on_loopback() -> None:
    config = CloudRunConfig(platform="cloudrun", project="p", region="r", service="svc")
    remote = CloudRunPlatform(config, environ={"CLOUD_RUN_EMULATOR_HOST": "10.0.0.5:8080"})
    with pytest.raises(ConfigError, match="loopback"):
        remote.endpoint()
    local = CloudRunPlatform(config, environ={"CLOUD_RUN_EMULATOR_HOST": "127.0.0.1:8080"})
    assert local.endpoint() == ("http://127.0.0.1:8080", True)
    assert CloudRunPlatform(config, environ={}).endpoint() == (None, False)


async def test_traffic_pinned_to_an_older_revision_is_explained_and_kept(
    fake: FakeAdmin, caplog: pytest.LogCaptureFixture
) -> None:
    pinned = service()
    pinned["latestCreatedRevision"] = (
        f"{SERVICE}/revisions/bayit-plus-backend-00003-gcl"  # gcloud --no-traffic
    )
    fake.on("GET", V2, (200, pinned), (200, deployed()))
    fake.on("PATCH", V2, (200, done(deployed())))
    fake.on("GET", f"{V2}/revisions", (200, {"revisions": [revision(NEW)]}))
    await platform(fake).deploy(RevisionSpec(NEW))
    assert "traffic is pinned to bayit-plus-backend-00001-abc" in caplog.text
    assert "bayit-plus-backend-00003-gcl was created outside keel" in caplog.text
    (_, _, body), = fake.calls("PATCH")  # fmt: skip
    assert {t["revision"]: t.get("percent", 0) for t in body["traffic"]} == {
        "bayit-plus-backend-00001-abc": 100,
        NEW: 0,
    }


async def test_an_unreachable_endpoint_is_an_error_naming_the_service_and_the_call() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    config = CloudRunConfig(platform="cloudrun", project="p", region="r", service="svc",
                            api_endpoint=f"127.0.0.1:{port}")  # fmt: skip
    with pytest.raises(CloudRunError, match=r"Cloud Run service svc \(p/r\): get service: ConnectionError"):
        await CloudRunPlatform(config).traffic()


async def test_a_retried_deploy_whose_first_update_went_through_is_not_sent_twice(fake: FakeAdmin) -> None:
    # The first PATCH reached Cloud Run but its answer was a 503; the re-read shows the revision tagged.
    fake.on("GET", V2, (200, service()), (200, deployed()))
    fake.on("PATCH", V2, error(503, "UNAVAILABLE", "The service is currently unavailable."))
    fake.on("GET", f"{V2}/revisions", (200, {"revisions": [revision(NEW)]}))
    rev = await platform(fake).deploy(RevisionSpec(NEW))
    assert rev.name == NEW and rev.state is RevisionState.RUNNING
    assert len(fake.calls("PATCH")) == 1


async def test_a_revision_value_for_a_secret_variable_is_refused_before_any_call(fake: FakeAdmin) -> None:
    p = platform(fake, secrets={"SECRET_KEY": "bayit-secret-key:latest"})
    with pytest.raises(
        CloudRunError, match=r"SECRET_KEY: set for this revision but keel\.yaml takes it from"
    ):
        await p.deploy(RevisionSpec(NEW, env={"SECRET_KEY": "plain-value"}))
    assert fake.requests == []
