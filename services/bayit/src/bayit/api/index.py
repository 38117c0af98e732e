"""The API index: name, version and links."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from bayit import __version__

router = APIRouter(tags=["index"])


@router.get("/", summary="API index")
async def index(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    prefix = settings.API_V1_PREFIX
    return {
        "name": settings.APP_NAME,
        "version": __version__,
        "environment": settings.ENVIRONMENT.value,
        "links": {
            "content": f"{prefix}/content",
            "live": f"{prefix}/live",
            "register": f"{prefix}/auth/register",
            "login": f"{prefix}/auth/login",
            "me": f"{prefix}/users/me",
            "watchlist": f"{prefix}/watchlist",
            "docs": "/docs",
            "openapi": "/openapi.json",
            "metrics": "/metrics",
        },
    }
