"""Registration and login: Argon2id password hashes, JWT bearer tokens."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bayit.api.deps import SessionDep, SettingsDep, UserDep
from bayit.models import User
from bayit.ratelimit import LoginGuard
from bayit.schemas import (
    AUTH_ERRORS,
    BODY_ERRORS,
    COMMON_ERRORS,
    LoginIn,
    RegisterIn,
    RegisterOut,
    TokenOut,
    UserOut,
    error_responses,
)
from bayit.security import DUMMY_HASH, create_token, hash_password, verify_password

router = APIRouter(prefix="/auth", tags=["auth"], responses=COMMON_ERRORS)


@router.post(
    "/register",
    response_model=RegisterOut,
    status_code=201,
    responses={**BODY_ERRORS, **error_responses(409)},
    summary="Create an account",
)
async def register(body: RegisterIn, session: SessionDep, settings: SettingsDep) -> RegisterOut:
    email = body.email.lower()
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise HTTPException(409, "an account with this email already exists")
    password_hash = await asyncio.to_thread(hash_password, body.password)
    user = User(email=email, password_hash=password_hash, display_name=body.chosen_name)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise HTTPException(409, "an account with this email already exists") from None
    out = UserOut.model_validate(user)
    token = create_token(user.id, settings.signing_key, settings.ACCESS_TOKEN_EXPIRE_MINUTES)
    return RegisterOut(
        **out.model_dump(), access_token=token.access_token, expires_in=token.expires_in, user=out
    )


@router.post(
    "/login",
    response_model=TokenOut,
    responses={**BODY_ERRORS, **error_responses(401, 429)},
    summary="Exchange email and password for a bearer token",
)
async def login(body: LoginIn, request: Request, session: SessionDep, settings: SettingsDep) -> TokenOut:
    guard: LoginGuard = request.app.state.login_guard
    account = body.email.lower()
    address = request.client.host if request.client else "-"
    wait = guard.retry_after(account, address)
    if wait is not None:  # refused before the password is even checked: guessing costs the attacker time
        raise HTTPException(
            429, f"too many failed logins; try again in {wait} s", headers={"Retry-After": str(wait)}
        )
    user = await session.scalar(select(User).where(User.email == account))
    stored = user.password_hash if user is not None else DUMMY_HASH
    ok = await asyncio.to_thread(verify_password, stored, body.password)
    if user is None or not ok:
        guard.failed(account, address)
        raise HTTPException(401, "wrong email or password", headers={"WWW-Authenticate": "Bearer"})
    guard.succeeded(account, address)
    token = create_token(user.id, settings.signing_key, settings.ACCESS_TOKEN_EXPIRE_MINUTES)
    return TokenOut(
        access_token=token.access_token, expires_in=token.expires_in, user=UserOut.model_validate(user)
    )


@router.get("/me", response_model=UserOut, responses=AUTH_ERRORS, summary="The signed-in user (as /users/me)")
async def me(user: UserDep) -> UserOut:
    return UserOut.model_validate(user)
