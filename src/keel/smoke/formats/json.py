"""The JSON report: the stable document CI pipelines parse (schema ``keel.smoke/v1``)."""

from __future__ import annotations

import json

from keel.smoke.report import SmokeReport


class JsonFormat:
    name = "json"

    def render(self, report: SmokeReport) -> str:
        return json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n"
