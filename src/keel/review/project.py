"""What the readiness review reads: keel.yaml, the GitHub workflows, the runbooks and, given a URL, the live
health endpoints, gathered once into a read-only view so that every check is a pure function of it."""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from keel.errors import ConfigError
from keel.secrets.inventory import SecretAges, read_ages
from keel.spec import KeelSpec, parse_spec
from keel.yamlfile import SpecError, YamlDocument, read_yaml

READY_PATH = "/health/ready"
DEEP_PATH = "/health/deep"


@dataclass(frozen=True)
class LiveEndpoint:
    """One GET of a health endpoint: its HTTP status and JSON body, or why there was no answer."""

    path: str
    status: int | None = None
    body: Mapping[str, Any] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class ProjectView:
    """Everything a check may look at. ``live`` is empty when no URL was given."""

    root: Path
    spec: KeelSpec
    doc: YamlDocument
    workflows: Mapping[str, str] = field(default_factory=dict)  # file name -> text
    runbooks: frozenset[str] = frozenset()
    dashboards: Mapping[str, str] = field(default_factory=dict)  # dashboards/ or monitoring/ *.json -> text
    url: str | None = None
    live: Mapping[str, LiveEndpoint] = field(default_factory=dict)
    secrets: SecretAges = field(default_factory=SecretAges)  # keel secrets' rows (names and ages)

    @property
    def spec_name(self) -> str:
        return Path(self.doc.file).name

    def where(self, *path: str | int) -> str:
        """``keel.yaml:12: a.b`` for evidence: the line of ``path`` (or of its nearest ancestor)."""
        line = self.doc.line_of(tuple(path))
        key = ".".join(str(p) for p in path)
        return f"{self.spec_name}:{line}: {key}" if line else f"{self.spec_name}: {key}"

    def raw(self, *path: str) -> Any:
        """The raw keel.yaml value at ``path`` (None when absent): for keys the spec fills with defaults."""
        node: Any = self.doc.data
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                return None
            node = node[key]
        return node


def gcs_without_bucket(doc: YamlDocument) -> list[str]:
    """Environments that store media in GCS (``uses: [gcs]`` or ``STORAGE_TYPE: gcs``) and set no
    GCS_BUCKET_NAME in ``env`` or ``secrets``, read from the raw file."""
    environments = doc.data.get("environments") if isinstance(doc.data, Mapping) else None
    out = []
    for name, raw in (environments or {}).items() if isinstance(environments, Mapping) else ():
        if not isinstance(raw, Mapping):
            continue
        env: Mapping[str, Any] = raw["env"] if isinstance(raw.get("env"), Mapping) else {}
        secrets: Mapping[str, Any] = raw["secrets"] if isinstance(raw.get("secrets"), Mapping) else {}
        uses: list[Any] = raw["uses"] if isinstance(raw.get("uses"), list) else []
        if ("gcs" in uses or env.get("STORAGE_TYPE") == "gcs") and not (
            env.get("GCS_BUCKET_NAME") or "GCS_BUCKET_NAME" in secrets
        ):
            out.append(str(name))
    return out


def parse_reviewable(doc: YamlDocument) -> KeelSpec:
    """The spec, as keel would load it. keel refuses to deploy an environment that uses GCS without a bucket;
    the review reports that as its own item (gcs-bucket) rather than stopping, so for that one rule the spec
    is read with a stand-in bucket (in memory only; the checks read the raw file for it). Any other problem
    is bad input (SpecError, exit 2)."""
    try:
        return parse_spec(doc)
    except SpecError as first:
        missing = gcs_without_bucket(doc)
        if not missing:
            raise
        data = copy.deepcopy(doc.data)
        for name in missing:
            environment = data["environments"][name]
            environment["env"] = {**(environment.get("env") or {}), "GCS_BUCKET_NAME": "keel-review-unset"}
        try:
            return parse_spec(dataclasses.replace(doc, data=data))
        except SpecError:
            raise first from None


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"--url {url!r}: expected an http:// or https:// URL of the running service")
    return url.rstrip("/")


def shown_url(url: str) -> str:
    """The URL without its user:password part, for evidence and reports."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def fetch_health(url: str, token: str | None, timeout: float) -> dict[str, LiveEndpoint]:
    """GET /health/ready and /health/deep (with the health token, when given). Never raises for the service's
    answers: an unreachable service or a non-JSON body is recorded as such."""
    import httpx

    from keel.tls import tls_context

    headers = {"X-Health-Token": token} if token else {}
    out: dict[str, LiveEndpoint] = {}
    with httpx.Client(timeout=timeout, verify=tls_context()) as client:
        for path in (READY_PATH, DEEP_PATH):
            try:
                response = client.get(url + path, headers=headers if path == DEEP_PATH else {})
            except httpx.HTTPError as exc:
                out[path] = LiveEndpoint(path, error=f"no answer ({type(exc).__name__})")
                continue
            try:
                body = response.json()
            except ValueError:
                body = None
            out[path] = LiveEndpoint(path, response.status_code, body if isinstance(body, Mapping) else None)
    return out


def load_project(
    spec_file: str | Path = "keel.yaml",
    url: str | None = None,
    token: str | None = None,
    timeout: float = 5.0,
) -> ProjectView:
    """Read the project around ``spec_file`` (a bad keel.yaml is a SpecError naming file:line: key)."""
    base = check_url(url) if url else None
    doc = read_yaml(spec_file)
    spec = parse_reviewable(doc)
    root = Path(spec_file).resolve().parent
    workflow_dir = root / ".github" / "workflows"
    workflows = {
        p.name: p.read_text(encoding="utf-8", errors="replace")
        for p in sorted([*workflow_dir.glob("*.yml"), *workflow_dir.glob("*.yaml")])
    }
    runbook_dir = root / "docs" / "runbooks"
    runbooks = frozenset(p.name for p in runbook_dir.glob("*.md")) if runbook_dir.is_dir() else frozenset()
    dashboards = {
        str(p.relative_to(root)): p.read_text(encoding="utf-8", errors="replace")
        for p in sorted([*(root / "dashboards").glob("*.json"), *(root / "monitoring").glob("*.json")])
    }
    live = fetch_health(base, token, timeout) if base else {}
    ages = read_ages(spec, time.time())
    return ProjectView(
        root, spec, doc, workflows, runbooks, dashboards, shown_url(base) if base else None, live, ages
    )
