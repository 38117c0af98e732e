"""Password hashing (Argon2id) and JWT access tokens with key rotation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ISSUER = "bayit-plus"
ALGORITHM = "HS256"

# Argon2id with a modest memory cost: strong enough for a web login, cheap enough for a 2-core box.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A fixed hash to verify against when the user does not exist, so login timing does not reveal accounts.
DUMMY_HASH = hash_password("not-a-real-password-for-timing-equalisation")


class TokenError(Exception):
    """The token is missing, expired, forged or malformed; the message is safe to show."""


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_in: int
    token_type: str = "bearer"


def create_token(user_id: int, signing_key: str, expire_minutes: int) -> Token:
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "iat": now, "exp": now + timedelta(minutes=expire_minutes), "iss": ISSUER}
    return Token(jwt.encode(claims, signing_key, algorithm=ALGORITHM), expire_minutes * 60)


def decode_token(token: str, keys: tuple[str, ...]) -> int:
    """The user id in a valid token. Tries each key in turn (current first, then the rotated-out one)."""
    last: Exception | None = None
    for key in keys:
        try:
            claims = jwt.decode(
                token, key, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["exp", "sub", "iat"]}
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("token expired") from None
        except jwt.InvalidSignatureError as exc:
            last = exc
            continue
        except jwt.InvalidTokenError:
            raise TokenError("invalid token") from None
        try:
            return int(claims["sub"])
        except (TypeError, ValueError):
            raise TokenError("invalid token") from None
    raise TokenError("invalid token") from last
