"""Secrets at rest: API keys and passwords are stored as salted scrypt hashes, never raw."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# scrypt cost: n=2**14, r=8 (~16 MiB, a few ms). Keys are 256-bit random, so the cost guards
# passwords; verified keys are cached in memory by the authenticator so requests stay fast.
_N, _R, _P = 2**14, 8, 1
KEY_PREFIX = "af"
# Key ids of keys without the af_ shape: the operator's REALTIME_API_KEY. Not hex, so no
# generated key id can start with it.
BOOTSTRAP_PREFIX = "op-"


def hash_secret(secret: str) -> str:
    """``scrypt$n$r$p$salt$hash`` for ``secret`` with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.urlsafe_b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_secret(secret: str, stored: str) -> bool:
    """Constant-time check of ``secret`` against a ``hash_secret`` string."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(
        secret.encode(), salt=base64.urlsafe_b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(got, base64.urlsafe_b64decode(digest))


def new_api_key() -> tuple[str, str]:
    """A fresh key ``af_<key_id>_<secret>``; returns (key_id, full key)."""
    key_id = secrets.token_hex(6)
    return key_id, f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def key_id_of(key: str) -> str:
    """The lookup id of a key: the ``<id>`` of ``af_<id>_<secret>``, else a digest prefix.

    The digest form covers the operator's bootstrap key, which has no ``af_`` shape.
    """
    parts = key.split("_", 2)
    if len(parts) == 3 and parts[0] == KEY_PREFIX and len(parts[1]) == 12:
        return parts[1]
    return BOOTSTRAP_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:9]
