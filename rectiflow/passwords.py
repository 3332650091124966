"""Password hashing with scrypt (stdlib), constant-time comparison, parameters stored per hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from rectiflow.i18n import N_, Message

N, R, P = 2**14, 8, 1
MIN_LENGTH = 8


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return f"scrypt${N}${R}${P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(stored: str, password: str) -> bool:
    try:
        algo, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if algo != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), n=int(n), r=int(r), p=int(p),
                                dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def password_problems(password: str) -> list[Message]:
    """What is wrong with a new password, as message ids rendered in the reader's language."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(Message(N_("At least %(n)d characters."), n=MIN_LENGTH))
    if password.isdigit() or password.isalpha():
        problems.append(Message(N_("Mix letters and digits.")))
    return problems
