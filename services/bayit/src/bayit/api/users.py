"""The signed-in user."""

from __future__ import annotations

from fastapi import APIRouter, Response

from bayit.api.deps import SessionDep, UserDep
from bayit.schemas import AUTH_ERRORS, COMMON_ERRORS, UserOut

router = APIRouter(prefix="/users", tags=["users"], responses={**COMMON_ERRORS, **AUTH_ERRORS})


@router.get("/me", response_model=UserOut, summary="The signed-in user")
async def me(user: UserDep) -> UserOut:
    return UserOut.model_validate(user)


@router.delete("/me", status_code=204, summary="Delete the signed-in user and their watchlist")
async def delete_me(user: UserDep, session: SessionDep) -> Response:
    await session.delete(user)
    await session.commit()
    return Response(status_code=204)
