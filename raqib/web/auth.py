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
  most 64 of them), so a browser's requests do not each pay for scrypt again. A password
  that failed is remembered the same way for `FAILED_FOR` seconds (at most 1024), so
  the same wrong guess repeated costs nothing.
- Key derivations are bounded: at most `CHECKS` at a time, on a pool of that many
  threads of their own (never the shared pool), and at most `WAITING` requests wait for
  one; a request beyond that is answered 503 with Retry-After at once. Memory stays at
  `CHECKS` x 128·r·N bytes (2 x 32 MiB for the default hash), far under the unit's
  MemoryMax, whatever the flood; a remembered credential never waits.
- A bad or missing credential is 401 with `WWW-Authenticate: Basic`; the answer never
  says which part was wrong.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from monitor.settings import WebAuth

REALM = 'Basic realm="Raqib", charset="UTF-8"'
MAX_CREDENTIAL = 4096  # bytes of an Authorization header we look at
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
CHECKS = 2  # key derivations at once
WAITING = 16  # requests waiting for one; more are 503 at once
FAILED_FOR = 60.0  # seconds a failed password is answered from memory
REMEMBERED, FAILED = 64, 1024


class Busy(Exception):
    """Too many password checks waiting: answer 503, try again shortly."""


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
    def __init__(self, auth: WebAuth, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.auth = auth
        self.clock = clock
        self._key = secrets.token_bytes(32)
        self._passed: dict[bytes, None] = {}
        self._failed: dict[bytes, float] = {}  # mac -> when it failed
        self._slots = asyncio.Semaphore(CHECKS)
        self._waiting = 0
        self._pool: ThreadPoolExecutor | None = None

    @property
    def slow(self) -> bool:
        """Whether checking a new password costs a key derivation (run it off the loop)."""
        return self.auth.scheme != "token"

    def _mac(self, secret: str) -> bytes:
        return hmac.new(self._key, secret.encode("utf-8"), hashlib.sha256).digest()

    def remembered(self, secret: str) -> bool:
        mac = self._mac(secret)
        return any(hmac.compare_digest(mac, known) for known in self._passed)

    def failed_lately(self, secret: str) -> bool:
        failed = self._failed.get(self._mac(secret))
        return failed is not None and self.clock() - failed < FAILED_FOR

    async def verify(self, secret: str) -> bool:
        """`check`, bounded: remembered answers at once; a key derivation waits for one of
        `CHECKS` slots (Busy when `WAITING` already wait) and runs on its own threads."""
        if not self.slow or self.remembered(secret):
            return self.check(secret)
        if self.failed_lately(secret):
            return False
        if self._waiting >= WAITING:
            raise Busy()
        self._waiting += 1
        try:
            async with self._slots:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=CHECKS, thread_name_prefix="web-auth")
                return await asyncio.get_running_loop().run_in_executor(self._pool, self.check, secret)
        finally:
            self._waiting -= 1

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

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
        mac = self._mac(secret)
        if ok:
            if len(self._passed) >= REMEMBERED:
                self._passed.pop(next(iter(self._passed)))
            self._passed[mac] = None
        else:
            if len(self._failed) >= FAILED:
                self._failed.pop(next(iter(self._failed)))
            self._failed[mac] = self.clock()
        return ok
