"""Request and response bodies of the public API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from bayit.passwords import password_problem

#: The largest id an ``INTEGER`` column holds (PostgreSQL int4, and what SQLite's driver accepts safely): ids
#: beyond it are refused at the edge as 422 instead of reaching the database as a driver error.
MAX_ID = 2**31 - 1

#: No C0 control characters (NUL among them: PostgreSQL cannot store it, SQLite silently truncates on it) and
#: no DEL. Shared by every free-text input, and published in the OpenAPI document as the field's pattern.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
PRINTABLE_MESSAGE = "must not contain control characters (NUL, newlines, tabs...)"

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _new_password(value: str) -> str:
    problem = password_problem(value)
    if problem:
        raise ValueError(problem)
    return value


NewPassword = Annotated[
    str, Field(min_length=8, max_length=128, pattern=PRINTABLE), AfterValidator(_new_password)
]


class ContentType(StrEnum):
    movie = "movie"
    series = "series"
    podcast = "podcast"


class ContentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type: ContentType
    title: str
    title_en: str
    title_he: str
    description: str
    category: str
    language: str
    year: int
    duration_minutes: int
    rating: float
    episodes: int | None
    poster_url: str


class ContentPage(BaseModel):
    items: list[ContentOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class LiveChannelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    title_he: str
    type: str = "live"
    category: str
    language: str
    stream_url: str
    is_live: bool


class LiveList(BaseModel):
    items: list[LiveChannelOut]
    total: int


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: NewPassword
    display_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=PRINTABLE)
    ]


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: Annotated[str, Field(min_length=1, max_length=128, pattern=PRINTABLE)]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str
    created_at: datetime


class WatchlistIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_id: Id


class WatchlistItemOut(BaseModel):
    content: ContentOut
    added_at: datetime


class WatchlistOut(BaseModel):
    items: list[WatchlistItemOut]
    total: int
