"""Sentry configuration check: the DSN parses and the traces sample rate is in range (no network)."""

from __future__ import annotations

from collections.abc import Iterable

from keel.health.base import BaseCheck, Observation, Outcome
from keel.health.checks.clients import require
from keel.health.sanitize import url_secrets


class SentryConfigCheck(BaseCheck):
    """Validates what sentry-sdk would be initialised with; a bad DSN silently drops every error report."""

    kind = "sentry"

    def __init__(self, dsn: str, *, traces_sample_rate: float | None = None, name: str = "sentry") -> None:
        require("sentry_sdk", check="sentry", extra="sentry")
        self.name = name
        self.dsn = dsn
        self.traces_sample_rate = traces_sample_rate

    async def probe(self) -> Observation:
        from sentry_sdk.utils import BadDsn, Dsn

        try:
            Dsn(self.dsn)
        except (BadDsn, ValueError):
            return Observation(Outcome.MISCONFIGURED, "DSN is not parseable: configuration fault")
        rate = self.traces_sample_rate
        if rate is not None and not 0.0 <= rate <= 1.0:
            return Observation(
                Outcome.MISCONFIGURED, f"traces sample rate {rate:g} is outside [0, 1]: configuration fault"
            )
        return Observation(Outcome.OK, "DSN parseable, sample rate in range")

    def secrets(self) -> Iterable[str]:
        return url_secrets(self.dsn)
