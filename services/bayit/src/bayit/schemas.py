"""Request and response bodies of the public API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, EmailStr, Field


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
    password: str = Field(min_length=8, max_length=128)
    display_name: str = Field(min_length=1, max_length=100)


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: str = Field(min_length=1, max_length=128)


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

    content_id: int = Field(ge=1)


class WatchlistItemOut(BaseModel):
    content: ContentOut
    added_at: datetime


class WatchlistOut(BaseModel):
    items: list[WatchlistItemOut]
    total: int
