"""Request dependencies: the database session, settings and the signed-in user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bayit.models import User
from bayit.security import TokenError, decode_token
from bayit.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="JWT from POST /auth/login")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.db.session() as session:
        yield session


async def get_reader(request: Request) -> AsyncIterator[AsyncConnection]:
    async with request.app.state.db.read() as conn:
        yield conn


SessionDep = Annotated[AsyncSession, Depends(get_session)]
ReaderDep = Annotated[AsyncConnection, Depends(get_reader)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def current_user(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "not authenticated: send Authorization: Bearer <token>", headers=challenge)
    try:
        user_id = decode_token(credentials.credentials, settings.verification_keys)
    except TokenError as exc:
        raise HTTPException(401, str(exc), headers=challenge) from None
    user = await session.get(User, user_id)
    if user is None:
        raise HTTPException(401, "invalid token: user no longer exists", headers=challenge)
    return user


UserDep = Annotated[User, Depends(current_user)]
