"""Login brute-force protection: per-address and per-account backoff, capped, bounded, with 429 + Retry-After,
and the owner's own address still signing in during a distributed attack."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from bayit.ratelimit import LoginGuard, LoginPolicy
from tests.bayit.conftest import register_and_login


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_backs_off_exponentially_up_to_the_cap() -> None:
    clock = Clock()
    guard = LoginGuard(
        LoginPolicy(address_free_failures=3, account_free_failures=100, address_max_delay=60), clock
    )
    for _ in range(2):
        guard.failed("a@example.com", "1.1.1.1")
        assert guard.retry_after("a@example.com", "1.1.1.1") is None
    waits = []
    for _ in range(9):
        guard.failed("a@example.com", "1.1.1.1")
        waits.append(guard.retry_after("a@example.com", "1.1.1.1"))
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert guard.retry_after("b@example.com", "1.1.1.1") == 60  # the address, whatever account it tries
    assert guard.retry_after("a@example.com", "2.2.2.2") is None  # the account is under its own limit
    clock.now += 60
    assert guard.retry_after("a@example.com", "1.1.1.1") is None  # the cap is a real bound


def test_failures_are_forgotten_and_success_clears() -> None:
    clock = Clock()
    guard = LoginGuard(LoginPolicy(address_free_failures=2, forget_after=100), clock)
    guard.failed("a@example.com", "1.1.1.1")
    guard.failed("a@example.com", "1.1.1.1")
    assert guard.retry_after("a@example.com", "1.1.1.1") == 1
    clock.now += 101
    assert guard.retry_after("a@example.com", "1.1.1.1") is None
    guard.failed("a@example.com", "1.1.1.1")
    assert guard.retry_after("a@example.com", "1.1.1.1") is None  # counting starts over after forgetting
    guard.succeeded("a@example.com", "1.1.1.1")
    guard.failed("a@example.com", "1.1.1.1")
    assert guard.retry_after("a@example.com", "1.1.1.1") is None


def test_a_distributed_attack_locks_strangers_out_but_not_the_owners_address() -> None:
    clock = Clock()
    policy = LoginPolicy(address_free_failures=3, account_free_failures=5, account_max_delay=30)
    guard = LoginGuard(policy, clock)
    guard.succeeded("owner@example.com", "10.0.0.1")  # the owner signed in from home before
    for i in range(20):  # one guess from each of 20 addresses: none reaches its own address limit
        guard.failed("owner@example.com", f"203.0.113.{i}")
    assert guard.retry_after("owner@example.com", "203.0.113.99") == 30  # capped: never locked for long
    assert guard.retry_after("owner@example.com", "10.0.0.1") is None
    clock.now += 30
    assert guard.retry_after("owner@example.com", "203.0.113.99") is None


def test_memory_is_bounded() -> None:
    guard = LoginGuard(LoginPolicy(max_entries=100))
    for i in range(5000):
        guard.failed(f"user{i}@example.com", f"198.51.{i // 256}.{i % 256}")
        guard.succeeded(f"other{i}@example.com", "192.0.2.1")
    assert len(guard.addresses) <= 100 and len(guard.accounts) <= 100 and len(guard._trusted) <= 100


def client_from(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://bayit.test")


async def test_login_answers_429_with_retry_after(app: FastAPI, client: httpx.AsyncClient) -> None:
    await register_and_login(client, "dana@example.com")  # from 127.0.0.1, which becomes a trusted address
    wrong = {"email": "dana@example.com", "password": "wrong password"}
    right = {"email": "dana@example.com", "password": "correct horse battery"}
    async with client_from(app, "203.0.113.7") as attacker:
        codes = [(await attacker.post("/api/v1/auth/login", json=wrong)).status_code for _ in range(5)]
        assert codes == [401] * 5
        blocked = await attacker.post("/api/v1/auth/login", json=right)  # even the right password waits
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) >= 1
        assert blocked.json()["error"]["code"] == "too_many_requests"
        assert blocked.json()["correlation_id"] == blocked.headers["x-correlation-id"]
    # other addresses, the owner's among them, are not held back by one attacker's failures
    async with client_from(app, "198.51.100.2") as elsewhere:
        assert (await elsewhere.post("/api/v1/auth/login", json=right)).status_code == 200
    assert (await client.post("/api/v1/auth/login", json=right)).status_code == 200


async def test_a_distributed_guess_does_not_lock_the_owner_out(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await register_and_login(client, "dana@example.com")
    wrong = {"email": "dana@example.com", "password": "wrong password"}
    right = {"email": "dana@example.com", "password": "correct horse battery"}
    for i in range(12):
        async with client_from(app, f"203.0.113.{i}") as attacker:
            await attacker.post("/api/v1/auth/login", json=wrong)
    async with client_from(app, "203.0.113.200") as stranger:
        assert (await stranger.post("/api/v1/auth/login", json=right)).status_code == 429
    assert (await client.post("/api/v1/auth/login", json=right)).status_code == 200  # the owner's address
