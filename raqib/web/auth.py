"""Who may read the web view: nobody is asked on loopback without `web.auth`; with it,
every request carries the token or the password.

Rules:
- A client sends `Authorization: Bearer SECRET`, or HTTP Basic with SECRET as the
  password (any user name), which is what a browser asks for by itself: no login page,
  no session cookie, nothing stored on the server.
- `token:` compares the presented secret with the configured one in constant time
  (`hmac.compare_digest` over SHA-256 digests, so lengths do not leak either).
- A password hash is checked with hashlib: scrypt (N, r, p, salt) or PBKDF2-HMAC-SHA256
  (iterations, salt), the result compared in constant time. A password that passed is
  remembered for the life of the process as an HMAC under a random per-process key (at
  most 64 of them), so a browser's requests do not each pay for scrypt again.
- A bad or missing credential is 401 with `WWW-Authenticate: Basic`; the answer never
  says which part was wrong.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets

from monitor.settings import WebAuth

REALM = 'Basic realm="Raqib", charset="UTF-8"'
MAX_CREDENTIAL = 4096  # bytes of an Authorization header we look at
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """`scrypt:N:r:p:SALT:HASH` for web.auth (salt and hash in hex)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_maxmem(n, r), dklen=32)
    return f"scrypt:{n}:{r}:{p}:{salt.hex()}:{digest.hex()}"


def _maxmem(n: int, r: int) -> int:
    return 128 * r * n + 2**20 * 2


def presented_secret(header: str | None) -> str | None:
    """The secret in an Authorization header (Bearer, or Basic's password), or None."""
    if not header or len(header) > MAX_CREDENTIAL:
        return None
    scheme, _, value = header.strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "bearer" and value:
        return value
    if scheme == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        _, sep, password = decoded.partition(":")
        return password if sep and password else None
    return None


class Authenticator:
    def __init__(self, auth: WebAuth) -> None:
        self.auth = auth
        self._key = secrets.token_bytes(32)
        self._passed: dict[bytes, None] = {}

    @property
    def slow(self) -> bool:
        """Whether checking a new password costs a key derivation (run it off the loop)."""
        return self.auth.scheme != "token"

    def remembered(self, secret: str) -> bool:
        mac = hmac.new(self._key, secret.encode("utf-8"), hashlib.sha256).digest()
        return any(hmac.compare_digest(mac, known) for known in self._passed)

    def check(self, secret: str) -> bool:
        """Whether `secret` is the token or the password; constant time in what it compares."""
        auth = self.auth
        given = secret.encode("utf-8")
        if auth.scheme == "token":
            return hmac.compare_digest(hashlib.sha256(given).digest(),
                                       hashlib.sha256(auth.secret.encode("utf-8")).digest())
        if self.remembered(secret):
            return True
        salt, expected = bytes.fromhex(auth.salt), bytes.fromhex(auth.secret)
        if auth.scheme == "scrypt":
            derived = hashlib.scrypt(given, salt=salt, n=auth.n, r=auth.r, p=auth.p,
                                     maxmem=_maxmem(auth.n, auth.r), dklen=len(expected))
        else:
            derived = hashlib.pbkdf2_hmac("sha256", given, salt, auth.iterations, dklen=len(expected))
        ok = hmac.compare_digest(derived, expected)
        if ok:
            if len(self._passed) >= 64:
                self._passed.pop(next(iter(self._passed)))
            self._passed[hmac.new(self._key, given, hashlib.sha256).digest()] = None
        return ok
