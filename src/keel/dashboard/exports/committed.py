"""Whether a committed dashboard JSON is keel's export and still what keel.yaml gives: read by keel review."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from keel.dashboard.exports import export
from keel.dashboard.exports.cloudmonitoring import label_value
from keel.dashboard.exports.grafana import dashboard_uid
from keel.dashboard.panels import dashboard_for

if TYPE_CHECKING:
    from keel.spec import KeelSpec

DIRECTORIES = ("dashboards", "monitoring")
MAX_CHARS = 5_000_000  # keel's exports are tens of kilobytes; a repository file is untrusted input


class State(StrEnum):
    current = "current"  # keel's export, equal to a fresh one
    stale = "stale"  # keel's export, no longer what keel.yaml gives
    foreign = "foreign"  # a dashboard keel did not generate: nothing to compare
    invalid = "invalid"  # not JSON


@dataclass(frozen=True)
class Committed:
    name: str
    state: State
    target: str = ""
    environment: str = ""
    detail: str = ""


def _target(doc: Any) -> str:
    if not isinstance(doc, dict):
        return ""
    if "keel" in doc.get("tags", ()) and "panels" in doc:
        return "grafana"
    labels = doc.get("labels")
    if isinstance(labels, dict) and labels.get("managed_by") == "keel" and "mosaicLayout" in doc:
        return "cloudmonitoring"
    return ""


def _environment(spec: KeelSpec, target: str, doc: dict[str, Any]) -> str | None:
    for env in spec.environments:
        if target == "grafana" and doc.get("uid") == dashboard_uid(spec.service, env):
            return env
        labels = doc.get("labels", {})
        if (
            target == "cloudmonitoring"
            and labels.get("service") == label_value(spec.service)
            and labels.get("environment") == label_value(env)
        ):
            return env
    return None


def first_difference(ours: Any, theirs: Any, path: str = "") -> str | None:
    """The first JSON path where the two documents differ (None when equal)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in [*ours, *(k for k in theirs if k not in ours)]:
            if key not in ours or key not in theirs:
                return f"{path}.{key}".lstrip(".")
            found = first_difference(ours[key], theirs[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(ours, list) and isinstance(theirs, list):
        for i, (a, b) in enumerate(zip(ours, theirs, strict=False)):
            found = first_difference(a, b, f"{path}[{i}]")
            if found:
                return found
        return None if len(ours) == len(theirs) else f"{path} (length)".lstrip(".")
    return None if ours == theirs else path.lstrip(".") or "(the document)"


def classify(spec: KeelSpec, name: str, text: str) -> Committed:
    """Regenerate the export the file claims to be (its target and environment) and compare."""
    if len(text) > MAX_CHARS:
        return Committed(name, State.invalid, detail=f"larger than {MAX_CHARS:,} characters: not read")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        return Committed(name, State.invalid, detail=f"not valid JSON ({exc})")
    except RecursionError:
        return Committed(name, State.invalid, detail="not valid JSON (nested too deep)")
    target = _target(doc)
    if not target:
        return Committed(name, State.foreign)
    env = _environment(spec, target, doc)
    if env is None:
        return Committed(
            name, State.stale, target, detail=f"for no environment of {spec.service} in the spec"
        )
    fresh = export(target, dashboard_for(spec, env))
    where = first_difference(fresh, doc)
    if where is None:
        return Committed(name, State.current, target, env)
    return Committed(name, State.stale, target, env, f"{where} differs")
