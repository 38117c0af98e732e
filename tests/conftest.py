"""Suite-wide fixtures: a real PostgreSQL server, started once and handed out per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresServer, find_bindir


def _postgres_required() -> bool:
    return os.environ.get("KEEL_REQUIRE_POSTGRES", "") == "1" or os.environ.get("CI") == "true"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster for the whole session. In CI a missing server fails the run instead of skipping."""
    bindir = find_bindir()
    if bindir is None:
        if _postgres_required():
            pytest.fail("PostgreSQL binaries not found but KEEL_REQUIRE_POSTGRES=1 / CI=true")
        pytest.skip("PostgreSQL binaries not installed (install postgresql to run these tests)")
    server = PostgresServer(bindir)
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    return postgres_server.create_database(f"t_{uuid.uuid4().hex[:12]}")
