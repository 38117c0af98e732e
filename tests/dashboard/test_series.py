"""Performance and SLO figures from summed router windows, against hand-computed values."""

from __future__ import annotations

import pytest

from keel.dashboard.series import TARGETS, performance, read_slices, slos
from keel.dashboard.service import errors_by_route, parse_exposition
from keel.slo.config import SloSpec
from tests.dashboard.fakes import FixedWindows


async def test_two_slices_hand_computed() -> None:
    slices = await read_slices(FixedWindows(middle=60.0), 0.0, 120.0, 2)
    data = performance(slices)
    first, second = data["points"]
    assert first["rps"] == pytest.approx(100 / 60) and first["error_rate"] == pytest.approx(0.01)
    assert second["rps"] == pytest.approx(50 / 60) and second["error_rate"] == 0.0
    assert data["summary"]["requests"] == 150 and data["summary"]["error_rate"] == pytest.approx(
        1 / 150, abs=1e-6
    )
    assert data["summary"]["meets"]["error_rate"] is True  # 0.67 % < 1 %
    assert data["targets"] == TARGETS
    (slo,) = slos(slices, {"availability": SloSpec(objective=99.9)})
    assert slo["attainment"] == pytest.approx(1 - 1 / 150, abs=1e-6)
    assert slo["budget_left"] == pytest.approx(1 - (1 / 150) / 0.001, abs=1e-4)  # overspent: negative
    assert [b["burn_rate"] for b in slo["burn"]] == [pytest.approx(10.0), 0.0]
    (latency,) = slos(slices, {"fast": SloSpec(objective=99.0, sli="latency", latency=0.5)})
    assert latency["bad"] == 1 and latency["attainment"] == pytest.approx(1 - 1 / 150, abs=1e-6)


def test_exposition_dependencies_and_errors_by_route() -> None:
    text = """# TYPE health_check_status gauge
health_check_status{check="database"} 1.0
health_check_status{check="sentry"} -1.0
health_check_status{check="redis"} 0.0
# TYPE health_check_latency_seconds gauge
health_check_latency_seconds{check="database"} 0.0025
health_check_latency_seconds{check="redis"} 1.5
# TYPE http_requests_total counter
http_requests_total{method="GET",route="/items",status="200"} 97.0
http_requests_total{method="GET",route="/items",status="500"} 1.0
http_requests_total{method="GET",route="/items/{id}",status="404"} 2.0
"""
    found = parse_exposition(text)
    assert [(d.name, d.status, d.latency_ms) for d in found.dependencies] == [
        ("database", "healthy", 2.5), ("redis", "unhealthy", 1500.0), ("sentry", "not configured", None),
    ]  # fmt: skip
    errors = errors_by_route(found.answers)
    assert errors["requests"] == 100 and errors["rate_5xx"] == 0.01 and errors["rate_4xx_5xx"] == 0.03
    assert errors["by_status"] == {"404": 2.0, "500": 1.0}
    assert [(r["route"], r["errors"]) for r in errors["by_route"]] == [("/items/{id}", 2.0), ("/items", 1.0)]
