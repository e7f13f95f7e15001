"""Password hashing (Argon2id via argon2-cffi) and random tokens (only their SHA-256 is stored)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from labkeep.exceptions import LabkeepException

_hasher: Any = None
TOKEN_PREFIX = "lkp_"


def _argon2() -> Any:
    global _hasher
    if _hasher is None:
        try:
            from argon2 import PasswordHasher
        except ImportError:  # pragma: no cover - the auth extra is missing
            raise LabkeepException(
                "Authentication needs the argon2-cffi package: pip install 'labkeep[auth]'.",
                error_code="INVALID_STATE",
            ) from None
        _hasher = PasswordHasher()
    return _hasher


def hash_password(password: str) -> str:
    return _argon2().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_argon2().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A fresh secret token: 32 random bytes, URL-safe, recognisable by its prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def ensure_available() -> None:
    """Fail early (at server start) when the hashing library is missing."""
    _argon2()
