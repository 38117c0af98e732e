"""Terminal charts: pure functions from data to Rich renderables (no I/O, no clock).

Results a person would rather look at than read are drawn: a release's traffic split over time, canary vs
baseline per look, the split of an environment and each revision's recent traffic, the demo's traffic.
Every chart fits the width it is given (narrow terminals get fewer columns, never wrapped garbage), draws
with characters alone (colour is decoration, so NO_COLOR loses nothing) and says "no data" when it has none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = [
    "NO_DATA",
    "demo_traffic",
    "look_charts",
    "release_charts",
    "revision_sparks",
    "sparkline",
    "split_bars",
    "traffic_timeline",
]

NO_DATA = "no data"
BLOCKS = "▁▂▃▄▅▆▇█"
EIGHTHS = " ▁▂▃▄▅▆▇█"
VERDICT_MARKS = {"pass": ("✓", "green"), "fail": ("✗", "red"), "inconclusive": ("?", "yellow")}


def resample(values: Sequence[float | None], width: int) -> list[float | None]:
    """At most ``width`` values: consecutive values merged by their maximum (a spike stays visible)."""
    if width <= 0:
        return []
    if len(values) <= width:
        return list(values)
    out: list[float | None] = []
    for i in range(width):
        chunk = [
            v for v in values[i * len(values) // width : (i + 1) * len(values) // width] if v is not None
        ]
        out.append(max(chunk) if chunk else None)
    return out


def sparkline(
    values: Sequence[float | None], width: int | None = None, lo: float | None = None, hi: float | None = None
) -> str:
    """One character per value (block heights scaled into [lo, hi]); a missing value is a space."""
    points = resample(values, width) if width is not None else list(values)
    known = [v for v in points if v is not None]
    if not known:
        return ""
    low = min(known) if lo is None else lo
    high = max(known) if hi is None else hi
    chars = []
    for v in points:
        if v is None:
            chars.append(" ")
        elif high <= low:
            chars.append(BLOCKS[0] if v <= low else BLOCKS[-1])
        else:
            share = min(max((v - low) / (high - low), 0.0), 1.0)
            chars.append(BLOCKS[round(share * (len(BLOCKS) - 1))])
    return "".join(chars)


def _column_chart(values: Sequence[float | None], height: int, top: float) -> list[str]:
    """Rows (top first) of a column chart with eighth-block resolution; values above ``top`` are clipped."""
    rows = []
    for row in range(height - 1, -1, -1):
        line = []
        for v in values:
            if v is None or top <= 0:
                line.append(" ")
                continue
            eighths = round(min(max(v / top, 0.0), 1.0) * height * 8) - row * 8
            line.append(EIGHTHS[min(max(eighths, 0), 8)])
        rows.append("".join(line))
    return rows


def _fmt_s(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}m"


def _axis(duration: float, width: int, pad: int) -> Text:
    left, right = "0s", _fmt_s(duration)
    gap = max(width - len(left) - len(right), 1)
    return Text(" " * pad + left + " " * gap + right, style="dim")


def traffic_timeline(
    points: Sequence[Mapping[str, Any]], duration: float, width: int = 60, height: int = 4
) -> RenderableType:
    """The new revision's weight over a release: ``points`` are ``{"t_s": seconds from the start, "weight":
    0..100, "event": label}`` in time order (the weight holds until the next point); ``duration`` is the
    release's length in seconds. A column chart with a 0-100 % axis and the events listed underneath."""
    if not points or duration <= 0:
        return Text(f"traffic to the new revision: {NO_DATA}")
    label_w = 5
    cols = max(width - label_w, 8)
    values: list[float | None] = []
    for c in range(cols):
        t = duration if c == cols - 1 else (c + 0.5) * duration / cols  # the last column: the final weight
        weight: float | None = None
        for p in points:
            if float(p["t_s"]) <= t:
                weight = float(p["weight"])
        values.append(weight if weight is not None else 0.0)
    rows = _column_chart(values, height, 100.0)
    colour = "red" if points[-1]["weight"] == 0 and any(p["weight"] for p in points) else "cyan"
    lines: list[RenderableType] = [
        Text("traffic to the new revision (% of requests over time)", style="bold")
    ]
    for i, row in enumerate(rows):
        label = "100%" if i == 0 else "  0%" if i == len(rows) - 1 else ""
        lines.append(Text.assemble((f"{label:>4} ", "dim"), (row, colour)))
    lines.append(_axis(duration, cols, label_w))
    events = "; ".join(
        f"{_fmt_s(float(p['t_s']))} {p.get('event') or str(p['weight']) + '%'}" for p in points
    )
    lines.append(Text(events, style="dim", overflow="fold"))
    return Group(*lines)


def _series(verdicts: Sequence[Mapping[str, Any]], who: str, key: str) -> list[float | None]:
    out: list[float | None] = []
    for v in verdicts:
        facts = v.get(who) or {}
        value = facts.get(key)
        out.append(float(value) if value is not None else None)
    return out


def _last(values: Sequence[float | None], fmt: str) -> str:
    known = [v for v in values if v is not None]
    return fmt.format(known[-1]) if known else "-"


def look_charts(verdicts: Sequence[Mapping[str, Any]], width: int = 80) -> RenderableType:
    """Canary vs baseline at each look: the requests judged (each on its own scale), error rate and p95 latency
    as sparklines on a shared scale per metric, the limit where the judge has one (``limits.max_error_rate`` /
    ``limits.max_p95_ms``), and each look's verdict (✓ pass, ✗ fail, ? inconclusive) with its step number.
    ``verdicts`` are the report's verdicts (with their ``canary``/``baseline`` facts)."""
    looks = [v for v in verdicts if v.get("canary")]
    if not looks:
        return Text(f"analysis per look: {NO_DATA}")
    limits = looks[-1].get("limits") or {}
    spark_w = max(min(len(looks), width - (44 if limits else 36)), 4)  # labels, last value, limit
    looks = looks[-spark_w:]  # the latest looks when there are more than fit
    table = Table(box=None, show_header=True, pad_edge=False, padding=(0, 1), title_justify="left")
    table.title = f"analysis per look ({len(looks)} looks)"
    table.add_column("metric", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("per look", no_wrap=True)
    table.add_column("last", justify="right", no_wrap=True)
    if limits:
        table.add_column("limit", justify="right", no_wrap=True)
    has_baseline = any(v.get("baseline") for v in looks)
    for metric, key, fmt, limit_key in (
        ("requests", "requests", "{:.0f}", ""),  # each on its own scale: the baseline has far more
        ("error rate", "error_rate", "{:.2%}", "max_error_rate"),
        ("p95", "p95_ms", "{:.0f} ms", "max_p95_ms"),
    ):
        canary = _series(looks, "canary", key)
        baseline = _series(looks, "baseline", key) if has_baseline else []
        limit = limits.get(limit_key)
        scale = [v for v in (*canary, *baseline) if v is not None] + (
            [float(limit)] if limit is not None else []
        )
        hi = max(scale) if scale and key != "requests" else None
        lo = 0.0
        limit_text = fmt.format(float(limit)) if limit is not None else ""
        table.add_row(
            metric, "canary", Text(sparkline(canary, lo=lo, hi=hi) or NO_DATA, style="magenta"),
            _last(canary, fmt), *([limit_text] if limits else []),
        )  # fmt: skip
        if has_baseline:
            table.add_row(
                "", "baseline", Text(sparkline(baseline, lo=lo, hi=hi) or NO_DATA, style="blue"),
                _last(baseline, fmt), *([""] if limits else []),
            )  # fmt: skip
    marks = Text()
    for v in looks:
        char, style = VERDICT_MARKS.get(str(v.get("outcome")), ("·", "dim"))
        marks.append(char, style=style)
    steps = "".join(str((int(v.get("step", 0)) + 1) % 10) for v in looks)
    extra = [""] if limits else []
    table.add_row("verdict", "", marks, str(looks[-1].get("outcome", "")), *extra)
    table.add_row("step", "", Text(steps, style="dim"), "", *extra)
    return table


def release_charts(result: Mapping[str, Any], width: int = 80) -> RenderableType:
    """Both charts of one release report (``keel.rollout/v1`` with its ``traffic`` and per-look facts)."""
    parts: list[RenderableType] = [
        traffic_timeline(result.get("traffic") or [], float(result.get("duration_s") or 0.0), width=width)
    ]
    if result.get("verdicts"):
        parts.append(look_charts(result["verdicts"], width=width))
    return Group(*parts)


def split_bars(weights: Mapping[str, int], width: int = 80) -> RenderableType:
    """The current traffic split: one proportional bar per revision (█ its share, ░ the rest)."""
    if not weights or not any(weights.values()):
        return Text(f"traffic split: {NO_DATA} (no revision serves traffic)")
    name_w = min(max(len(n) for n in weights), max(width // 3, 8))
    bar_w = max(width - name_w - 8, 10)
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
    table.title = "traffic split"
    table.title_justify = "left"
    table.add_column(no_wrap=True, max_width=name_w, overflow="ellipsis")
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    palette = ("cyan", "magenta", "green", "yellow", "blue")
    for i, (name, weight) in enumerate(sorted(weights.items(), key=lambda kv: -kv[1])):
        filled = round(bar_w * weight / 100)
        bar = Text.assemble(("█" * filled, palette[i % len(palette)]), ("░" * (bar_w - filled), "dim"))
        table.add_row(name, bar, f"{weight}%")
    return table


def revision_sparks(rows: Sequence[Mapping[str, Any]], minutes: float, width: int = 80) -> RenderableType:
    """Each serving revision's recent traffic: ``rows`` are ``{"revision": name, "rps": [...], "error_rate":
    [...], "p95_ms": [...]}`` with one value per time slice (None: no requests in that slice)."""
    if not rows:
        return Text(f"recent traffic: {NO_DATA}")
    spark_w = max(min(width - 40, max(len(r.get("rps") or ()) for r in rows)), 4)
    table = Table(box=None, pad_edge=False, padding=(0, 1), title_justify="left")
    table.title = f"last {minutes:g} min per revision"
    table.add_column("revision", no_wrap=True, max_width=max(width // 4, 10), overflow="ellipsis")
    table.add_column("", no_wrap=True)
    table.add_column("over time", no_wrap=True)
    table.add_column("now", justify="right", no_wrap=True)
    for r in rows:
        first = True
        for label, key, fmt, lo in (
            ("req/s", "rps", "{:.1f}", 0.0),
            ("errors", "error_rate", "{:.1%}", 0.0),
            ("p95", "p95_ms", "{:.0f} ms", 0.0),
        ):
            values = list(r.get(key) or ())
            spark = sparkline(values, spark_w, lo=lo)  # all zero is a flat line; all missing is "no data"
            table.add_row(
                str(r["revision"]) if first else "", label, Text(spark or NO_DATA, style="cyan"),
                _last(values, fmt),
            )  # fmt: skip
            first = False
    return table


def demo_traffic(timeline: Mapping[str, Any], width: int = 80, height: int = 4) -> RenderableType:
    """The demo's synthetic traffic over time: p95 latency and errors per time slice as column charts.
    ``timeline`` is ``LoadStats.timeline()``: ``{"bucket_s", "requests", "errors", "p95_ms"}`` lists."""
    requests = list(timeline.get("requests") or ())
    if not requests or not sum(requests):
        return Text(f"synthetic traffic over time: {NO_DATA}")
    bucket = float(timeline.get("bucket_s") or 1.0)
    label_w = 8
    cols = max(width - label_w, 8)
    p95 = resample(list(timeline.get("p95_ms") or ()), cols)
    errors = resample([float(e) for e in timeline.get("errors") or ()], cols)
    duration = len(requests) * bucket
    parts: list[RenderableType] = []
    for title, values, unit, colour in (
        ("p95 latency of the synthetic traffic", p95, "ms", "cyan"),
        ("errors of the synthetic traffic (per second)", errors, "", "red"),
    ):
        known = [v for v in values if v is not None]
        top = max(known) if known else 0.0
        parts.append(Text(title, style="bold"))
        if top <= 0:
            parts.append(Text(" " * label_w + ("none" if known else NO_DATA)))
            continue
        rows = _column_chart(values, height, top)
        for i, row in enumerate(rows):
            label = f"{top:.0f}{unit}" if i == 0 else f"0{unit}" if i == len(rows) - 1 else ""
            parts.append(Text.assemble((f"{label:>{label_w - 1}} ", "dim"), (row, colour)))
        parts.append(_axis(duration, min(cols, len(values)), label_w))
    return Group(*parts)
