from __future__ import annotations

import pytest

import keel.health
from keel.health.base import CHECKS, BaseCheck, Check, Status, create, kinds
from keel.health.checks import RedisCheck, TcpCheck
from keel.health.checks.clients import require
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
        HealthConfigError, match=r"unknown health check kind 'cassandra' \(known: anthropic, .*redis, .*tcp\)"
    ):
        create("cassandra")


def test_create_refuses_bad_options() -> None:
    with pytest.raises(HealthConfigError, match="health check kind 'tcp': invalid options"):
        create("tcp", hostname="x")


@pytest.mark.parametrize("kind", CHECKS.names)
def test_every_registered_kind_names_a_check_class_that_carries_it(kind: str) -> None:
    cls = CHECKS.load(kind)
    assert issubclass(cls, BaseCheck)
    assert cls.kind == kind
    assert getattr(keel.health, cls.__name__) is cls  # exported from keel.health under its class name


def test_a_check_whose_client_library_is_missing_is_refused_naming_the_extra() -> None:
    with pytest.raises(
        HealthConfigError,
        match=r"the cassandra health check needs the Python package 'keel_no_such_client', which is not "
        r"installed: pip install 'keel\[cassandra\]'",
    ):
        require("keel_no_such_client", check="cassandra", extra="cassandra")
    require("yaml", check="any", extra="none")  # installed: no error


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="CassandraCheck"):
        _ = keel.health.CassandraCheck


async def test_base_check_defaults() -> None:
    check = BaseCheck()
    assert check.readiness_allowed is True
    assert check.component_type == "component"
    assert await check.aclose() is None


def test_status_ranks_disabled_like_healthy() -> None:
    assert Status.HEALTHY.rank == Status.DISABLED.rank < Status.DEGRADED.rank < Status.UNHEALTHY.rank
