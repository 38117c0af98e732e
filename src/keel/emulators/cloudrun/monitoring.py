"""The emulator's Cloud Monitoring: ``GET /v3/projects/{project}/timeSeries`` for the emulated revisions.

Cloud Run's ``request_count`` (by ``response_code_class``) and ``request_latencies`` (a distribution in ms)
of a ``cloud_run_revision``, aggregated the way keel's source asks (ALIGN_DELTA over the interval,
REDUCE_SUM), from the routers' per-second records. A second becomes visible ``ingestion_delay`` after it
ends, as Google's points arrive late: a query for recent seconds sees fewer requests, never an error.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from keel.emulators.cloudrun.api import ApiError
from keel.platforms.local.metrics import LATENCY_BOUNDS, RouterMetrics
from keel.types import Clock

REQUEST_COUNT = "run.googleapis.com/request_count"
REQUEST_LATENCIES = "run.googleapis.com/request_latencies"


def _time(value: str) -> float:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ApiError(400, "INVALID_ARGUMENT", f"invalid timestamp {value!r}") from None


def _label(flt: str, key: str) -> str | None:
    match = re.search(re.escape(key) + r'\s*=\s*"([^"]*)"', flt)
    return match.group(1) if match else None


class Monitoring:
    def __init__(self, metrics: RouterMetrics, ingestion_delay: float, clock: Clock = time.time) -> None:
        self.metrics = metrics
        self.ingestion_delay = ingestion_delay
        self.clock = clock

    def list_time_series(self, project: str, query: Sequence[tuple[str, str]]) -> dict[str, Any]:
        params = {k: v for k, v in query if k != "aggregation.groupByFields"}
        group_by = [v for k, v in query if k == "aggregation.groupByFields"]
        flt = params.get("filter", "")
        metric = _label(flt, "metric.type")
        revision = _label(flt, "resource.labels.revision_name")
        if (
            metric not in (REQUEST_COUNT, REQUEST_LATENCIES)
            or _label(flt, "resource.type") != "cloud_run_revision"
        ):
            raise ApiError(400, "INVALID_ARGUMENT", f"filter {flt!r}: the emulator serves Cloud Run's "
                           "request_count and request_latencies of resource.type cloud_run_revision")  # fmt: skip
        if revision is None:
            raise ApiError(
                400, "INVALID_ARGUMENT", "the emulator needs resource.labels.revision_name in the filter"
            )
        start = _time(params.get("interval.startTime", ""))
        end = _time(params.get("interval.endTime", ""))
        if end < start:
            raise ApiError(400, "INVALID_ARGUMENT", "interval.endTime is before interval.startTime")
        visible_end = min(end, self.clock() - self.ingestion_delay)
        interval = {"startTime": params["interval.startTime"], "endTime": params["interval.endTime"]}
        resource = {
            "type": "cloud_run_revision",
            "labels": {"project_id": project, "revision_name": revision},
        }
        # Slots are whole seconds [s, s+1): only those that ended by the visible end and started in the interval.
        lo, hi = math.ceil(start), math.floor(visible_end) - 1
        series: list[dict[str, Any]] = []
        if metric == REQUEST_COUNT:
            codes = self.metrics.statuses(revision, lo, hi) if hi >= lo else {}
            classes: dict[str, int] = {}
            for code, n in codes.items():
                key = f"{min(max(code // 100, 1), 5)}xx"
                classes[key] = classes.get(key, 0) + n
            if "metric.labels.response_code_class" not in group_by and classes:
                classes = {"": sum(classes.values())}
            for key, count in sorted(classes.items()):
                series.append({
                    "metric": {"type": metric, "labels": {"response_code_class": key} if key else {}},
                    "resource": resource, "metricKind": "DELTA", "valueType": "INT64",
                    "points": [{"interval": interval, "value": {"int64Value": str(count)}}],
                })  # fmt: skip
        elif hi >= lo:
            window = self.metrics.window(revision, lo, hi)
            if window.requests:
                finite = [b * 1000.0 for b in LATENCY_BOUNDS if not math.isinf(b)]
                # Explicit buckets: [0] is below the first bound; the router's bucket i is (b[i-1], b[i]].
                counts = [*window.latency.counts]
                series.append({
                    "metric": {"type": metric}, "resource": resource, "metricKind": "DELTA",
                    "valueType": "DISTRIBUTION",
                    "points": [{"interval": interval, "value": {"distributionValue": {
                        "count": str(window.requests),
                        "bucketOptions": {"explicitBuckets": {"bounds": finite}},
                        "bucketCounts": [str(c) for c in counts],
                    }}}],
                })  # fmt: skip
        if not series:
            return {}  # the API answers {} when nothing matches
        return {"timeSeries": series, "unit": "ms" if metric == REQUEST_LATENCIES else "1"}
