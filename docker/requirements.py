"""The runtime requirements of the Bayit+ image, one per line: bayit's own, with its requirement on keel
replaced by keel's base requirements and those of the extras it asks for (keel itself is installed from the
repository afterwards)."""

from __future__ import annotations

import re
import sys
import tomllib


def main(keel_pyproject: str, bayit_pyproject: str) -> None:
    with open(keel_pyproject, "rb") as handle:
        keel = tomllib.load(handle)["project"]
    with open(bayit_pyproject, "rb") as handle:
        bayit = tomllib.load(handle)["project"]
    wanted: list[str] = []
    for requirement in bayit["dependencies"]:
        match = re.fullmatch(r"keel(?:\[([^\]]*)\])?(.*)", requirement.strip())
        if match is None:
            wanted.append(requirement)
            continue
        wanted += keel["dependencies"]
        for extra in filter(None, (e.strip() for e in (match.group(1) or "").split(","))):
            wanted += [r for r in keel["optional-dependencies"][extra] if not r.startswith("keel")]
    print("\n".join(dict.fromkeys(wanted)))


if __name__ == "__main__":
    main(*sys.argv[1:3])
