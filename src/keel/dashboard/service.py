"""What the service says about itself now: readiness (its health endpoint), each dependency's status and
latency, and its answers by route and status (its Prometheus exposition)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# keel.health's gauge: 1 healthy, 0.5 degraded, 0 unhealthy, -1 disabled (not configured, declared optional)
_STATUS_OF_GAUGE = {1.0: "healthy", 0.5: "degraded", 0.0: "unhealthy", -1.0: "not configured"}
MAX_ROUTES = 50  # rows of the errors-by-route table (the service labels by route template: bounded anyway)


@dataclass(frozen=True)
class Dependency:
    name: str
    status: str  # healthy, degraded, unhealthy, not configured, unknown
    latency_ms: float | None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "latency_ms": self.latency_ms}


@dataclass(frozen=True)
class Exposition:
    """The parts of a /metrics scrape the dashboard shows."""

    dependencies: tuple[Dependency, ...]
    answers: Mapping[tuple[str, str, str], float]  # (method, route, status) -> requests since start


def parse_exposition(
    text: str, requests_metric: str = "http_requests_total", status_label: str = "status"
) -> Exposition:
    from prometheus_client.parser import text_string_to_metric_families

    status: dict[str, float] = {}
    latency: dict[str, float] = {}
    answers: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "health_check_status":
                status[s.labels.get("check", "")] = s.value
            elif s.name == "health_check_latency_seconds":
                latency[s.labels.get("check", "")] = s.value
            elif s.name == requests_metric:
                key = (s.labels.get("method", ""), s.labels.get("route", ""), s.labels.get(status_label, ""))
                answers[key] = answers.get(key, 0.0) + s.value
    deps = tuple(
        Dependency(
            name,
            _STATUS_OF_GAUGE.get(value, "unknown"),
            None if value == -1.0 or name not in latency else round(latency[name] * 1000.0, 3),
        )
        for name, value in sorted(status.items())
    )
    return Exposition(deps, answers)


def merge(expositions: Sequence[Exposition]) -> Exposition:
    """Several revisions' scrapes as one service: answers add up; a dependency shows its worst status."""
    rank = {"unhealthy": 4, "degraded": 3, "unknown": 2, "healthy": 1, "not configured": 0}
    deps: dict[str, Dependency] = {}
    answers: dict[tuple[str, str, str], float] = {}
    for e in expositions:
        for d in e.dependencies:
            if d.name not in deps or rank[d.status] > rank[deps[d.name].status]:
                deps[d.name] = d
        for key, n in e.answers.items():
            answers[key] = answers.get(key, 0.0) + n
    return Exposition(tuple(deps[n] for n in sorted(deps)), answers)


def errors_by_route(answers: Mapping[tuple[str, str, str], float]) -> dict[str, Any]:
    """Answers of status >= 400 by route and by status, the totals, and the 5xx and error shares."""
    total = sum(answers.values())
    routes: dict[tuple[str, str], dict[str, float]] = {}
    statuses: dict[str, float] = {}
    errors = fivexx = 0.0
    for (method, route, status), n in answers.items():
        if not status[:1].isdigit() or int(status[:1]) < 4:
            continue
        errors += n
        if status.startswith("5"):
            fivexx += n
        statuses[status] = statuses.get(status, 0.0) + n
        row = routes.setdefault((method, route), {})
        row[status] = row.get(status, 0.0) + n
    rows = sorted(routes.items(), key=lambda item: (-sum(item[1].values()), item[0]))[:MAX_ROUTES]
    return {
        "requests": total,
        "errors": errors,
        "errors_5xx": fivexx,
        "rate_4xx_5xx": round(errors / total, 6) if total else None,
        "rate_5xx": round(fivexx / total, 6) if total else None,
        "by_status": {k: statuses[k] for k in sorted(statuses)},
        "by_route": [
            {"method": m, "route": r, "errors": sum(c.values()), "statuses": dict(sorted(c.items()))}
            for (m, r), c in rows
        ],
    }


async def readiness(url: str, limit: float) -> dict[str, Any]:
    """GET the readiness path: its status, the checks it lists and how long it took."""
    import httpx

    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=limit) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        return {
            "url": url,
            "ready": None,
            "status": "unreachable",
            "detail": type(exc).__name__,
            "latency_ms": None,
        }
    latency = round((time.perf_counter() - started) * 1000.0, 3)
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        body = None
    checks = body.get("checks", {}) if isinstance(body, dict) else {}
    return {
        "url": url,
        "ready": response.status_code < 500,
        "status": str(body.get("status", response.status_code))
        if isinstance(body, dict)
        else str(response.status_code),
        "http_status": response.status_code,
        "checks": {str(k): ("not configured" if v == "disabled" else str(v)) for k, v in checks.items()}
        if isinstance(checks, dict)
        else {},
        "latency_ms": latency,
    }


async def scrape(urls: Sequence[str], limit: float) -> tuple[Exposition, list[str]]:
    """Each URL's /metrics, merged; and the URLs that could not be read."""
    import httpx

    found: list[Exposition] = []
    failed: list[str] = []
    async with httpx.AsyncClient(timeout=limit) as client:
        for url in urls:
            try:
                response = await client.get(url.rstrip("/") + "/metrics")
                response.raise_for_status()
                found.append(parse_exposition(response.text))
            except (httpx.HTTPError, ValueError):
                failed.append(url)
    return merge(found), failed


class HttpProbe:
    """The service through HTTP: readiness at ``ready_url`` (as users reach it) and the /metrics of each URL
    ``targets()`` returns (the revisions serving traffic)."""

    def __init__(
        self, ready_url: str, targets: Callable[[], Awaitable[list[str]]], timeout: float = 3.0
    ) -> None:
        self.ready_url = ready_url
        self.targets = targets
        self.timeout = timeout
        self._last: tuple[float, tuple[Exposition, list[str], list[str]]] | None = None

    async def _scrape(self) -> tuple[Exposition, list[str], list[str]]:
        """The serving revisions' /metrics; one scrape serves the page's two panels (reused for a second)."""
        now = time.monotonic()
        if self._last is not None and now - self._last[0] < 1.0:
            return self._last[1]
        found = await self._scrape_now()
        self._last = (time.monotonic(), found)
        return found

    async def _scrape_now(self) -> tuple[Exposition, list[str], list[str]]:
        from keel.errors import KeelError

        try:
            urls = await self.targets()
        except KeelError:
            return Exposition((), {}), [], []
        found, failed = await scrape(urls, self.timeout)
        return found, urls, failed

    async def health(self) -> dict[str, Any]:
        ready = await readiness(self.ready_url, self.timeout)
        exposition, urls, failed = await self._scrape()
        deps = {d.name: d for d in exposition.dependencies}
        for name, status in ready.get("checks", {}).items():  # readiness just ran them: its status is fresher
            latency = deps[name].latency_ms if name in deps and status != "not configured" else None
            deps[name] = Dependency(name, status, latency)
        return {
            "readiness": ready,
            "dependencies": [deps[n].to_json() for n in sorted(deps)],
            "scraped": urls,
            "unreadable": failed,
        }

    async def errors(self) -> dict[str, Any]:
        exposition, urls, failed = await self._scrape()
        return {"since": "the serving revisions started", "scraped": urls, "unreadable": failed,
                **errors_by_route(exposition.answers)}  # fmt: skip
