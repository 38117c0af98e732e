"""The keel.yaml model: service, environments, probes, gates, strategy, analysis and notifications."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from keel.analysis.config import AnalysisSpec
from keel.durations import Duration
from keel.platforms.config import PlatformConfig
from keel.platforms.registry import PLATFORMS
from keel.probing import Probes
from keel.secrets.config import SecretsSpec
from keel.slo.config import DEFAULT_SLOS, AlertsSpec, SlosSpec
from keel.storeconfig import StoreSpec
from keel.yamlfile import KeyPath, Problem, SpecError, YamlDocument, error_message, read_yaml

DEFAULT_FILE = "keel.yaml"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- environments: the union of the registered platforms' own settings models ------------------------------


def _environment_type() -> Any:
    models = tuple(PLATFORMS.config_models().values())
    return Annotated[Union[models], Field(discriminator="platform")]  # noqa: UP007 (a runtime tuple)


if TYPE_CHECKING:
    EnvironmentConfig = PlatformConfig
else:
    EnvironmentConfig = _environment_type()


# --- gates --------------------------------------------------------------------------------------------------


class HealthGate(Model):
    """The revision must answer readiness ``passes`` times in a row within ``deadline`` of being deployed."""

    path: str = "/health/ready"
    passes: int = Field(default=3, ge=1, le=100)
    deadline: Duration = 60.0
    interval: Duration = 1.0
    timeout: Duration = 5.0

    @model_validator(mode="before")
    @classmethod
    def _from_path(cls, data: Any) -> Any:
        return {"path": data} if isinstance(data, str) else data


class Expectation(Model):
    """One HTTP check of the built-in smoke gate: a GET (or ``method``) must answer ``status``."""

    path: str = Field(pattern=r"^/")
    method: Literal["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] = "GET"
    status: int = Field(default=200, ge=100, le=599)
    contains: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)


class SmokeGate(Model):
    """Either a keel.smoke suite file (relative to keel.yaml) or a list of inline HTTP expectations."""

    file: str | None = None
    checks: tuple[Expectation, ...] = ()
    deadline: Duration | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_short(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"file": data}
        if isinstance(data, list):
            return {"checks": data}
        return data


class Gates(Model):
    health: HealthGate = HealthGate()
    smoke: SmokeGate | None = None


# --- strategy -----------------------------------------------------------------------------------------------


class Step(Model):
    weight: int = Field(ge=1, le=100)
    hold: Duration = 0.0


DEFAULT_STEPS = (Step(weight=10, hold=600.0), Step(weight=50, hold=600.0), Step(weight=100))


class Canary(Model):
    steps: tuple[Step, ...] = Field(default=DEFAULT_STEPS, min_length=1)


class Direct(Model):
    hold: Duration = 0.0


class Strategy(Model):
    """``direct`` (100 % at once) or ``canary`` (weighted steps with holds, ending at 100)."""

    direct: Direct | None = None
    canary: Canary | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: Any) -> Any:
        if data in ("direct", "canary"):
            return {data: {}}
        if isinstance(data, Mapping):
            return {k: ({} if v is None else v) for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> Strategy:
        if (self.direct is None) == (self.canary is None):
            raise ValueError("choose exactly one of direct or canary")
        return self

    def steps(self) -> tuple[Step, ...]:
        if self.canary is not None:
            return self.canary.steps
        return (Step(weight=100, hold=self.direct.hold if self.direct else 0.0),)


def _default_strategy() -> Strategy:
    return Strategy(canary=Canary())


# --- rollback and notifications -----------------------------------------------------------------------------


class RollbackPolicy(Model):
    """How a rollback target proves it is ready after the switch (readiness, not liveness)."""

    passes: int = Field(default=2, ge=1, le=100)
    deadline: Duration = 30.0
    interval: Duration = 0.5


class Notifications(Model):
    timeout: Duration = 3.0
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _split(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        out: dict[str, Any] = {"channels": {}}
        for key, value in data.items():
            if key == "timeout":
                out["timeout"] = value
            else:
                out["channels"][key] = {} if value is None else value
        return out


# --- the file -----------------------------------------------------------------------------------------------


class KeelSpec(Model):
    service: str = Field(pattern=r"^[a-z][a-z0-9-]{0,48}[a-z0-9]$")
    environments: dict[str, EnvironmentConfig] = Field(min_length=1)
    probes: Probes = Probes()
    gates: Gates = Gates()
    strategy: Strategy = Field(default_factory=_default_strategy)
    analysis: AnalysisSpec = AnalysisSpec()
    rollback: RollbackPolicy = RollbackPolicy()
    notify: Notifications = Notifications()
    slos: SlosSpec = DEFAULT_SLOS
    alerts: AlertsSpec = AlertsSpec()
    store: StoreSpec = StoreSpec()
    secrets: SecretsSpec = SecretsSpec()
    source: str = Field(default=DEFAULT_FILE, exclude=True)

    def environment(self, name: str) -> PlatformConfig:
        """The named environment; an unknown name is a ConfigError listing the known ones."""
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(sorted(self.environments))
            raise SpecError(
                [Problem(self.source, None, "environments", f"no environment {name!r} (known: {known})")]
            ) from None

    @property
    def base_dir(self) -> Path:
        return Path(self.source).resolve().parent

    def smoke_file(self) -> Path | None:
        return _smoke_file(self.gates, self.base_dir)


def _smoke_file(gates: Gates, base_dir: Path) -> Path | None:
    smoke = gates.smoke
    if smoke is None or smoke.file is None:
        return None
    return (base_dir / smoke.file).resolve()


def _message(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "union_tag_not_found":
        return f"required key 'platform' is missing (one of {PLATFORMS.known()})"
    if kind == "union_tag_invalid":
        return PLATFORMS.unknown(err.get("input", {}).get("platform"))
    return error_message(err)


def _path(loc: tuple[Any, ...], kind: str) -> KeyPath:
    path: list[str | int] = [p for p in loc if isinstance(p, str | int)]
    # A discriminated union puts the platform tag into the location: environments.<name>.<tag>.<key>.
    if len(path) >= 3 and path[0] == "environments" and path[2] in PLATFORMS:
        del path[2]
    if kind.startswith("union_tag"):
        path.append("platform")
    return tuple(path)


def _strategy_problems(doc: YamlDocument, strategy: Strategy, base_dir: Path) -> list[Problem]:
    """Weights must increase from step to step and end at 100."""
    if strategy.canary is None:
        return []
    problems: list[Problem] = []
    steps = strategy.canary.steps
    base: KeyPath = ("strategy", "canary", "steps")
    for i in range(1, len(steps)):
        if steps[i].weight <= steps[i - 1].weight:
            problems.append(doc.problem((*base, i, "weight"), "weights must increase from step to step"))
    if steps[-1].weight != 100:
        problems.append(
            doc.problem(
                (*base, len(steps) - 1, "weight"),
                "the last step's weight must be 100 (weights end at 100)",
            )
        )
    return problems


def _gates_problems(doc: YamlDocument, gates: Gates, base_dir: Path) -> list[Problem]:
    """A smoke suite file must exist (relative to keel.yaml)."""
    smoke = _smoke_file(gates, base_dir)
    if smoke is None or smoke.is_file():
        return []
    return [doc.problem(("gates", "smoke"), f"smoke suite file not found: {smoke}")]


def _notify_problems(doc: YamlDocument, notify: Notifications, base_dir: Path) -> list[Problem]:
    """Each channel's settings, as its notifier reads them."""
    from keel.notify.registry import config_problems

    return [
        doc.problem(("notify", name, *path), message)
        for name, config in notify.channels.items()
        for path, message in config_problems(name, config)
    ]


# Rules pydantic cannot place on a key, one per top-level section they judge. Each runs once its section's
# own fields validated, even when other sections did not, so one round of fixes sees every problem.
_SECTION_RULES: dict[str, Callable[[YamlDocument, Any, Path], list[Problem]]] = {
    "strategy": _strategy_problems,
    "gates": _gates_problems,
    "notify": _notify_problems,
}


def _semantic_problems(doc: YamlDocument, sections: Mapping[str, Any], base_dir: Path) -> list[Problem]:
    return [
        p
        for name, rule in _SECTION_RULES.items()
        if name in sections
        for p in rule(doc, sections[name], base_dir)
    ]


def _valid_sections(doc: YamlDocument, broken: set[str]) -> dict[str, Any]:
    """The sections with rules whose own fields validated (or that the file leaves at their default), when the
    whole file did not: validated alone, as they are independent of one another."""
    assert isinstance(doc.data, Mapping)
    sections: dict[str, Any] = {}
    for name in _SECTION_RULES:
        if name in broken:
            continue
        field = KeelSpec.model_fields[name]
        assert field.annotation is not None
        try:
            if name in doc.data:
                sections[name] = TypeAdapter(field.annotation).validate_python(doc.data[name])
            else:
                sections[name] = field.get_default(call_default_factory=True)
        except ValidationError:  # already reported in the whole file's errors
            continue
    return sections


def parse_spec(doc: YamlDocument) -> KeelSpec:
    """Validate a parsed keel.yaml; every problem names the file, line and key, all at once: field errors, and
    the rules of every section whose own fields are valid."""
    if doc.data is None:
        raise SpecError([Problem(doc.file, None, "", "file is empty")])
    if not isinstance(doc.data, Mapping):
        raise SpecError([Problem(doc.file, 1, "", "expected a mapping of keys (service, environments, ...)")])
    base_dir = Path(doc.file).resolve().parent
    try:
        spec = KeelSpec.model_validate({**doc.data, "source": doc.file})
    except ValidationError as exc:
        problems = []
        broken: set[str] = set()
        for err in exc.errors():
            path = _path(tuple(err["loc"]), str(err.get("type", "")))
            problems.append(doc.problem(path, _message(err)))
            if path:
                broken.add(str(path[0]))
        problems += _semantic_problems(doc, _valid_sections(doc, broken), base_dir)
        raise SpecError(problems) from None
    problems = _semantic_problems(doc, {name: getattr(spec, name) for name in _SECTION_RULES}, base_dir)
    problems += _warmup_problems(doc, spec)
    problems += _secrets_problems(doc, spec)
    if problems:
        raise SpecError(problems)
    return spec


def _warmup_problems(doc: YamlDocument, spec: KeelSpec) -> list[Problem]:
    """The analysis warm-up must leave part of every held step to judge (rules across two sections)."""
    warmup = spec.analysis.warmup
    holds = [s.hold for s in spec.strategy.steps() if s.weight < 100 and s.hold > 0]
    if warmup <= 0 or not holds or warmup < min(holds):
        return []
    return [
        doc.problem(
            ("analysis", "warmup"),
            f"warm-up {warmup:g}s leaves nothing to judge in a step held {min(holds):g}s; "
            "make it shorter than every canary step's hold",
        )
    ]


def _secrets_problems(doc: YamlDocument, spec: KeelSpec) -> list[Problem]:
    """Secrets are delivered to an environment of this file, one whose revisions keel starts itself."""
    from keel.secrets.delivery import delivery_environment

    wanted = spec.secrets.environment
    if wanted is not None and wanted not in spec.environments:
        known = ", ".join(sorted(spec.environments))
        return [doc.problem(("secrets", "environment"), f"no environment {wanted!r} (known: {known})")]
    target = delivery_environment(spec)
    if (
        spec.secrets.items
        and target is not None
        and spec.environments[target].platform == "cloudrun"
        and spec.secrets.backend.type != "gcp"
    ):
        return [
            doc.problem(
                ("secrets", "backend"),
                f"environment {target!r} runs on Cloud Run, which reads secrets from Secret Manager itself "
                "(each revision references a version); the local file backend cannot serve it: use "
                "backend: {type: gcp, project: PROJECT}",
            )
        ]
    if spec.secrets.items and target is not None and spec.environments[target].platform == "cloudrun":
        return _cloudrun_secret_names(doc, spec, target)
    return []


def _cloudrun_secret_names(doc: YamlDocument, spec: KeelSpec, target: str) -> list[Problem]:
    """keel pins each declared secret's variable to a version of the item's Secret Manager secret; the Cloud
    Run environment's own ``secrets:`` entry for that variable must name the same secret."""
    refs: dict[str, str] = getattr(spec.environments[target], "secrets", {}) or {}
    problems = []
    for name, item in spec.secrets.items.items():
        for variable in (item.env, item.previous_env):
            ref = refs.get(variable or "")
            if ref is None:
                continue
            secret = ref.rpartition(":")[0].rsplit("/", 1)[-1]
            if secret != item.secret_id(name):
                problems.append(
                    doc.problem(
                        ("environments", target, "secrets", str(variable)),
                        f"references Secret Manager secret {secret!r}, but keel secrets keeps {variable} in "
                        f"{item.secret_id(name)!r} (secrets.items.{name}); name the same secret in both",
                    )
                )
    return problems


def load_spec(path: str | Path = DEFAULT_FILE) -> KeelSpec:
    """Read and validate keel.yaml before anything starts."""
    return parse_spec(read_yaml(path))
