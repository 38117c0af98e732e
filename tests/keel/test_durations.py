import pytest
from pydantic import BaseModel, ValidationError

from keel.durations import Duration, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10m", 600.0),
        ("30s", 30.0),
        ("1h30m", 5400.0),
        ("250ms", 0.25),
        ("1.5s", 1.5),
        ("2d", 172800.0),
        ("45", 45.0),
        (12, 12.0),
        (0.5, 0.5),
        (" 1m 30s ", 90.0),
    ],
)
def test_parse_duration_accepts_units_and_plain_seconds(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10x", "m10", "1m-5s", "-3s", "ten minutes", "1.2.3s", "nan", "inf"])
def test_parse_duration_refuses_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_parse_duration_refuses_booleans() -> None:
    with pytest.raises(ValueError):
        parse_duration(True)


@pytest.mark.parametrize(
    ("seconds", "text"), [(600, "10m"), (90, "1m30s"), (0.25, "250ms"), (0, "0s"), (3661, "1h1m1s")]
)
def test_format_duration_round_trips(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


class _Model(BaseModel):
    hold: Duration


def test_duration_field_validates_and_serializes() -> None:
    assert _Model.model_validate({"hold": "10m"}).hold == 600.0
    assert _Model(hold=90).model_dump() == {"hold": "1m30s"}
    with pytest.raises(ValidationError, match="invalid duration"):
        _Model.model_validate({"hold": "soon"})
    with pytest.raises(ValidationError, match="expected a duration"):
        _Model.model_validate({"hold": [1]})
