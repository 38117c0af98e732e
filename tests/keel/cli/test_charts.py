"""The terminal charts render fixed data to the expected text, fit narrow widths and say "no data"."""

from __future__ import annotations

from typing import Any

from rich.console import Console, RenderableType

from keel.cli.charts import (
    NO_DATA,
    demo_traffic,
    look_charts,
    release_charts,
    revision_sparks,
    sparkline,
    split_bars,
    traffic_timeline,
)


def render(renderable: RenderableType, width: int = 80, color: bool = False) -> str:
    console = Console(
        record=True, width=width, no_color=not color, color_system="truecolor" if color else None
    )
    console.print(renderable)
    return console.export_text()


def lines_of(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_sparkline_scales_between_lo_and_hi() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([0.0, None, 10.0], lo=0.0, hi=10.0) == "▁ █"
    assert sparkline([5.0, 5.0]) == "▁▁"  # flat
    assert sparkline([5.0], lo=0.0, hi=10.0) == "▅"
    assert sparkline([]) == "" and sparkline([None, None]) == ""


def test_sparkline_resamples_to_width_keeping_spikes() -> None:
    values = [0.0] * 20 + [9.0] + [0.0] * 19
    line = sparkline(values, width=10, lo=0.0)
    assert len(line) == 10
    assert line.count("█") == 1 and line.count("▁") == 9


ROLLED_BACK: list[dict[str, Any]] = [
    {"t_s": 0.0, "weight": 0, "event": "start"},
    {"t_s": 10.0, "weight": 10, "event": "step 1: 10%"},
    {"t_s": 16.0, "weight": 0, "event": "rolled back"},
]


def test_traffic_timeline_draws_the_weight_over_time() -> None:
    out = lines_of(render(traffic_timeline(ROLLED_BACK, duration=20.0, width=25, height=2)))
    # 20 columns of 1 s: 0 % for 10 s, 10 % (a quarter-block of a two-row chart) for 6 s, then 0 % again
    assert out == [
        "traffic to the new revision (% of requests over time)",
        "100%",
        "  0%           ▂▂▂▂▂▂",
        "     0s               20s",
        "0s start; 10s step 1: 10%; 16s rolled back",
    ]


def test_traffic_timeline_full_promotion() -> None:
    points = [
        {"t_s": 0.0, "weight": 0, "event": "start"},
        {"t_s": 2.0, "weight": 50, "event": "step 1: 50%"},
        {"t_s": 6.0, "weight": 100, "event": "promoted"},
    ]
    out = lines_of(render(traffic_timeline(points, duration=8.0, width=13, height=2)))
    assert out[1] == "100%       ██"
    assert out[2] == "  0%   ██████"
    # a release promoted at its very end still shows its last weight in the last column
    ends = [{"t_s": 0.0, "weight": 0, "event": "start"}, {"t_s": 5.0, "weight": 100, "event": "step 1: 100%"}]
    assert lines_of(render(traffic_timeline(ends, duration=5.0, width=13, height=2)))[1] == "100%        █"


def test_traffic_timeline_without_points_says_no_data() -> None:
    assert render(traffic_timeline([], duration=10.0)).strip() == f"traffic to the new revision: {NO_DATA}"


def verdict(
    step: int, outcome: str, c_err: float, b_err: float, c_p95: float, b_p95: float
) -> dict[str, Any]:
    return {
        "step": step,
        "look": 1,
        "outcome": outcome,
        "summary": "",
        "t_s": 1.0,
        "canary": {"requests": 100, "errors": 0, "error_rate": c_err, "p95_ms": c_p95},
        "baseline": {"requests": 900, "errors": 0, "error_rate": b_err, "p95_ms": b_p95},
        "limits": {},
    }


def test_look_charts_compare_canary_and_baseline_with_verdicts() -> None:
    looks = [
        verdict(0, "inconclusive", 0.0, 0.0, 20.0, 20.0),
        verdict(0, "pass", 0.0, 0.0, 20.0, 20.0),
        verdict(1, "fail", 0.1, 0.0, 320.0, 20.0),
    ]
    out = lines_of(render(look_charts(looks), width=80))
    assert out[0].startswith("analysis per look (3 looks)")
    text = "\n".join(out)
    assert out[1:] == [
        "metric                per look    last",
        "requests    canary    ███          100",
        "            baseline  ███          900",
        "error rate  canary    ▁▁█       10.00%",
        "            baseline  ▁▁▁        0.00%",
        "p95         canary    ▁▁█       320 ms",
        "            baseline  ▁▁▁        20 ms",
        "verdict               ?✓✗         fail",
        "step                  112",
    ]
    assert "limit" not in text  # the comparison judge has no fixed limits: the verdicts mark the looks


def test_look_charts_mark_the_thresholds_limit() -> None:
    look = verdict(0, "pass", 0.01, 0.0, 100.0, 0.0)
    look["baseline"] = None
    look["limits"] = {"max_error_rate": 0.02, "max_p95_ms": 200.0}
    text = render(look_charts([look, look]))
    assert "baseline" not in text
    # scaled against the limit: 1 % of a 2 % limit is half height, 100 ms of 200 ms too
    assert "error rate  canary  ▅▅         1.00%   2.00%" in text
    assert "p95         canary  ▅▅        100 ms  200 ms" in text


def test_look_charts_without_data() -> None:
    assert render(look_charts([])).strip() == f"analysis per look: {NO_DATA}"
    assert NO_DATA in render(look_charts([{"step": 0, "outcome": "inconclusive", "canary": None}]))
    idle = {"requests": 0, "errors": 0, "error_rate": None, "p95_ms": None}
    waiting = {"step": 0, "outcome": "inconclusive", "canary": idle, "baseline": idle, "limits": {}}
    out = lines_of(render(look_charts([waiting, waiting])))
    assert out[2] == "requests    canary    ▁▁                   0"  # no traffic reached the canary: why
    assert out[4] == "error rate  canary    no data              -"
    assert out[-2] == "verdict               ??        inconclusive"


def test_release_charts_of_a_report_without_verdicts() -> None:
    result = {"traffic": ROLLED_BACK, "duration_s": 20.0, "verdicts": []}
    text = render(release_charts(result, width=40))
    assert "traffic to the new revision" in text and "analysis per look" not in text


def test_split_bars_are_proportional() -> None:
    out = lines_of(render(split_bars({"rev-a": 90, "rev-b": 10}, width=28)))
    assert out == [
        "traffic split",
        "rev-a  ██████████████░  90%",
        "rev-b  ██░░░░░░░░░░░░░  10%",
    ]
    assert NO_DATA in render(split_bars({}))
    assert NO_DATA in render(split_bars({"rev-a": 0}))


def test_split_bars_fit_a_narrow_terminal() -> None:
    name = "bayit-plus-demo-00002-5pv-with-a-very-long-name"
    for line in render(split_bars({name: 100}, width=30), width=30).splitlines():
        assert len(line.rstrip()) <= 30


def test_revision_sparks() -> None:
    rows = [
        {
            "revision": "rev-a",
            "rps": [0.0, 10.0, 20.0],
            "error_rate": [None, 0.0, 0.5],
            "p95_ms": [None, 10.0, 30.0],
        }
    ]
    out = lines_of(render(revision_sparks(rows, 5.0), width=80))
    assert out[0] == "last 5 min per revision"
    assert out[1:] == [
        "revision          over time    now",
        "rev-a     req/s   ▁▅█         20.0",
        "          errors   ▁█        50.0%",  # no requests in the first slice: no error rate
        "          p95      ▃█        30 ms",
    ]
    idle = [{"revision": "rev-b", "rps": [0.0, 0.0], "error_rate": [None, None], "p95_ms": [None, None]}]
    text = render(revision_sparks(idle, 5.0))
    assert "▁▁" in text and NO_DATA in text
    assert render(revision_sparks([], 5.0)).strip() == f"recent traffic: {NO_DATA}"


def test_demo_traffic_draws_latency_and_errors() -> None:
    timeline = {
        "bucket_s": 1,
        "requests": [40, 40, 40, 40],
        "errors": [0, 0, 4, 0],
        "p95_ms": [10.0, 10.0, 310.0, 10.0],
    }
    out = lines_of(render(demo_traffic(timeline, width=20, height=2)))
    assert out == [
        "p95 latency of the synthetic traffic",
        "  310ms   █",
        "    0ms ▁▁█▁",
        "        0s 4s",
        "errors of the synthetic traffic (per second)",
        "      4   █",
        "      0   █",
        "        0s 4s",
    ]


def test_demo_traffic_without_errors_or_data() -> None:
    calm = {"bucket_s": 1, "requests": [5, 5], "errors": [0, 0], "p95_ms": [12.0, 12.0]}
    text = render(demo_traffic(calm))
    assert "none" in text
    assert render(demo_traffic({})).strip() == f"synthetic traffic over time: {NO_DATA}"


def test_no_color_output_keeps_every_character() -> None:
    coloured = render(split_bars({"a": 50, "b": 50}, width=30), width=30, color=True)
    plain = render(split_bars({"a": 50, "b": 50}, width=30), width=30, color=False)
    assert coloured == plain  # colour is decoration only: the bars are characters


def test_every_chart_fits_a_narrow_terminal() -> None:
    looks = [verdict(i // 20, "pass", 0.001 * i, 0.0, 10.0 + i, 10.0) for i in range(60)]
    timeline = {"bucket_s": 1, "requests": [40] * 300, "errors": [i % 7 for i in range(300)],
                "p95_ms": [float(i) for i in range(300)]}  # fmt: skip
    sparks = [{"revision": "a-very-long-revision-name-00001", "rps": [1.0] * 30, "error_rate": [0.0] * 30,
               "p95_ms": [5.0] * 30}]  # fmt: skip
    for chart in (
        traffic_timeline(ROLLED_BACK, duration=20.0, width=40),
        look_charts(looks, width=40),
        demo_traffic(timeline, width=40),
        revision_sparks(sparks, 5.0, width=40),
    ):
        text = render(chart, width=40)
        assert all(len(line.rstrip()) <= 40 for line in text.splitlines()), text
    narrow = lines_of(render(look_charts(looks, width=40), width=40))
    assert narrow[0] == "analysis per look (4 looks)"  # only the latest looks that fit
    assert narrow[-1] == "step                  3333"
    for width in (60, 80):
        limited = [{**v, "limits": {"max_error_rate": 0.05, "max_p95_ms": 250.0}} for v in looks]
        for chart in (look_charts(looks, width=width), look_charts(limited, width=width)):
            text = render(chart, width=width)
            assert all(len(line.rstrip()) <= width for line in text.splitlines()), text
            assert "…" not in text
