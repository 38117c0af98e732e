"""The dashboard's HTML, rendered on the server from the same dicts the JSON API returns; charts are SVG drawn
here (no JavaScript, no CDN). Every figure carries ``data-figure`` so a test can compare it with the API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from keel.dashboard.dora import DEFINITIONS, duration_text

Point = tuple[float, float | None]
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def percent(value: float | None, digits: int = 2) -> str:
    return "no data" if value is None else f"{value * 100:.{digits}f}%"


def ms(value: float | None) -> str:
    return "no data" if value is None else f"{value:.1f} ms"


def line_chart(
    title: str,
    series: Sequence[tuple[str, Sequence[Point]]],
    targets: Sequence[tuple[str, float]] = (),
    *,
    unit: str = "",
    width: int = 560,
    height: int = 180,
    step: bool = False,
    y_max: float | None = None,
) -> str:
    """An SVG line chart: one polyline per series (gaps where a value is None), dashed target lines."""
    left, right, top, bottom = 56, 10, 10, 24
    xs = [t for _, pts in series for t, _ in pts]
    ys = [v for _, pts in series for _, v in pts if v is not None] + [v for _, v in targets]
    if not xs:
        return f'<p class="empty">{_e(title)}: no data</p>'
    x0, x1 = min(xs), max(xs)
    top_value = y_max if y_max is not None else max(ys, default=1.0) * 1.1 or 1.0
    span_x = (x1 - x0) or 1.0

    def px(t: float) -> float:
        return left + (t - x0) / span_x * (width - left - right)

    def py(v: float) -> float:
        return top + (1 - min(v, top_value) / top_value) * (height - top - bottom)

    parts = [
        f'<svg class="chart" role="img" aria-label="{_e(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}"><title>{_e(title)}</title>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" class="axis"/>',
        f'<text x="4" y="{top + 8}" class="tick">{_e(_fmt(top_value, unit))}</text>',
        f'<text x="4" y="{height - bottom}" class="tick">0</text>',
        f'<text x="{left}" y="{height - 6}" class="tick">{_e(when(x0)[11:19])}</text>',
        f'<text x="{width - right - 50}" y="{height - 6}" class="tick">{_e(when(x1)[11:19])}</text>',
    ]
    for label, value in targets:
        y = py(value)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" class="target">'
            f"<title>target {_e(label)} {_e(_fmt(value, unit))}</title></line>"
        )
    for i, (_label, pts) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        runs: list[list[str]] = [[]]
        previous: float | None = None
        for t, v in pts:
            if v is None:
                runs.append([])
                continue
            if step and previous is not None and runs[-1]:
                runs[-1].append(f"{px(t):.1f},{py(previous):.1f}")
            runs[-1].append(f"{px(t):.1f},{py(v):.1f}")
            previous = v
        for run in runs:
            if len(run) == 1:
                cx, cy = run[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
            elif run:
                parts.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(run)}"/>'
                )
    parts.append("</svg>")
    legend = "".join(
        f'<span class="key"><span class="swatch" style="background:{COLOURS[i % len(COLOURS)]}"></span>{_e(label)}</span>'
        for i, (label, _) in enumerate(series)
    )
    if targets:
        legend += '<span class="key"><span class="swatch target-swatch"></span>targets</span>'
    return f'<figure class="chart-box"><figcaption>{_e(title)}</figcaption>{"".join(parts)}<div class="legend">{legend}</div></figure>'


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value * 100:.2g}%"
    if unit == "ms":
        return f"{value:.0f} ms"
    return f"{value:.3g}{unit}"


def deploys_per_day(daily: Sequence[Mapping[str, Any]], start: float, end: float) -> str:
    """Deploys per UTC day as stacked bars: promoted (green) under the rest (red), one bar per day."""
    first, last = int(start // 86400), int(end // 86400)
    days = list(range(first, last + 1))
    good = dict.fromkeys(days, 0)
    bad = dict.fromkeys(days, 0)
    for row in daily:
        day = int(row["day"] // 86400)
        if day in good:
            (good if row["phase"] == "promoted" else bad)[day] += int(row["count"])
    top = max((good[d] + bad[d] for d in days), default=0)
    if top == 0:
        return '<p class="empty">no deploys in the window</p>'
    width, height, left, bottom = 560, 110, 40, 18
    slot = (width - left - 10) / len(days)
    bars = []
    for i, d in enumerate(days):
        x = left + i * slot
        h_good = good[d] / top * (height - bottom - 8)
        h_bad = bad[d] / top * (height - bottom - 8)
        base = height - bottom
        label = f"{when(d * 86400)[:10]}: {good[d]} promoted, {bad[d]} not"
        bars.append(
            f"<g><title>{_e(label)}</title>"
            f'<rect x="{x:.1f}" y="{base - h_good:.1f}" width="{max(slot - 1, 1):.1f}" height="{h_good:.1f}" fill="#1a7f37"/>'
            f'<rect x="{x:.1f}" y="{base - h_good - h_bad:.1f}" width="{max(slot - 1, 1):.1f}" height="{h_bad:.1f}" fill="#cf222e"/></g>'
        )
    return (
        '<figure class="chart-box"><figcaption>Deploys per day (green promoted, red not)</figcaption>'
        f'<svg class="chart" role="img" aria-label="Deploys per day" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}"><title>Deploys per day</title>'
        f'<text x="4" y="14" class="tick">{top}</text><text x="4" y="{height - bottom}" class="tick">0</text>'
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" class="axis"/>'
        f'{"".join(bars)}<text x="{left}" y="{height - 4}" class="tick">{_e(when(start)[:10])}</text>'
        f'<text x="{width - 80}" y="{height - 4}" class="tick">{_e(when(end)[:10])}</text></svg></figure>'
    )


def figure(key: str, label: str, text: str, *, hint: str = "", ok: bool | None = None) -> str:
    cls = "figure" + ("" if ok is None else (" ok" if ok else " bad"))
    title = f' title="{_e(hint)}"' if hint else ""
    return (
        f'<div class="{cls}"{title}><span class="label">{_e(label)}</span>'
        f'<span class="value" data-figure="{_e(key)}">{_e(text)}</span></div>'
    )


def alerts_list(alerts: Sequence[Mapping[str, Any]]) -> str:
    if not alerts:
        return '<p data-figure="health.alerts">no alert pending or firing (keel watch)</p>'
    items = "".join(
        f'<li class="{"bad" if a["state"] == "firing" else ""}">{_e(a["name"])} ({_e(a["severity"])}): '
        f"{_e(a['state'])} since {_e(when(a['since']))}</li>"
        for a in alerts
    )
    return f'<p data-figure="health.alerts">{len(alerts)} alert(s)</p><ul class="alerts">{items}</ul>'


def health_panel(data: Mapping[str, Any]) -> str:
    if not data.get("available"):
        reason = f'<p class="empty" data-figure="health.reason">{_e(data.get("reason", "unavailable"))}</p>'
        return reason + alerts_list(data.get("alerts", ()))
    ready = data["readiness"]
    state = {True: "ready", False: "not ready", None: "unreachable"}[ready["ready"]]
    out = [
        '<div class="figures">',
        figure("health.readiness", "Readiness", state, hint=ready["url"], ok=ready["ready"]),
        figure("health.readiness_latency", "Readiness latency", ms(ready.get("latency_ms"))),
        "</div>",
        '<table><caption>Dependencies</caption><thead><tr><th scope="col">dependency</th>'
        '<th scope="col">status</th><th scope="col">latency</th></tr></thead><tbody>',
    ]
    for d in data["dependencies"]:
        out.append(
            f'<tr class="dep-{_e(d["status"].replace(" ", "-"))}"><td>{_e(d["name"])}</td>'
            f'<td data-figure="health.dep.{_e(d["name"])}.status">{_e(d["status"])}</td>'
            f"<td>{_e(ms(d['latency_ms']) if d['latency_ms'] is not None else '-')}</td></tr>"
        )
    if not data["dependencies"]:
        out.append('<tr><td colspan="3">the service reports no dependency checks</td></tr>')
    out.append("</tbody></table>")
    out.append(alerts_list(data.get("alerts", ())))
    return "".join(out)


def performance_panel(data: Mapping[str, Any]) -> str:
    if not data.get("available"):
        return f'<p class="empty">{_e(data.get("reason", "unavailable"))}</p>'
    points, targets, summary = data["points"], data["targets"], data["summary"]
    meets = summary.get("meets", {})
    out = [
        '<div class="figures">',
        figure("perf.rps", "Request rate", f"{summary['rps']:.2f}/s"),
        figure("perf.error_rate", "Error rate (5xx or no answer)", percent(summary["error_rate"]),
               hint=f"target < {targets['error_rate'] * 100:g}%", ok=meets.get("error_rate")),
        figure("perf.p50_ms", "p50", ms(summary["p50_ms"]), hint="target < 200 ms", ok=meets.get("p50_ms")),
        figure("perf.p95_ms", "p95", ms(summary["p95_ms"]), hint="target < 500 ms", ok=meets.get("p95_ms")),
        figure("perf.p99_ms", "p99", ms(summary["p99_ms"]), hint="target < 2 s", ok=meets.get("p99_ms")),
        "</div>",
    ]  # fmt: skip
    out.append(
        line_chart("Request rate (req/s)", [("req/s", [(p["t"], p["rps"]) for p in points])], unit="/s")
    )
    out.append(
        line_chart(
            "Latency (ms)",
            [(q, [(p["t"], p[f"{q}_ms"]) for p in points]) for q in ("p50", "p95", "p99")],
            [("p50", targets["p50_ms"]), ("p95", targets["p95_ms"]), ("p99", targets["p99_ms"])],
            unit="ms",
        )
    )
    out.append(
        line_chart(
            "Error rate",
            [("errors", [(p["t"], p["error_rate"]) for p in points])],
            [("errors", targets["error_rate"]), ("5xx", targets["rate_5xx"])],
            unit="%",
        )
    )
    errors = data.get("errors")
    if errors:
        out.append('<div class="figures">')
        out.append(figure("perf.rate_5xx", "5xx rate (service)", percent(errors["rate_5xx"], 3),
                          hint=f"target < 0.1%; answers {errors['since']}",
                          ok=None if errors["rate_5xx"] is None else errors["rate_5xx"] < targets["rate_5xx"]))  # fmt: skip
        out.append(figure("perf.rate_4xx_5xx", "4xx+5xx share (service)", percent(errors["rate_4xx_5xx"], 3)))
        out.append("</div>")
        out.append(
            "<table><caption>Errors by route and status (since the serving revisions started)</caption>"
            '<thead><tr><th scope="col">route</th><th scope="col">errors</th><th scope="col">by status</th></tr></thead><tbody>'
        )
        for row in errors["by_route"]:
            statuses = ", ".join(f"{code}: {n:g}" for code, n in row["statuses"].items())
            out.append(
                f"<tr><td>{_e(row['method'])} {_e(row['route'])}</td><td>{row['errors']:g}</td><td>{_e(statuses)}</td></tr>"
            )
        if not errors["by_route"]:
            out.append('<tr><td colspan="3">no error answers</td></tr>')
        out.append("</tbody></table>")
    return "".join(out)


def slo_panel(data: Mapping[str, Any]) -> str:
    if not data.get("available"):
        return f'<p class="empty">{_e(data.get("reason", "unavailable"))}</p>'
    out = []
    for s in data["slos"]:
        name = s["name"]
        what = f"{s['objective'] * 100:g}% {s['sli']}" + (
            f" within {s['latency_s']:g}s" if s["latency_s"] else ""
        )
        out.append(f'<h3>{_e(name)} <small>({_e(what)})</small></h3><div class="figures">')
        out.append(figure(f"slo.{name}.attainment", "Attainment", percent(s["attainment"], 3),
                          ok=None if s["attainment"] is None else s["attainment"] >= s["objective"]))  # fmt: skip
        left = s["budget_left"]
        out.append(figure(f"slo.{name}.budget_left", "Error budget left", percent(left, 1),
                          ok=None if left is None else left > 0))  # fmt: skip
        out.append("</div>")
        out.append(line_chart(f"Burn rate: {name}", [("burn rate", [(b["t"], b["burn_rate"]) for b in s["burn"]])],
                              [("1x", 1.0)]))  # fmt: skip
    return "".join(out)


_OUTCOME_CLASS = {"promoted": "ok", "rolled_back": "bad", "rollback_failed": "bad", "failed": "bad"}


def deployments_panel(data: Mapping[str, Any], base_query: str) -> str:
    counts = data["counts"]
    out = [
        '<div class="figures">',
        figure("deploy.total", "Releases in the window", str(data["total"])),
        figure("deploy.promoted", "Deploys promoted", str(counts.get("deploy:promoted", 0))),
        figure("deploy.rolled_back", "Deploys rolled back", str(counts.get("deploy:rolled_back", 0))),
        "</div>",
        deploys_per_day(data["daily"], data["start"], data["end"]),
        '<table class="timeline"><caption>Releases, newest first</caption><thead><tr>'
        '<th scope="col">started</th><th scope="col">kind</th><th scope="col">revision</th>'
        '<th scope="col">outcome</th><th scope="col">why</th><th scope="col">deciding verdict</th></tr></thead><tbody>',
    ]
    for r in data["releases"]:
        v = r["deciding_verdict"]
        verdict = (
            "-" if v is None else f"step {v['step'] + 1} look {v['look']}: {v['outcome']} ({v['summary']})"
        )
        cls = _OUTCOME_CLASS.get(r["outcome"], "")
        if r["kind"] == "rollback":  # a manual rollback that rolled back did what it was asked
            cls = "ok" if r["outcome"] == "rolled_back" else cls
        out.append(
            f'<tr data-rollout="{_e(r["rollout"])}"><td>{_e(when(r["started"]))}</td><td>{_e(r["kind"])}</td>'
            f'<td><a href="{_e(r["link"])}">{_e(r["revision"])}</a></td>'
            f'<td class="{cls}" data-figure="release.{_e(r["rollout"])}.outcome">{_e(r["outcome"])}</td>'
            f"<td>{_e(r['cause'] or '')}</td>"
            f'<td><a href="{_e(r["link"])}#verdicts">{_e(verdict)}</a></td></tr>'
        )
    if not data["releases"]:
        out.append('<tr><td colspan="6">no releases in the window</td></tr>')
    out.append("</tbody></table>")
    limit, offset, total = data["limit"], data["offset"], data["total"]
    nav = []
    if offset > 0:
        nav.append(f'<a href="?{base_query}&amp;offset={max(offset - limit, 0)}">newer</a>')
    if offset + limit < total:
        nav.append(f'<a href="?{base_query}&amp;offset={offset + limit}">older</a>')
    if nav:
        out.append(f'<nav class="pages" aria-label="timeline pages">{" ".join(nav)}</nav>')
    return "".join(out)


def traffic_panel(data: Mapping[str, Any]) -> str:
    if not data.get("points"):
        return '<p class="empty">no deploy yet</p>'
    started = datetime.fromisoformat(data["started"]).timestamp() if data.get("started") else 0.0
    pts = [(started + p["t_s"], float(p["weight"])) for p in data["points"]]
    head = (
        f'<p>Rollout <a href="/deployments/{_e(data["rollout"])}">{_e(data["rollout"])}</a>: '
        f"{_e(data['revision'])} (from {_e(data['previous'] or 'nothing')}), "
        f'<span data-figure="traffic.phase">{_e(data["phase"])}</span>; weights '
        f'<span data-figure="traffic.weights">{_e(" → ".join(str(p["weight"]) for p in data["points"]))}</span></p>'
    )
    chart = line_chart(
        f"New revision's traffic (%): {data['revision']}", [("weight %", pts)], step=True, y_max=100
    )
    return head + chart


def dora_panel(data: Mapping[str, Any]) -> str:
    from keel.dashboard.dora import Metric, display

    window = data["window"]
    out = [f'<p>Window: {_e(when(window["start"]))} to {_e(when(window["end"]))} ({window["days"]:g} days)</p>',
           '<div class="figures">']  # fmt: skip
    for name, m in data["metrics"].items():
        metric = Metric(name, m["value"])
        out.append(figure(f"dora.{name}", m["title"], display(metric), hint=DEFINITIONS[name]))
    out.append("</div>")
    return "".join(out)


def page(
    meta: Mapping[str, Any], panels: Mapping[str, str], controls: Mapping[str, int], refresh: int
) -> str:
    head_refresh = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    title = f"keel: {meta['service']} ({meta['environment']})"
    sections = "".join(
        f'<section id="{name}" data-panel="{name}" aria-labelledby="{name}-h"><h2 id="{name}-h">{_e(heading)}</h2>{html}</section>'
        for name, (heading, html) in (
            ("health", ("Health now", panels["health"])),
            ("performance", ("Performance against the targets", panels["performance"])),
            ("slos", ("SLOs", panels["slos"])),
            ("deployments", ("Deployments", panels["deployments"])),
            ("traffic", ("Traffic split during the latest canary", panels["traffic"])),
            ("dora", ("DORA and deployment metrics", panels["dora"])),
        )
    )
    options = {
        "days": (1, 7, 30, 90, 365),
        "minutes": (5, 15, 30, 60),
        "refresh": (0, 5, 15, 60),
    }
    selects = []
    for name, values in options.items():
        current = controls[name]
        choices = sorted({*values, current})
        opts = "".join(
            f'<option value="{v}"{" selected" if v == current else ""}>{v if v or name != "refresh" else "off"}</option>'
            for v in choices
        )
        label = {
            "days": "Deployments window (days)",
            "minutes": "Performance span (minutes)",
            "refresh": "Refresh (s)",
        }[name]
        selects.append(
            f'<label for="ctl-{name}">{label}</label><select id="ctl-{name}" name="{name}">{opts}</select>'
        )
    notes = "".join(f"<li>{_e(n)}</li>" for n in meta.get("notes", ()))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
{head_refresh}<title>{_e(title)}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/static/dashboard.css"></head>
<body><a class="skip" href="#health">Skip to the panels</a>
<header><h1>{_e(title)}</h1><p>Updated {_e(when(meta["now"]))} · <a href="/api/v1">JSON API</a></p>
<form method="get" action="/" class="controls">{"".join(selects)}<button type="submit">Apply</button></form>
{f'<ul class="notes">{notes}</ul>' if notes else ""}</header>
<main>{sections}</main></body></html>
"""


def deployment_page(report: Mapping[str, Any]) -> str:
    rows = "".join(
        f'<tr><td>{v["step"] + 1}</td><td>{v["look"]}</td><td>{v["t_s"]:.0f}s</td><td class="{_OUTCOME_CLASS.get("promoted" if v["outcome"] == "pass" else "failed" if v["outcome"] == "fail" else "", "")}">'
        f"{_e(v['outcome'])}</td><td>{_e(v['summary'])}</td></tr>"
        for v in report["verdicts"]
    )
    transitions = "".join(
        f"<tr><td>{_e(t['at'])}</td><td>{_e(t['from'])} → {_e(t['to'])}</td><td>{_e(t['reason'])}</td></tr>"
        for t in report["transitions"]
    )
    duration = "in progress" if report["duration_s"] is None else duration_text(report["duration_s"])
    traffic = ""
    if report["traffic"]:
        traffic = traffic_panel({**report, "points": report["traffic"]})
    title = f"{report['kind']} {report['revision']} ({report['rollout']})"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/static/dashboard.css"></head>
<body><header><h1>{_e(title)}</h1><p><a href="/">Back to the dashboard</a> · <a href="/api/v1/deployments/{_e(report["rollout"])}">JSON</a></p></header>
<main><section><h2>Outcome</h2><div class="figures">{figure("detail.phase", "Outcome", report["phase"])}{figure("detail.duration", "Duration", duration)}</div>
<p>Cause: <span data-figure="detail.cause">{_e(report["cause"] or "-")}</span></p>{traffic}</section>
<section id="verdicts"><h2>Verdicts (the last one decided)</h2><table><thead><tr><th scope="col">step</th><th scope="col">look</th><th scope="col">at</th><th scope="col">outcome</th><th scope="col">summary</th></tr></thead><tbody>{rows or '<tr><td colspan="5">no looks</td></tr>'}</tbody></table></section>
<section><h2>Transitions</h2><table><thead><tr><th scope="col">at</th><th scope="col">phase</th><th scope="col">reason</th></tr></thead><tbody>{transitions}</tbody></table></section>
</main></body></html>
"""
