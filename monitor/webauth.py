"""The web view's secret as raqib.yaml (`web.auth`), RAQIB_WEB_AUTH or the systemd
credential `web_auth` gives it, read into a `WebAuth`.

Rules: `token:SECRET` (SECRET at least 16 characters without spaces), or a password hash
`scrypt:N:r:p:SALT:HASH` (N a power of two from 2^10 to 2^20, r 1-32, p 1-16) or
`pbkdf2_sha256:ITERATIONS:SALT:HASH` (iterations from 100,000 to 10,000,000), salt and hash
in hex, as `raqib web password` prints them. A refusal never quotes the value. Unset in the
file, the secret is read from RAQIB_WEB_AUTH, then from the credential.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .config import Section
from .errors import ConfigError

WEB_AUTH_ENV, WEB_AUTH_CREDENTIAL = "RAQIB_WEB_AUTH", "web_auth"
_HEX = r"[0-9a-fA-F]{16,1024}"
_AUTH_FORMS = {
    "token": re.compile(r"^token:(?P<secret>\S{16,1024})$"),
    "scrypt": re.compile(rf"^scrypt:(?P<n>\d{{1,8}}):(?P<r>\d{{1,2}}):(?P<p>\d{{1,2}}):"
                         rf"(?P<salt>{_HEX}):(?P<hash>{_HEX})$"),
    "pbkdf2_sha256": re.compile(rf"^pbkdf2_sha256:(?P<iterations>\d{{1,8}}):(?P<salt>{_HEX}):(?P<hash>{_HEX})$"),
}


@dataclass(frozen=True, repr=False)
class WebAuth:
    """How the web view checks a visitor: a shared token, or a password against its hash.
    `secret` is the token or the hash (bytes as hex in `salt`); never shown by repr."""

    scheme: str  # token | scrypt | pbkdf2_sha256
    secret: str
    salt: str = ""
    n: int = 0
    r: int = 0
    p: int = 0
    iterations: int = 0

    def __repr__(self) -> str:
        return f"WebAuth(scheme={self.scheme!r}, secret=***)"


def parse_web_auth(text: str, error: Callable[[str], ConfigError]) -> WebAuth:
    """`token:SECRET`, `scrypt:N:r:p:SALT:HASH` or `pbkdf2_sha256:ITERATIONS:SALT:HASH`;
    anything else is `error(message)` raised (the message never quotes the value)."""
    text = text.strip()
    scheme = text.partition(":")[0]
    form = _AUTH_FORMS.get(scheme)
    m = form.match(text) if form else None
    if m is None:
        if scheme == "token":
            raise error("a token must be token: and at least 16 characters without spaces")
        raise error("expected token:SECRET (at least 16 characters), scrypt:N:r:p:SALT:HASH or "
                    "pbkdf2_sha256:ITERATIONS:SALT:HASH (the value is not shown)")
    if scheme == "token":
        return WebAuth("token", m["secret"])
    if scheme == "scrypt":
        n, r, p = int(m["n"]), int(m["r"]), int(m["p"])
        if n < 2**10 or n > 2**20 or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16 or n * r * 128 > 2**30:
            raise error("scrypt: N must be a power of two from 1024 to 1048576, r 1-32, p 1-16")
        return WebAuth("scrypt", m["hash"].lower(), salt=m["salt"].lower(), n=n, r=r, p=p)
    iterations = int(m["iterations"])
    if not 100_000 <= iterations <= 10_000_000:
        raise error("pbkdf2_sha256: iterations must be from 100,000 to 10,000,000")
    return WebAuth("pbkdf2_sha256", m["hash"].lower(), salt=m["salt"].lower(), iterations=iterations)


def auth_from_environment(section: Section) -> WebAuth | None:
    """web.auth when the file leaves it out: RAQIB_WEB_AUTH, then the credential web_auth."""
    value = os.environ.get(WEB_AUTH_ENV, "").strip()
    where = WEB_AUTH_ENV
    if not value:
        creds = os.environ.get("CREDENTIALS_DIRECTORY")
        if not creds:
            return None
        path = Path(creds) / WEB_AUTH_CREDENTIAL
        try:
            value = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise section.error(f"web.auth: cannot read the credential {path}: {exc}", "auth") from None
        where = f"the credential {path}"
    if not value:
        return None
    return parse_web_auth(value, lambda message: section.error(f"web.auth (from {where}): {message}", "auth"))
