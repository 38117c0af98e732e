"""Pure translations between keel and Cloud Run Admin API v2 messages: revision templates, traffic, states.

Nothing here calls the API; ``client.py`` does. Every function takes and returns ``google.cloud.run_v2``
messages, imported lazily by the caller (this module is only imported once a Cloud Run call is made).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.cloud import run_v2
from google.protobuf import duration_pb2

from keel.platforms.base import RevisionState
from keel.platforms.cloudrun.config import OPTIONAL_UNCONFIGURED_ENV, CloudRunConfig
from keel.probing import Probes, ProbeSpec
from keel.secrets.delivery import parse_reference

LATEST = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
REVISION = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
_REVISION_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
TAG_PREFIX = "keel-"


@dataclass(frozen=True)
class Names:
    """keel's revision names <-> Cloud Run's. Cloud Run requires a revision name to start with its service's
    name; keel names revisions ``<keel service>-<NNNNN>-<id>``, so when the Cloud Run service is named
    otherwise (``bayit-plus-backend-staging``) the keel prefix is swapped for the Cloud Run one and back."""

    keel_service: str
    cloud_service: str

    def to_cloud(self, name: str) -> str:
        if name.startswith(self.keel_service + "-"):
            return self.cloud_service + name[len(self.keel_service) :]
        return f"{self.cloud_service}-{name}"

    def from_cloud(self, name: str) -> str:
        short = name.rsplit("/", 1)[-1]
        if short.startswith(self.cloud_service + "-"):
            return self.keel_service + short[len(self.cloud_service) :]
        return short

    def check(self, cloud_name: str) -> str | None:
        """Why ``cloud_name`` cannot be a Cloud Run revision name, or None."""
        if not _REVISION_NAME.match(cloud_name):
            return (
                f"revision name {cloud_name!r} is not valid on Cloud Run: at most 63 of a-z 0-9 -, "
                "starting with a letter"
            )
        return None

    def tag(self, cloud_name: str) -> str:
        """The tag that gives a revision its own URL: ``keel-<NNNNN>-<id>`` (tags are DNS labels, and the tag
        URL ``<tag>---<service>-<hash>-<region>.a.run.app`` must stay short)."""
        suffix = (
            cloud_name[len(self.cloud_service) + 1 :]
            if cloud_name.startswith(self.cloud_service + "-")
            else cloud_name
        )
        return (TAG_PREFIX + suffix)[:46].rstrip("-")


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))


def probe(spec: ProbeSpec) -> run_v2.Probe:
    period = _seconds(spec.period)
    return run_v2.Probe(
        http_get=run_v2.HTTPGetAction(path=spec.path),
        timeout_seconds=min(_seconds(spec.timeout), period),
        period_seconds=period,
        failure_threshold=spec.failure_threshold,
    )


def probe_problems(probes: Probes) -> list[str]:
    """Where keel.yaml's probes exceed what Cloud Run accepts (timeout 1-240 s and at most the period;
    start-up period at most 240 s, liveness period at most 3600 s)."""
    problems: list[str] = []
    for name, spec, max_period in (("startup", probes.startup, 240), ("liveness", probes.liveness, 3600)):
        if spec.timeout > 240:
            problems.append(f"probes.{name}.timeout: Cloud Run allows at most 240s, got {spec.timeout:g}s")
        if spec.timeout > spec.period:
            problems.append(
                f"probes.{name}.timeout: {spec.timeout:g}s exceeds the period {spec.period:g}s (Cloud Run refuses it)"
            )
        if spec.period > max_period:
            problems.append(
                f"probes.{name}.period: Cloud Run allows at most {max_period}s, got {spec.period:g}s"
            )
    return problems


def environment(config: CloudRunConfig, extra: Mapping[str, str]) -> list[run_v2.EnvVar]:
    """The container's environment: keel.yaml's env, the revision's, the optional dependencies declared
    absent, then Secret Manager references (values never pass through keel). A revision variable holding a
    ``keel-secret:SECRET:VERSION`` reference (keel secrets pins each deploy to a specific version) becomes a
    reference to that version, in place of keel.yaml's ``secrets:`` entry of the same variable."""
    refs = {name: tuple(ref.rpartition(":")[::2]) for name, ref in config.secrets.items()}
    values: dict[str, str] = {}
    for name, value in {**config.env, **extra}.items():
        pinned = pinned_reference(value)
        if pinned is None:
            values[name] = value
        else:
            refs[name] = (pinned[0], str(pinned[1]))
    if config.optional_unconfigured and OPTIONAL_UNCONFIGURED_ENV not in values:
        values[OPTIONAL_UNCONFIGURED_ENV] = ",".join(config.optional_unconfigured)
    out = [run_v2.EnvVar(name=k, value=v) for k, v in sorted(values.items()) if k not in refs]
    for name, (secret, version) in sorted(refs.items()):
        out.append(
            run_v2.EnvVar(
                name=name,
                value_source=run_v2.EnvVarSource(
                    secret_key_ref=run_v2.SecretKeySelector(secret=secret, version=version)
                ),
            )
        )
    return out


def pinned_reference(value: str) -> tuple[str, int] | None:
    """``keel-secret:SECRET:VERSION`` (SECRET a name or ``projects/P/secrets/NAME``) -> (SECRET, VERSION)."""
    return parse_reference(value)


def template(
    config: CloudRunConfig,
    probes: Probes,
    cloud_name: str,
    image: str,
    env: Mapping[str, str],
    current: run_v2.RevisionTemplate | None,
) -> run_v2.RevisionTemplate:
    """The service's next revision template: the current one (volumes, VPC and other settings keel does not
    manage are kept) with keel's revision name, image, environment, probes and limits."""
    out = run_v2.RevisionTemplate(current) if current is not None else run_v2.RevisionTemplate()
    out.revision = cloud_name
    container = run_v2.Container(out.containers[0]) if out.containers else run_v2.Container()
    container.image = image
    container.env = environment(config, env)
    container.startup_probe = probe(probes.startup)
    container.liveness_probe = probe(probes.liveness)
    limits = dict(container.resources.limits)
    if config.cpu is not None:
        limits["cpu"] = config.cpu
    if config.memory is not None:
        limits["memory"] = config.memory
    if limits:
        container.resources = run_v2.ResourceRequirements(
            limits=limits,
            cpu_idle=container.resources.cpu_idle,
            startup_cpu_boost=container.resources.startup_cpu_boost,
        )
    if config.container_port is not None:
        container.ports = [run_v2.ContainerPort(container_port=config.container_port)]
    out.containers = [container, *list(out.containers)[1:]]
    if config.concurrency is not None:
        out.max_instance_request_concurrency = config.concurrency
    if config.min_instances is not None:
        out.scaling.min_instance_count = config.min_instances
    if config.max_instances is not None:
        out.scaling.max_instance_count = config.max_instances
    if config.service_account is not None:
        out.service_account = config.service_account
    if config.request_timeout is not None:
        out.timeout = duration_pb2.Duration(seconds=_seconds(config.request_timeout))
    return out


# --- traffic ---------------------------------------------------------------------------------------------------


def latest_share(targets: Any) -> int:
    """Percent of traffic that follows LATEST in ``traffic`` or ``traffic_statuses``."""
    return sum(t.percent for t in targets if t.type_ == LATEST)


def pinned_to_latest(service: run_v2.Service, names: Names) -> str:
    share = latest_share(service.traffic)
    return (
        f"{share}% of its traffic follows LATEST (the newest ready revision), so a new revision would take "
        "that traffic as soon as it is ready, before any gate. keel moves traffic only by explicit revision "
        "percentages and does not override this silently: pin the traffic first, e.g. `gcloud run services "
        f"update-traffic {names.cloud_service} --region=REGION --to-revisions="
        f"{service.latest_ready_revision.rsplit('/', 1)[-1] or 'REVISION'}=100`, then deploy again"
    )


def pinned_elsewhere(service: run_v2.Service, names: Names) -> str:
    """When the newest revision (made outside keel: no keel tag) serves nothing because traffic is pinned to
    older ones (what ``gcloud run deploy --no-traffic`` leaves), say so: keel keeps that split as the
    baseline, it does not promote or drop the unreleased revision."""
    latest = service.latest_created_revision.rsplit("/", 1)[-1]
    if not latest:
        return ""
    serving = {t.revision for t in service.traffic if t.percent > 0}
    tagged = {t.revision for t in service.traffic if t.tag.startswith(TAG_PREFIX)}
    if latest in serving or latest in tagged:
        return ""
    pinned = ", ".join(sorted(names.from_cloud(r) for r in serving if r))
    return (
        f"traffic is pinned to {pinned}; the newest revision {latest} was created outside keel and serves "
        "nothing: the split is kept as it is"
    )


def split(statuses: Any, latest_ready: str, names: Names) -> dict[str, int]:
    """The split in effect from ``traffic_statuses`` (LATEST resolved to the latest ready revision), keel
    names, revisions with 0 % left out."""
    weights: dict[str, int] = {}
    for status in statuses:
        revision = status.revision if status.type_ != LATEST else latest_ready
        if status.percent <= 0 or not revision:
            continue
        name = names.from_cloud(revision)
        weights[name] = weights.get(name, 0) + int(status.percent)
    return weights


def tag_urls(statuses: Any, names: Names) -> dict[str, str]:
    """Each tagged revision's own URL, by keel name."""
    return {names.from_cloud(s.revision): s.uri for s in statuses if s.tag and s.uri and s.revision}


def targets(
    current: Any, weights: Mapping[str, int], names: Names, drop_tags_of: str | None = None
) -> list[run_v2.TrafficTarget]:
    """Explicit revision targets for ``weights`` (keel names), keeping every tag already set (the gates reach
    revisions by them) except those of ``drop_tags_of`` (a revision being removed)."""
    out: dict[str, run_v2.TrafficTarget] = {}
    for name, weight in weights.items():
        cloud = names.to_cloud(name)
        out[cloud] = run_v2.TrafficTarget(type_=REVISION, revision=cloud, percent=weight)
    extra: list[run_v2.TrafficTarget] = []
    for target in current:
        if not target.tag or target.revision == drop_tags_of:
            continue
        if target.type_ == LATEST or not target.revision:
            extra.append(run_v2.TrafficTarget(type_=LATEST, tag=target.tag))
        elif target.revision in out and not out[target.revision].tag:
            out[target.revision].tag = target.tag
        else:
            extra.append(run_v2.TrafficTarget(type_=REVISION, revision=target.revision, tag=target.tag))
    return [*out.values(), *extra]


def current_explicit(service: run_v2.Service, names: Names) -> dict[str, int]:
    """The service's requested split as keel names (LATEST refused before this is called)."""
    weights: dict[str, int] = {}
    for target in service.traffic:
        if target.percent > 0 and target.revision:
            name = names.from_cloud(target.revision)
            weights[name] = weights.get(name, 0) + int(target.percent)
    return weights


# --- revision state --------------------------------------------------------------------------------------------


def state(revision: run_v2.Revision) -> tuple[RevisionState, str]:
    """A revision's state from its conditions: Ready true is RUNNING, Ready false (or any failed condition,
    such as ContainerHealthy after the container exited) is FAILED with Google's reason, else STARTING."""
    if revision.delete_time and revision.delete_time.timestamp() > 0:
        return RevisionState.STOPPED, "deleted"
    failed = [c for c in revision.conditions if c.state == run_v2.Condition.State.CONDITION_FAILED]
    if failed:
        ready_first = sorted(failed, key=lambda c: c.type_ != "Ready")
        return RevisionState.FAILED, _condition(ready_first[0])
    ready = next((c for c in revision.conditions if c.type_ == "Ready"), None)
    if ready is not None and ready.state == run_v2.Condition.State.CONDITION_SUCCEEDED:
        return RevisionState.RUNNING, "ready"
    detail = ready.message if ready is not None and ready.message else "not ready yet"
    return RevisionState.STARTING, detail


def _condition(c: run_v2.Condition) -> str:
    reasons = [r.name for r in (c.revision_reason, c.reason) if r is not None and r.value != 0]
    why = f" ({', '.join(reasons)})" if reasons else ""
    return f"{c.type_}{why}: {c.message or 'failed'}"
