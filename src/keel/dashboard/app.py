"""The dashboard's Starlette app: the HTML page, one deployment's page, the JSON API and the stylesheet."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from importlib.resources import files
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from keel.dashboard import render
from keel.dashboard.api import PARAMETERS, BadParameter, Dashboard, UnreadableRecord, parameter, rollout_id

Handler = Callable[[Request], Awaitable[Response]]

API_INDEX = {
    "schema": "keel.dashboard/v1",
    "endpoints": {
        "/api/v1/health": "readiness, each dependency's status and latency",
        "/api/v1/performance?minutes=&points=": "request rate, error rate, p50/p95/p99 over time, targets, errors by route",
        "/api/v1/slos?minutes=&points=": "attainment, error budget left, burn rate over time",
        "/api/v1/deployments?days=&limit=&offset=": "a page of the release timeline with outcomes and deciding verdicts",
        "/api/v1/deployments/{rollout}": "one release's report (keel.rollout/v1)",
        "/api/v1/traffic?rollout=": "the traffic split over time of a deploy (default: the newest)",
        "/api/v1/dora?days=": "DORA and deployment metrics with their definitions (keel.dora/v1)",
    },
    "parameters": {k: {"default": v.default, "min": v.low, "max": v.high} for k, v in PARAMETERS.items()},
}


def _error(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=status)
    return HTMLResponse(f"<!doctype html><title>error</title><p>{render._e(message)}</p>", status_code=status)


def _guarded(handler: Handler) -> Handler:
    """Bad input is a 400 naming the parameter (never a 500)."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except BadParameter as exc:
            return _error(request, 400, str(exc))
        except UnreadableRecord as exc:  # the store's fault, not the request's: said, with the release named
            return _error(request, 500, str(exc))

    return run


def create_app(dashboard: Dashboard) -> Starlette:
    css = files("keel.dashboard").joinpath("static/dashboard.css").read_bytes()

    async def index(request: Request) -> Response:
        q = request.query_params
        days, minutes, points = parameter(q, "days"), parameter(q, "minutes"), parameter(q, "points")
        limit, offset, refresh = parameter(q, "limit"), parameter(q, "offset"), parameter(q, "refresh")
        health, (perf, slos) = await asyncio.gather(
            dashboard.health(), dashboard.performance_and_slos(minutes, points)
        )
        base = urlencode({"days": days, "minutes": minutes, "refresh": refresh, "limit": limit}).replace(
            "&", "&amp;"
        )
        panels = {
            "health": render.health_panel(health),
            "performance": render.performance_panel(perf),
            "slos": render.slo_panel(slos),
            "deployments": render.deployments_panel(dashboard.deployments(days, limit, offset), base),
            "traffic": render.traffic_panel(dashboard.traffic(None)),
            "dora": render.dora_panel(dashboard.dora(days)),
        }
        controls = {"days": days, "minutes": minutes, "refresh": refresh}
        return HTMLResponse(render.page(dashboard.meta(), panels, controls, refresh))

    async def deployment_page(request: Request) -> Response:
        report = dashboard.deployment(rollout_id(request.path_params["rollout"]))
        if report is None:
            return HTMLResponse(
                "<!doctype html><title>not found</title><p>no such release</p>", status_code=404
            )
        return HTMLResponse(render.deployment_page(report))

    async def api_index(request: Request) -> Response:
        return JSONResponse({**API_INDEX, **dashboard.meta()})

    async def api_health(request: Request) -> Response:
        return JSONResponse(await dashboard.health())

    async def api_performance(request: Request) -> Response:
        q = request.query_params
        return JSONResponse(await dashboard.performance(parameter(q, "minutes"), parameter(q, "points")))

    async def api_slos(request: Request) -> Response:
        q = request.query_params
        return JSONResponse(await dashboard.slos(parameter(q, "minutes"), parameter(q, "points")))

    async def api_deployments(request: Request) -> Response:
        q = request.query_params
        data = dashboard.deployments(parameter(q, "days"), parameter(q, "limit"), parameter(q, "offset"))
        return JSONResponse(data)

    async def api_deployment(request: Request) -> Response:
        report = dashboard.deployment(rollout_id(request.path_params["rollout"]))
        if report is None:
            return JSONResponse({"error": "no such release in this service and environment"}, status_code=404)
        return JSONResponse(report)

    async def api_traffic(request: Request) -> Response:
        raw = request.query_params.get("rollout")
        return JSONResponse(dashboard.traffic(rollout_id(raw) if raw else None))

    async def api_dora(request: Request) -> Response:
        return JSONResponse(dashboard.dora(parameter(request.query_params, "days")))

    async def stylesheet(request: Request) -> Response:
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=300"})

    routes: list[tuple[str, Handler]] = [
        ("/", index),
        ("/deployments/{rollout}", deployment_page),
        ("/api/v1", api_index),
        ("/api/v1/health", api_health),
        ("/api/v1/performance", api_performance),
        ("/api/v1/slos", api_slos),
        ("/api/v1/deployments", api_deployments),
        ("/api/v1/deployments/{rollout}", api_deployment),
        ("/api/v1/traffic", api_traffic),
        ("/api/v1/dora", api_dora),
        ("/static/dashboard.css", stylesheet),
    ]
    return Starlette(routes=[Route(path, _guarded(handler)) for path, handler in routes])
