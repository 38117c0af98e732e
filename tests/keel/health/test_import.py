"""``import keel.health`` with only keel's base install: light, and no heavy library loaded or needed.

The base-only environment is built offline from the packages already installed here: keel's base requirements
(the root pyproject.toml) and their own requirements, resolved through the installed distributions' metadata,
are linked into a directory that a ``python -S`` interpreter (no site-packages) sees alone.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]
SRC = ROOT / "src"

# Top-level modules that a service embedding keel.health must never pay for at import.
BANNED = (
    "fastapi",
    "starlette",
    "uvicorn",
    "scipy",
    "numpy",
    "grpc",
    "google",
    "sqlalchemy",
    "pymongo",
    "redis",
    "sentry_sdk",
    "pydantic",
    "bayit",
)


def _base_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(text) for text in project["dependencies"]]


def _closure(requirements: list[Requirement]) -> list[importlib.metadata.Distribution]:
    """The installed distributions that the base requirements pull in, with no extras of their own."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    todo = list(requirements)
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        dist = importlib.metadata.distribution(req.name)
        seen[name] = dist
        extras = [Requirement(text) for text in dist.requires or ()]
        for sub in extras:
            wanted = sub.marker is None or any(
                sub.marker.evaluate({"extra": extra}) for extra in ({""} | set(req.extras))
            )
            if wanted:
                todo.append(Requirement(str(sub).split(";")[0]))
    return list(seen.values())


@pytest.fixture(scope="module")
def base_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding exactly keel's base install (links into this environment's site-packages)."""
    target = tmp_path_factory.mktemp("keel-base")
    site = Path(sysconfig.get_paths()["purelib"])
    for dist in _closure(_base_requirements()):
        for top in {Path(str(f)).parts[0] for f in dist.files or ()}:
            source = site / top
            if top in ("..", "__pycache__") or not source.exists() or (target / top).exists():
                continue
            (target / top).symlink_to(source)
    return target


def _run(base: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": f"{SRC}{os.pathsep}{base}"}
    return subprocess.run(
        [sys.executable, "-S", "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_base_install_holds_no_heavy_library(base_only: Path) -> None:
    present = sorted(p.name for p in base_only.iterdir())
    assert "pydantic" in present  # the spec and CLI core need it (keel.health does not import it)
    heavy = {"fastapi", "scipy", "numpy", "grpc", "google", "sqlalchemy", "pymongo", "redis", "starlette"}
    assert not heavy & set(present)


def test_import_keel_health_loads_no_heavy_module(base_only: Path) -> None:
    result = _run(
        base_only,
        "import sys, json, keel.health\n"
        f"banned = {BANNED!r}\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(banned))))",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_every_public_name_resolves_with_only_the_base_install(base_only: Path) -> None:
    result = _run(
        base_only,
        "import keel.health\n"
        "for name in keel.health.__all__: getattr(keel.health, name)\n"
        "print(len(keel.health.__all__))",
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 30


def test_a_check_of_an_extra_not_installed_is_refused_naming_the_extra(base_only: Path) -> None:
    result = _run(
        base_only,
        "from keel.health import SqlCheck, RedisCheck, HealthConfigError, create\n"
        "for build in (lambda: SqlCheck(url='sqlite+aiosqlite://'), lambda: create('redis', url='redis://x')):\n"
        "    try:\n"
        "        build()\n"
        "    except HealthConfigError as exc:\n"
        "        print(exc)\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "the sql health check needs the Python package 'sqlalchemy', which is not installed: "
        "pip install 'keel[sql]'",
        "the redis health check needs the Python package 'redis', which is not installed: "
        "pip install 'keel[redis]'",
    ]


def test_checks_without_extras_run_with_only_the_base_install(base_only: Path) -> None:
    result = _run(
        base_only,
        "import asyncio\n"
        "from keel.health import Health, HttpCheck, TcpCheck, NotConfigured, health_metrics\n"
        "health = Health()\n"
        "health.add(NotConfigured('openai', 'OPENAI_API_KEY not set'))\n"
        "health.add(TcpCheck('127.0.0.1', 1), critical=False)\n"
        "health.add(HttpCheck('http://127.0.0.1:1/'), critical=False)\n"
        "health.add_observer(health_metrics())\n"
        "report = asyncio.run(health.deep())\n"
        "print(report.status.value)\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "degraded"


def test_the_cli_and_keel_smoke_need_only_the_base_install(base_only: Path) -> None:
    result = _run(
        base_only,
        "import sys\n"
        "import keel.cli.app, keel.smoke, keel.spec\n"
        "from keel.smoke.compare import paired_ratio\n"
        "try:\n"
        "    paired_ratio([1.0] * 5, [1.0] * 5)\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "ConfigError latency comparison needs NumPy, which is not installed: pip install 'keel[stats]'"
    )
