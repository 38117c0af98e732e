"""Shares as people write them in YAML and on the command line: "99%", "99.5 %", 0.99."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BeforeValidator, Field


def parse_share(value: str | float | int) -> float:
    """A share or a relative change: ``"10%"`` -> 0.1, ``"0.1"`` or 0.1 -> 0.1. Raises ValueError with a
    message fit to show a user."""
    if isinstance(value, bool):
        raise ValueError(f"expected a percentage such as 10% or a fraction such as 0.1, got {value!r}")
    if isinstance(value, int | float):
        share = float(value)
    else:
        text = value.strip()
        try:
            share = float(text[:-1].strip()) / 100.0 if text.endswith("%") else float(text)
        except ValueError:
            raise ValueError(
                f"invalid percentage {value!r}: expected a percentage such as 10% or a fraction such as 0.1"
            ) from None
    if math.isnan(share) or math.isinf(share):
        raise ValueError(f"invalid percentage {value!r}: must be finite")
    return share


def share_value(value: Any) -> Any:
    return parse_share(value) if isinstance(value, str) else value


Fraction = Annotated[float, BeforeValidator(share_value), Field(ge=0.0, le=1.0)]
"""A share between 0 and 1, written as 0.99 or "99%"."""

Increase = Annotated[float, BeforeValidator(share_value), Field(ge=0.0)]
"""A relative increase, written as 0.1 or "10%" (may exceed 100 %)."""
