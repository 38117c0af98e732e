"""Login roles of a database secret on PostgreSQL: created as members of the group role that holds the
privileges, revoked (NOLOGIN, sessions ended) once the new one serves, dropped when a rotation rolls back."""

from __future__ import annotations

import os
from typing import Any

from keel.secrets.config import SecretItem
from keel.secrets.errors import SecretsError


class PostgresCredentials:
    """Uses the admin URL from the variable ``item.admin_env`` (a role with CREATEROLE)."""

    def __init__(self, item: SecretItem, environ: dict[str, str] | None = None) -> None:
        assert item.admin_env is not None and item.role is not None
        url = (environ if environ is not None else dict(os.environ)).get(item.admin_env, "")
        if not url:
            raise SecretsError(f"{item.admin_env} is not set: the database rotation needs an admin URL there")
        self._url = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self.group = item.role

    def _run(self, what: str, *statements: Any) -> None:
        import psycopg

        try:
            with psycopg.connect(self._url, autocommit=True, connect_timeout=10) as conn:
                for statement in statements:
                    conn.execute(statement)
        except psycopg.Error as exc:
            # the server's primary message names roles, never passwords; the statement itself is not shown
            primary = getattr(getattr(exc, "diag", None), "message_primary", None) or type(exc).__name__
            raise SecretsError(f"PostgreSQL: {what}: {primary}") from None

    def create(self, role: str, password: str) -> None:
        from psycopg import sql

        exists = self._exists(role)
        verb = "ALTER ROLE {} WITH LOGIN PASSWORD {}" if exists else "CREATE ROLE {} WITH LOGIN PASSWORD {}"
        statements: list[Any] = [sql.SQL(verb).format(sql.Identifier(role), sql.Literal(password))]
        statements.append(sql.SQL("GRANT {} TO {}").format(sql.Identifier(self.group), sql.Identifier(role)))
        self._run(f"create login role {role} in {self.group}", *statements)

    def _exists(self, role: str) -> bool:
        import psycopg

        try:
            with psycopg.connect(self._url, autocommit=True, connect_timeout=10) as conn:
                return (
                    conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None
                )
        except psycopg.Error as exc:
            raise SecretsError(f"PostgreSQL: look up role {role}: {type(exc).__name__}") from None

    def revoke(self, role: str) -> None:
        from psycopg import sql

        self._run(
            f"revoke login role {role}",
            sql.SQL("ALTER ROLE {} WITH NOLOGIN").format(sql.Identifier(role)),
            sql.SQL("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = {}").format(
                sql.Literal(role)
            ),
        )

    def drop(self, role: str) -> None:
        from psycopg import sql

        if not self._exists(role):
            return
        ident = sql.Identifier(role)
        self._run(
            f"drop login role {role}",
            sql.SQL("ALTER ROLE {} WITH NOLOGIN").format(ident),
            sql.SQL("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = {}").format(
                sql.Literal(role)
            ),
            sql.SQL("REASSIGN OWNED BY {} TO {}").format(ident, sql.Identifier(self.group)),
            sql.SQL("DROP OWNED BY {}").format(ident),
            sql.SQL("DROP ROLE {}").format(ident),
        )
