"""Plug-point registries: a name written in keel.yaml -> the adapter that implements it, imported when used.

Every plug-point (platforms, metric sources, judges, notifiers, health checks) is one ``Registry`` that maps
names to ``"module:attribute"`` strings. An adapter is one module: the class it names carries ``Config``, the
pydantic model of its own keel.yaml settings, and imports its client library lazily, so loading the model
(which validating keel.yaml does) costs nothing. Adding an adapter is that module plus one registry line.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from keel.errors import ConfigError

if TYPE_CHECKING:  # keel.health registers its checks here and must import without pydantic
    from pydantic import BaseModel

T = TypeVar("T")


class UnknownPlugin(ConfigError):
    """A name that no adapter of this kind is registered under."""


@dataclass(frozen=True)
class Registry(Generic[T]):
    """Names of one kind of plug-point (``kind`` as users read it: "platform", "metric source")."""

    kind: str
    entries: Mapping[str, str]

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.entries))

    def known(self) -> str:
        """The registered names as a message shows them: ``local, cloudrun, memory``."""
        return ", ".join(self.names)

    def unknown(self, name: object) -> str:
        return f"unknown {self.kind} {name!r} (known: {self.known()})"

    def load(self, name: str) -> T:
        """The adapter registered under ``name``; an unknown name is an UnknownPlugin naming the known ones."""
        try:
            target = self.entries[name]
        except KeyError:
            raise UnknownPlugin(self.unknown(name)) from None
        module_name, _, attribute = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                raise UnknownPlugin(
                    f"{self.kind} {name!r} is not available in this version of keel"
                ) from None
            missing = (exc.name or "").split(".")[0]
            raise UnknownPlugin(
                f"{self.kind} {name!r} needs the Python package {missing!r}, which is not installed "
                "(see the README for the extra that brings it)"
            ) from None
        adapter: T = getattr(module, attribute)
        return adapter

    def config_model(self, name: str) -> type[BaseModel] | None:
        """The pydantic model of the adapter's own settings, or None when it takes none."""
        model: type[BaseModel] | None = getattr(self.load(name), "Config", None)
        return model

    def config_models(self) -> dict[str, type[BaseModel]]:
        """Every adapter's settings model by name (adapters without settings left out)."""
        out: dict[str, type[BaseModel]] = {}
        for name in self.entries:
            model = self.config_model(name)
            if model is not None:
                out[name] = model
        return out


def plugin_config(registry: Registry[Any], name: str, values: Mapping[str, Any]) -> BaseModel:
    """Validate one adapter's settings with its own model (a pydantic ValidationError when they are wrong)."""
    model = registry.config_model(name)
    if model is None:
        raise UnknownPlugin(f"{registry.kind} {name!r} takes no settings")
    return model.model_validate(dict(values))
