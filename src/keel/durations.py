"""Durations as people write them in YAML and on the command line: "10m", "30s", "1h30m", "250ms"."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(value: str | float | int) -> float:
    """Seconds in a duration: a number (seconds) or one or more ``<number><unit>`` parts with units
    ms, s, m, h, d (``"1h30m"``). Raises ValueError with a message fit to show a user."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 30s or 10m, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            pos = 0
            seconds = 0.0
            for match in _PART.finditer(text):
                if match.start() != pos:
                    break
                seconds += float(match.group(1)) * _UNITS[match.group(2)]
                pos = match.end()
            if pos != len(text) or not text:
                raise ValueError(
                    f"invalid duration {value!r}: use a number with a unit, such as 30s, 10m, 1h30m or 250ms"
                ) from None
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        raise ValueError(f"invalid duration {value!r}: must be a finite, non-negative time")
    return seconds


def format_duration(seconds: float) -> str:
    """The short form of a duration: 600 -> "10m", 90 -> "1m30s", 0.25 -> "250ms"."""
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    whole = round(seconds)
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts) or "0s"


def _validate(value: Any) -> float:
    if not isinstance(value, str | int | float):
        raise ValueError(f"expected a duration such as 30s or 10m, got {type(value).__name__}")
    return parse_duration(value)


Duration = Annotated[float, BeforeValidator(_validate), PlainSerializer(format_duration, return_type=str)]
"""A pydantic field type: accepts "10m", "30s", 45 (seconds); holds seconds as a float."""
