from __future__ import annotations

import pytest

from keel.health import base
from keel.health.base import BaseCheck, Check, Status, create, kinds, register
from keel.health.checks import RedisCheck, TcpCheck
from keel.health.errors import HealthConfigError


def test_kinds_lists_every_shipped_check() -> None:
    assert kinds() == (
        "anthropic",
        "elevenlabs",
        "gcs",
        "http",
        "mongodb",
        "not_configured",
        "openai",
        "pinecone",
        "redis",
        "sentry",
        "sql",
        "tcp",
    )


def test_create_builds_a_check_by_kind() -> None:
    check = create("tcp", host="127.0.0.1", port=5, name="socket")
    assert isinstance(check, TcpCheck)
    assert isinstance(check, Check)
    assert check.name == "socket"
    assert isinstance(create("redis", url="redis://127.0.0.1:1/0"), RedisCheck)


def test_create_refuses_unknown_kinds_naming_the_known_ones() -> None:
    with pytest.raises(
        HealthConfigError, match=r"unknown health check kind 'cassandra'; known kinds: .*redis"
    ):
        create("cassandra")


def test_create_refuses_bad_options() -> None:
    with pytest.raises(HealthConfigError, match="health check kind 'tcp': invalid options"):
        create("tcp", hostname="x")


def test_register_refuses_a_kind_twice() -> None:
    with pytest.raises(HealthConfigError, match="registered twice"):

        @register("tcp")
        class Again(BaseCheck):
            pass


def test_register_sets_the_kind_and_adds_to_the_registry() -> None:
    @register("test-only-kind")
    class Custom(BaseCheck):
        def __init__(self, name: str = "custom") -> None:
            self.name = name

    try:
        assert Custom.kind == "test-only-kind"
        made = create("test-only-kind", name="mine")
        assert isinstance(made, Custom)
        assert made.name == "mine"
        assert list(made.secrets()) == []
    finally:
        del base._REGISTRY["test-only-kind"]


async def test_base_check_defaults() -> None:
    check = BaseCheck()
    assert check.readiness_allowed is True
    assert check.component_type == "component"
    assert await check.aclose() is None


def test_status_ranks_disabled_like_healthy() -> None:
    assert Status.HEALTHY.rank == Status.DISABLED.rank < Status.DEGRADED.rank < Status.UNHEALTHY.rank
