#!/usr/bin/env python3
"""Bootstrap and run keel's everyday commands with nothing but Python 3.11+.

    python3 dev.py demo   # the main job on embedded defaults
    python3 dev.py test   # lint, type checks and the whole test suite

It creates ``.venv`` beside this file, installs the locked dependencies and both projects of this repository
(``keel`` here, ``bayit`` in ``services/bayit``, editable) into it (again only when ``requirements.lock`` or
either ``pyproject.toml`` changed), then runs the command inside it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".keel-installed"
# The two distributions this repository holds: keel (the root) and the service it releases.
PROJECTS = (ROOT, ROOT / "services" / "bayit")
SOURCES = ["src", "services/bayit/src", "tests", "benchmarks", "docker", "dev.py"]


def _fingerprint() -> str:
    h = hashlib.sha256()
    h.update((ROOT / "requirements.lock").read_bytes())
    for project in PROJECTS:
        h.update((project / "pyproject.toml").read_bytes())
    return h.hexdigest()


def bootstrap() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"keel needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PY.exists():
        print("dev.py: creating .venv", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    print(
        "dev.py: installing locked dependencies into .venv (first run takes a minute or two)", file=sys.stderr
    )
    pip = [str(PY), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "-r", str(ROOT / "requirements.lock")], check=True)
    editable = [arg for project in PROJECTS for arg in ("-e", str(project))]
    subprocess.run([*pip, "install", "--no-deps", *editable], check=True)
    STAMP.write_text(wanted)


def _run(*args: str) -> int:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    return subprocess.call(list(args), cwd=ROOT, env=env)


def test(extra: list[str]) -> int:
    steps = [
        [str(BIN / "ruff"), "check", *SOURCES],
        [str(BIN / "ruff"), "format", "--check", *SOURCES],
        [str(BIN / "mypy")],
    ]
    for step in steps:
        print(
            "dev.py: " + " ".join(Path(step[0]).name if i == 0 else a for i, a in enumerate(step)), flush=True
        )
        code = _run(*step)
        if code:
            return code
    return _run(str(PY), "-m", "pytest", *_workers(extra), *extra)


def _workers(extra: list[str]) -> list[str]:
    """Three pytest-xdist workers, one test file per worker at a time, unless the arguments choose otherwise
    (``-n 0`` runs serially). Most of the suite's time is end-to-end tests waiting on real processes (canary
    holds, Prometheus scrapes), so three workers on two cores roughly halve it; ``loadfile`` keeps each file's
    module fixtures (a PostgreSQL server, a deployed environment) in one worker."""
    chosen = any(
        a in ("-n", "--numprocesses", "--dist") or a.startswith(("-n", "--numprocesses=")) for a in extra
    )
    if chosen or "no:xdist" in " ".join(extra):
        return []
    return ["-n", "3", "--dist", "loadfile"]


def demo(extra: list[str]) -> int:
    return _run(str(BIN / "keel"), "demo", *extra)


def main() -> int:
    commands = {"test": test, "demo": demo}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    bootstrap()
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
