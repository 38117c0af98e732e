"""A local HTTP server answering ``GET /v3/projects/{project}/timeSeries`` the way monitoring.googleapis.com
does (camelCase JSON, int64 as strings, Google's JSON errors, pages), and an OAuth token endpoint for
service-account credentials, from fake_monitoring's table of revisions."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from tests.keel.analysis.sources.fake_monitoring import Revision

REQUEST_COUNT = "run.googleapis.com/request_count"
REQUEST_LATENCIES = "run.googleapis.com/request_latencies"
KNOWN_PARAMS = {
    "filter",
    "interval.startTime",
    "interval.endTime",
    "aggregation.alignmentPeriod",
    "aggregation.perSeriesAligner",
    "aggregation.crossSeriesReducer",
    "aggregation.groupByFields",
    "view",
    "pageSize",
    "pageToken",
}
GROUP_FIELDS = {"metric.labels.response_code_class", "resource.labels.revision_name"}
SCOPE = "https://www.googleapis.com/auth/monitoring.read"


def _error(code: int, status: str, message: str) -> tuple[int, dict[str, Any]]:
    return code, {"error": {"code": code, "message": message, "status": status}}


def _time(value: str | None) -> datetime | None:
    if not value or not value.endswith("Z"):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@dataclass
class FakeMonitoringRest:
    data: dict[str, Revision] = field(default_factory=dict)
    project: str = "bayit-plus"
    token: str = "ya29.fake-access-token"
    page_size: int = 2  # time series per page
    fail_with: tuple[int, str, str] | None = None  # HTTP code, status, message
    raw: tuple[int, str, str] | None = None  # HTTP code, content type, body: answered as is
    hang: bool = False  # accept the request, never answer
    requests: list[list[tuple[str, str]]] = field(default_factory=list)  # query of each timeSeries call
    token_claims: list[dict[str, Any]] = field(default_factory=list)  # JWT claims of each token request
    url: str = ""
    _pages: dict[str, tuple[list[tuple[str, str]], int]] = field(default_factory=dict)
    released: threading.Event = field(default_factory=threading.Event)

    def list_time_series(self, path: str, query: list[tuple[str, str]], auth: str) -> tuple[int, Any]:
        match = re.fullmatch(r"/v3/projects/([^/]+)/timeSeries", path)
        if match is None:
            return _error(404, "NOT_FOUND", f"no method at {path}")
        self.requests.append(query)
        if auth != f"Bearer {self.token}":
            return _error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        if self.fail_with is not None:
            return _error(*self.fail_with)
        if match.group(1) != self.project:
            return _error(403, "PERMISSION_DENIED", "Permission monitoring.timeSeries.list denied.")
        unknown = {k for k, _ in query} - KNOWN_PARAMS
        if unknown:
            return _error(400, "INVALID_ARGUMENT", f"Cannot bind query parameter {sorted(unknown)}")
        params = {k: v for k, v in query if k != "aggregation.groupByFields"}
        group_by = [v for k, v in query if k == "aggregation.groupByFields"]
        problem = self._invalid(params, group_by)
        if problem:
            return _error(400, "INVALID_ARGUMENT", problem)
        metric = re.search(r'metric\.type = "([^"]*)"', params["filter"])
        revision = re.search(r'resource\.labels\.revision_name = "([^"]*)"', params["filter"])
        assert metric and revision  # _invalid checked
        series = self._series(metric.group(1), revision.group(1), group_by, params)
        rest = [(k, v) for k, v in query if k != "pageToken"]
        offset = 0
        if "pageToken" in params:
            page = self._pages.get(params["pageToken"])
            if page is None or page[0] != rest:
                return _error(400, "INVALID_ARGUMENT", "The pagination token is invalid for this request.")
            offset = page[1]
        body: dict[str, Any] = {}  # the API answers {} when nothing matches
        if series[offset : offset + self.page_size]:
            body["timeSeries"] = series[offset : offset + self.page_size]
            body["unit"] = "ms" if metric.group(1) == REQUEST_LATENCIES else "1"
        if offset + self.page_size < len(series):
            token = base64.urlsafe_b64encode(f"page {len(self._pages)}".encode()).decode()
            self._pages[token] = (rest, offset + self.page_size)
            body["nextPageToken"] = token
        return 200, body

    def _invalid(self, params: dict[str, str], group_by: list[str]) -> str | None:
        flt = params.get("filter", "")
        if not re.search(r'metric\.type = "[^"]+"', flt):
            return f"filter {flt!r} must name one metric.type"
        if 'resource.type = "cloud_run_revision"' not in flt:
            return f"filter {flt!r}: this fake serves resource.type cloud_run_revision only"
        if not re.search(r'resource\.labels\.revision_name = "[^"]+"', flt):
            return f"filter {flt!r}: this fake needs resource.labels.revision_name"
        start, end = _time(params.get("interval.startTime")), _time(params.get("interval.endTime"))
        if start is None or end is None or start > end:
            return "interval.startTime and interval.endTime must be RFC 3339 (Z) and in order"
        period = re.fullmatch(r"(\d+)s", params.get("aggregation.alignmentPeriod", ""))
        if period is None or int(period.group(1)) < 60:
            return "aggregation.alignmentPeriod must be at least 60s"
        if params.get("aggregation.perSeriesAligner") != "ALIGN_DELTA":
            return "this fake aligns DELTA metrics with aggregation.perSeriesAligner ALIGN_DELTA only"
        if params.get("aggregation.crossSeriesReducer") != "REDUCE_SUM":
            return "this fake reduces with aggregation.crossSeriesReducer REDUCE_SUM only"
        if set(group_by) - GROUP_FIELDS:
            return f"aggregation.groupByFields {group_by}: unknown label"
        if params.get("view") != "FULL":
            return "view must be FULL"
        return None

    def _series(
        self, metric: str, name: str, group_by: list[str], params: dict[str, str]
    ) -> list[dict[str, Any]]:
        rev = self.data.get(name)
        if rev is None:
            return []
        interval = {"startTime": params["interval.startTime"], "endTime": params["interval.endTime"]}
        resource = {"type": "cloud_run_revision", "labels": {"project_id": self.project}}
        if metric == REQUEST_COUNT:
            if "metric.labels.response_code_class" in group_by:
                groups = [({"response_code_class": k}, v) for k, v in rev.by_class.items()]
            else:  # REDUCE_SUM over every class: one series without the label
                groups = [({}, sum(rev.by_class.values()))]
            return [
                {
                    "metric": {"type": metric, "labels": labels},
                    "resource": resource,
                    "metricKind": "DELTA",
                    "valueType": "INT64",
                    "points": [{"interval": interval, "value": {"int64Value": str(count)}}],
                }
                for labels, count in groups
            ]
        counts = list(rev.latency_counts)
        while counts and counts[-1] == 0:  # the API may leave out trailing empty buckets
            counts.pop()
        distribution = {
            "count": str(sum(counts)),
            "mean": 0.0,
            "bucketOptions": {
                "exponentialBuckets": {
                    "numFiniteBuckets": rev.finite,
                    "growthFactor": rev.growth,
                    "scale": rev.scale,
                }
            },
            "bucketCounts": [str(c) for c in counts],
        }
        return [
            {
                "metric": {"type": metric},
                "resource": resource,
                "metricKind": "DELTA",
                "valueType": "DISTRIBUTION",
                "points": [{"interval": interval, "value": {"distributionValue": distribution}}],
            }
        ]

    def issue_token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The service-account grant: a JWT assertion in, an access token out (claims are not verified)."""
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {"error": "unsupported_grant_type"}
        payload = form.get("assertion", "..").split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        self.token_claims.append(claims)
        if SCOPE not in str(claims.get("scope", "")).split():
            return 400, {"error": "invalid_scope"}
        return 200, {"access_token": self.token, "expires_in": 3600, "token_type": "Bearer"}


@contextmanager
def serve(fake: FakeMonitoringRest) -> Iterator[FakeMonitoringRest]:
    """Serve on a free loopback port; ``fake.url`` is the endpoint (``/token`` issues tokens)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if fake.hang:
                fake.released.wait(30)
                self.close_connection = True
                return
            if fake.raw is not None:
                code, kind, text = fake.raw
                self._answer(code, text.encode(), kind)
                return
            parts = urlsplit(self.path)
            query = parse_qsl(parts.query, keep_blank_values=True)
            code, body = fake.list_time_series(parts.path, query, self.headers.get("Authorization", ""))
            self._answer(code, json.dumps(body, indent=2).encode())

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if urlsplit(self.path).path == "/token":
                code, body = fake.issue_token(form)
            else:
                code, body = _error(404, "NOT_FOUND", f"no method at {self.path}")
            self._answer(code, json.dumps(body).encode())

        def _answer(self, code: int, raw: bytes, kind: str = "application/json; charset=UTF-8") -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        fake.released.set()
        server.shutdown()
        server.server_close()
