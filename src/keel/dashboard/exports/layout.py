"""Panels placed left to right in rows of a fixed number of columns, each section starting a new row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int


def flow(sizes: Sequence[tuple[int, int]], columns: int, top: int = 0) -> tuple[list[Box], int]:
    """Boxes for ``(width, height)`` items from ``top``: an item that does not fit the row starts the next one,
    below the row's tallest item. Also returns the first free row below them all."""
    boxes: list[Box] = []
    x, y, row_height = 0, top, 0
    for w, h in sizes:
        w = min(w, columns)
        if x + w > columns:
            x, y, row_height = 0, y + row_height, 0
        boxes.append(Box(x, y, w, h))
        x += w
        row_height = max(row_height, h)
    return boxes, y + row_height
