"""Provider checks against loopback servers that answer like each provider's documented endpoint."""

from __future__ import annotations

import time

import httpx
import pytest

from keel.health.base import Outcome, Status
from keel.health.checks import AnthropicCheck, ElevenLabsCheck, OpenAICheck, PineconeCheck
from keel.health.checks.providers import ProviderCheck
from keel.health.registry import Health, HealthConfig
from tests.keel.health.servers import PROVIDERS, ProviderStub, serve, silent_listener

KEYS = {
    "openai": "sk-proj-PlantedOpenAIKey0000000001",
    "elevenlabs": "xi-PlantedElevenLabsKey000002",
    "anthropic": "sk-ant-PlantedAnthropicKey0000003",
    "pinecone": "pcsk_PlantedPineconeKey000004",
}
CLASSES: dict[str, type[ProviderCheck]] = {
    "openai": OpenAICheck,
    "elevenlabs": ElevenLabsCheck,
    "anthropic": AnthropicCheck,
    "pinecone": PineconeCheck,
}


def make(provider: str, url: str, key: str | None = None) -> ProviderCheck:
    return CLASSES[provider](key or KEYS[provider], base_url=url)


def test_defaults_point_at_the_public_apis_and_never_run_on_readiness() -> None:
    assert OpenAICheck("k").base_url == "https://api.openai.com"
    assert ElevenLabsCheck("k").base_url == "https://api.elevenlabs.io"
    assert AnthropicCheck("k").base_url == "https://api.anthropic.com"
    assert PineconeCheck("k").base_url == "https://api.pinecone.io"
    assert all(not cls("k").readiness_allowed for cls in CLASSES.values())
    assert OpenAICheck("k").name == "openai"
    assert OpenAICheck("k", name="llm").name == "llm"


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
async def test_documented_endpoint_with_the_right_key_is_healthy(provider: str) -> None:
    stub = ProviderStub(provider, KEYS[provider])
    async with serve(stub) as url:
        check = make(provider, url)
        observation = await check.probe()
        await check.aclose()
        await check.aclose()
    assert observation.outcome is Outcome.OK
    assert len(stub.requests) == 1
    assert stub.requests[0][":path"] == PROVIDERS[provider]["path"]
    if provider == "anthropic":
        assert stub.requests[0]["anthropic-version"] == "2023-06-01"


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
@pytest.mark.parametrize(
    ("forced", "status", "message"),
    [
        (None, Status.DEGRADED, "credentials rejected (HTTP 401): configuration fault"),
        (403, Status.DEGRADED, "credentials rejected (HTTP 403): configuration fault"),
        (429, Status.DEGRADED, "rate limited (HTTP 429)"),
        (500, Status.DEGRADED, "unexpected HTTP 500"),
    ],
)
async def test_failures_are_classified_and_never_show_the_key(
    provider: str, forced: int | None, status: Status, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    stub = ProviderStub(provider, "the-real-key-the-server-expects", status=forced)
    async with serve(stub) as url:
        health = Health(HealthConfig(app="svc")).add(make(provider, url))
        report = await health.deep()
        await health.stop()
    result = report.results[0]
    assert (result.status, result.message) == (status, message)
    assert report.http_status == 200  # optional
    assert KEYS[provider] not in result.message
    assert all(KEYS[provider] not in m for m in caplog.messages)


async def test_429_only_degrades_even_a_critical_check() -> None:
    async with serve(ProviderStub("openai", KEYS["openai"], status=429)) as url:
        report = await Health().add(make("openai", url), critical=True).deep()
    assert (report.status, report.http_status) == (Status.DEGRADED, 200)


async def test_a_provider_that_never_answers_times_out_within_the_check_timeout() -> None:
    async with silent_listener() as port:
        health = Health().add(make("openai", f"http://127.0.0.1:{port}"), timeout=0.3)
        started = time.monotonic()
        report = await health.deep()
        elapsed = time.monotonic() - started
        await health.stop()
    assert elapsed < 2
    assert report.results[0].message == "timed out after 0.3 s"


async def test_pinecone_requires_the_named_index() -> None:
    async with serve(ProviderStub("pinecone", KEYS["pinecone"])) as url:
        present = await PineconeCheck(KEYS["pinecone"], base_url=url, index_name="bayit-content").probe()
        missing = await PineconeCheck(KEYS["pinecone"], base_url=url, index_name="other").probe()
    assert (present.outcome, present.message) == (Outcome.OK, "index 'bayit-content' listed")
    assert (missing.outcome, missing.message) == (Outcome.MISCONFIGURED, "index 'other' not found")


async def test_pinecone_rejects_an_undocumented_body() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=["not", "an", "object"]))
    check = PineconeCheck("k", base_url="http://pinecone.test", index_name="x", transport=transport)
    observation = await check.probe()
    assert (observation.outcome, observation.message) == (
        Outcome.FAILED,
        "index list response is not the documented JSON",
    )
