from __future__ import annotations

import pytest

from keel.health.base import Outcome, Status
from keel.health.checks import SentryConfigCheck
from keel.health.registry import Health

DSN = "https://0123456789abcdef0123456789abcdef@o12345.ingest.us.sentry.io/4507000000000000"


async def test_valid_dsn_and_rate() -> None:
    observation = await SentryConfigCheck(DSN, traces_sample_rate=0.2).probe()
    assert observation.outcome is Outcome.OK
    assert (await SentryConfigCheck(DSN).probe()).outcome is Outcome.OK


@pytest.mark.parametrize(
    "dsn", ["not a dsn", "https://o1.ingest.sentry.io/1", "ftp://k@o1.ingest.sentry.io/1"]
)
async def test_unparseable_dsn_is_a_configuration_fault_that_never_echoes_it(dsn: str) -> None:
    report = await Health().add(SentryConfigCheck(dsn)).deep()
    result = report.results[0]
    assert (result.status, result.message) == (Status.DEGRADED, "DSN is not parseable: configuration fault")


@pytest.mark.parametrize("rate", [-0.1, 1.5])
async def test_sample_rate_out_of_range(rate: float) -> None:
    observation = await SentryConfigCheck(DSN, traces_sample_rate=rate).probe()
    assert observation.outcome is Outcome.MISCONFIGURED
    assert "outside [0, 1]" in observation.message


def test_the_dsn_is_a_secret() -> None:
    assert DSN in set(SentryConfigCheck(DSN).secrets())
