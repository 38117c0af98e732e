"""The rotation's verification: the service's deep health over HTTP, retried, failing checks named."""

from __future__ import annotations

import asyncio

import httpx

from keel.secrets.release import HttpVerifier


def verifier(answers: list[httpx.Response | Exception], slept: list[float]) -> HttpVerifier:
    def handle(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    return HttpVerifier(attempts=3, pause=2.0, sleeper=sleep, transport=httpx.MockTransport(handle))


def test_healthy_after_a_retry() -> None:
    slept: list[float] = []
    check = verifier([httpx.Response(503, json={"status": "unhealthy"}), httpx.Response(200, json={})], slept)
    assert asyncio.run(check.verify("http://rev.invalid/health/deep")) == (True, "200")
    assert slept == [2.0]


def test_an_unhealthy_service_names_its_failing_checks_never_their_details() -> None:
    body = {"status": "unhealthy", "checks": {"database": "unhealthy", "redis": "healthy", "openai": "unhealthy"},
            "details": {"openai": "401: key sk-planted-123 rejected"}}  # fmt: skip
    check = verifier([httpx.Response(503, json=body)] * 3, [])
    ok, detail = asyncio.run(check.verify("http://rev.invalid/health/deep"))
    assert not ok and detail == "HTTP 503: failing database, openai"


def test_an_unreachable_service_fails() -> None:
    check = verifier([httpx.ConnectError("refused")] * 3, [])
    assert asyncio.run(check.verify("http://rev.invalid/health/deep")) == (
        False,
        "unreachable (ConnectError)",
    )
