"""Checking that a window of traffic is self-consistent before any judge sees it.

Sources can deliver nonsense: NaN or infinite counts (a division by a zero rate, a counter reset), negative
counts (a reset inside the window), more errors than requests (two series read at different instants), a NaN
bucket bound. A judge fed such a window computes a verdict from it, and the verdict may be a pass. The
analyzer checks every window here first and makes the look inconclusive, with the problem as its reason."""

from __future__ import annotations

import itertools
import math

from keel.analysis.base import RevisionWindow


def _count_problem(name: str, value: float) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{name} is not a number ({value!r})"
    if not math.isfinite(value):
        return f"{name} is {value}"
    if value < 0:
        return f"{name} is negative ({value:g})"
    return None


def window_problems(window: RevisionWindow) -> list[str]:
    """What makes ``window`` unfit to judge (empty when it is fine). Each problem names the revision."""
    problems: list[str] = []
    who = window.revision
    for name, value in (("requests", window.requests), ("errors", window.errors)):
        problem = _count_problem(f"{who}: {name}", value)
        if problem:
            problems.append(problem)
    if not problems and window.errors > window.requests:
        problems.append(f"{who}: {window.errors:g} errors but only {window.requests:g} requests")
    bounds, counts = window.latency.bounds, window.latency.counts
    for i, bound in enumerate(bounds):
        if not isinstance(bound, int | float) or math.isnan(bound) or bound == -math.inf:
            problems.append(f"{who}: latency bucket {i} has bound {bound!r}")
            break
    else:
        if any(b2 <= b1 for b1, b2 in itertools.pairwise(bounds)):
            problems.append(f"{who}: latency bucket bounds do not ascend")
    for i, count in enumerate(counts):
        problem = _count_problem(f"{who}: latency bucket {i} (le {bounds[i]:g}) count", count)
        if problem:
            problems.append(problem)
            break
    return problems
