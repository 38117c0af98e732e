"""The REST wire of the Cloud Monitoring source: ``GET /v3/projects/{project}/timeSeries`` with Application
Default Credentials, read into the same ``ListTimeSeriesResponse`` messages the gRPC client returns."""

from __future__ import annotations

import functools
import json
import threading
from typing import Any

import httpx

from keel.analysis.errors import AnalysisError
from keel.analysis.sources.cloudmonitoring_config import CloudMonitoringSpec
from keel.tls import tls_context

DEFAULT_ENDPOINT = "https://monitoring.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/monitoring.read"


def base_url(api_endpoint: str | None) -> str:
    """``api_endpoint`` as a URL: none is Google's endpoint, ``host[:port]`` is HTTPS, a URL is kept."""
    if not api_endpoint:
        return DEFAULT_ENDPOINT
    if "://" in api_endpoint:
        return api_endpoint.rstrip("/")
    return "https://" + api_endpoint.rstrip("/")


def query_params(request: Any) -> tuple[tuple[str, str], ...]:
    """A ``ListTimeSeriesRequest`` as the REST method's query parameters (the name goes in the path)."""
    pb = type(request).pb(request)
    aggregation = request.aggregation
    return (
        ("filter", request.filter),
        ("interval.startTime", pb.interval.start_time.ToJsonString()),
        ("interval.endTime", pb.interval.end_time.ToJsonString()),
        ("aggregation.alignmentPeriod", pb.aggregation.alignment_period.ToJsonString()),
        ("aggregation.perSeriesAligner", aggregation.per_series_aligner.name),
        ("aggregation.crossSeriesReducer", aggregation.cross_series_reducer.name),
        *(("aggregation.groupByFields", f) for f in aggregation.group_by_fields),
        ("view", request.view.name),
    )


class RestMonitoring:
    """``list_time_series`` over HTTP, following ``nextPageToken``. Blocking: the source calls it off the
    event loop. ``credentials`` (a google.auth Credentials) defaults to Application Default Credentials."""

    def __init__(self, settings: CloudMonitoringSpec, *, credentials: Any = None) -> None:
        self._settings = settings
        self._base = base_url(settings.api_endpoint)
        self._credentials = credentials
        self._auth_request: Any = None
        self._lock = threading.Lock()  # credentials refresh in place; windows are read from several threads

    def _authorization(self, url: str, where: str) -> dict[str, str]:
        import google.auth
        from google.auth import exceptions as auth_exceptions
        from google.auth.transport.requests import Request

        headers: dict[str, str] = {}
        with self._lock:
            try:
                if self._credentials is None and self._settings.anonymous:
                    from google.auth.credentials import AnonymousCredentials

                    self._credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
                if self._credentials is None:
                    self._credentials, _ = google.auth.default(scopes=[SCOPE])
                if self._auth_request is None:
                    self._auth_request = Request()
                # google-auth's token refresh would otherwise wait up to 120 s
                request = functools.partial(self._auth_request, timeout=self._settings.timeout)
                self._credentials.before_request(request, "GET", url, headers)
            except auth_exceptions.DefaultCredentialsError as exc:
                raise AnalysisError(f"{where}: no Application Default Credentials: {exc}") from exc
            except auth_exceptions.GoogleAuthError as exc:
                raise AnalysisError(f"{where}: cannot get an access token: {exc.__class__.__name__}") from exc
        return headers

    def list_time_series(self, request: Any, where: str) -> list[Any]:
        from google.cloud import monitoring_v3

        url = f"{self._base}/v3/{request.name}/timeSeries"
        params = query_params(request)
        series: list[Any] = []
        token = ""
        seen: set[str] = set()
        with httpx.Client(timeout=self._settings.timeout, verify=tls_context()) as http:
            while True:
                headers = self._authorization(url, where)
                page_params = (*params, ("pageToken", token)) if token else params
                try:
                    response = http.get(url, params=page_params, headers=headers)
                except httpx.TimeoutException as exc:
                    raise AnalysisError(
                        f"{where}: no answer from {self._base} within {self._settings.timeout:g}s"
                    ) from exc
                except httpx.HTTPError as exc:
                    raise AnalysisError(
                        f"{where}: cannot reach {self._base}: {exc.__class__.__name__}"
                    ) from exc
                secret = headers.get("authorization", headers.get("Authorization", "")).partition(" ")[2]
                if response.status_code != 200:
                    raise AnalysisError(
                        f"{where}: HTTP {response.status_code} {_api_error(response, secret)}"
                    )
                try:
                    page = monitoring_v3.ListTimeSeriesResponse.from_json(
                        response.text, ignore_unknown_fields=True
                    )
                except Exception as exc:  # json_format.ParseError: not JSON, or not a ListTimeSeriesResponse
                    kind = response.headers.get("content-type", "no content type")
                    raise AnalysisError(
                        f"{where}: unreadable answer ({kind}): {_short(str(exc), secret)}"
                    ) from exc
                series.extend(page.time_series)
                token = page.next_page_token
                if not token:
                    return series
                if token in seen:
                    raise AnalysisError(f"{where}: the API sent page token {token!r} twice")
                seen.add(token)


def _short(text: str, secret: str) -> str:
    """At most 300 characters, with the bearer token blanked should an error echo it."""
    if secret:
        text = text.replace(secret, "<token>")
    return text if len(text) <= 300 else text[:297] + "..."


def _api_error(response: httpx.Response, secret: str) -> str:
    """Google's JSON error ``{"error": {"code", "message", "status"}}`` as ``STATUS: message``."""
    try:
        error = json.loads(response.text).get("error")
    except (ValueError, AttributeError):
        error = None
    if not isinstance(error, dict):
        return f"(not a Google API error; {response.headers.get('content-type', 'no content type')})"
    return f"{error.get('status', 'UNKNOWN')}: {_short(str(error.get('message', '')), secret)}"
