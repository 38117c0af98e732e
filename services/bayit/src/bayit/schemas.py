"""Request and response bodies of the public API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from bayit.passwords import password_problem

#: The largest id an ``INTEGER`` column holds (PostgreSQL int4, and what SQLite's driver accepts safely): ids
#: beyond it are refused at the edge as 422 instead of reaching the database as a driver error.
MAX_ID = 2**31 - 1

#: No C0 control characters (NUL among them: PostgreSQL cannot store it, SQLite silently truncates on it) and
#: no DEL. Shared by every free-text input, and published in the OpenAPI document as the field's pattern.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
PRINTABLE_MESSAGE = "must not contain control characters (NUL, newlines, tabs...)"
#: The same, and not blank: at least one character that is neither a space nor a control character.
VISIBLE = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
VISIBLE_MESSAGE = "must contain a visible character and no control characters (NUL, newlines, tabs...)"

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


class ContentQuery(BaseModel):
    """The catalog's query parameters, as one model: FastAPI documents them, and the catalog's fast route
    validates a request's query string with it directly."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(default=20, ge=1, le=100, description="Items per page (1-100)")
    offset: int = Field(default=0, ge=0, le=100_000, description="Items to skip")
    type: ContentType | None = Field(default=None, description="movie, series or podcast")
    category: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$", description="ISO 639-1 code, e.g. he")
    q: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=VISIBLE,
        description="Text search in titles and descriptions (not blank, no control characters)",
    )


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


class ChannelOut(BaseModel):
    """A live channel as the original Bayit+ API's ``GET /live/channels`` lists it."""

    id: int
    name: str
    description: str = ""
    thumbnail: str | None = None
    logo: str | None = None
    category: str
    culture_id: str | None = None
    currentShow: str | None = None
    nextShow: str | None = None
    stream_url: str
    language: str


class ChannelList(BaseModel):
    channels: list[ChannelOut]
    total: int


DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=VISIBLE)
]


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: NewPassword
    display_name: DisplayName | None = Field(default=None, description="Required unless name is given")
    name: DisplayName | None = Field(
        default=None, description="The original Bayit+ API's name for display_name (either one)"
    )

    @model_validator(mode="after")
    def _one_name(self) -> RegisterIn:
        if self.display_name is None and self.name is None:
            raise ValueError("display_name (or name): field required")
        return self

    @property
    def chosen_name(self) -> str:
        return self.display_name or self.name or ""


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Not re-validated as an address: an email that could not have registered simply gets the same 401.
    email: Annotated[str, Field(min_length=3, max_length=320, pattern=PRINTABLE)]
    password: Annotated[str, Field(min_length=1, max_length=128, pattern=PRINTABLE)]


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str
    created_at: datetime
    name: str = Field(description="The same as display_name (the original Bayit+ API's field)")
    is_active: bool = True
    role: str = "user"


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserOut


class RegisterOut(UserOut):
    """The new user, and a token so the client is signed in at once (as the original API does)."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserOut


class WatchlistIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_id: Id = Field(description="An integer, or its decimal string (as the original clients send)")
    content_type: Literal["vod", "movie", "series", "podcast"] | None = Field(
        default=None, description="Accepted from the original clients; the catalog knows each item's type"
    )


class WatchlistItemOut(BaseModel):
    content: ContentOut
    added_at: datetime
    # The flat fields of the original Bayit+ API's watchlist items, beside the nested content.
    id: int
    title: str
    type: ContentType
    year: int
    category: str
    thumbnail: str
    addedAt: datetime

    @classmethod
    def of(cls, content: ContentOut, added_at: datetime) -> WatchlistItemOut:
        return cls(
            content=content,
            added_at=added_at,
            id=content.id,
            title=content.title,
            type=content.type,
            year=content.year,
            category=content.category,
            thumbnail=content.poster_url,
            addedAt=added_at,
        )


class WatchlistCheck(BaseModel):
    in_watchlist: bool
    message: str | None = None


class WatchlistOut(BaseModel):
    items: list[WatchlistItemOut]
    total: int


class ErrorField(BaseModel):
    field: str = Field(description="The field, parameter or header at fault (``email``, ``limit``)")
    message: str


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable: validation_error, not_found, too_many_requests, ...")
    message: str
    fields: list[ErrorField] | None = Field(default=None, description="One entry per bad field (422 only)")


class ErrorOut(BaseModel):
    """The envelope of every error response."""

    error: ErrorDetail
    detail: str = Field(description="The message again, where FastAPI clients look for it")
    correlation_id: str = Field(description="Also in the X-Correlation-ID header; quote it in bug reports")


_ERROR_DESCRIPTIONS = {
    400: "Malformed request (a value the database cannot hold, a non-numeric Content-Length)",
    401: "Missing, expired or invalid bearer token, or wrong email or password",
    404: "No such item",
    409: "Already exists",
    413: "Request body larger than MAX_REQUEST_BODY_BYTES",
    422: "Invalid parameters or body; error.fields names each bad field",
    429: "Too many failed logins from this address or for this account; wait Retry-After seconds",
    503: "The database is unavailable; retry after Retry-After seconds",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
_WWW_AUTHENTICATE = {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses, with the envelope as their schema."""
    found: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"model": ErrorOut, "description": _ERROR_DESCRIPTIONS[code]}
        if code in (429, 503):
            entry["headers"] = _RETRY_AFTER
        found[code] = entry
    return found


#: What any database-backed operation can answer besides its own outcomes.
COMMON_ERRORS = error_responses(400, 422, 503)
BODY_ERRORS = error_responses(413)
AUTH_ERRORS = error_responses(401)
