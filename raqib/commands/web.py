"""`raqib web password`: the hash of a password for `web.auth`."""
from __future__ import annotations

import argparse
import getpass
import sys

from monitor.errors import ConfigError

from ..web.auth import hash_password


def cmd_web_password(args: argparse.Namespace) -> int:
    """Read a password (asked twice on a terminal, else one line of stdin) and print the
    scrypt hash `web.auth` takes; the password itself is never stored or printed."""
    if sys.stdin.isatty():
        password = getpass.getpass("password for the web view: ")
        if getpass.getpass("again: ") != password:
            raise ConfigError("the two passwords differ; nothing printed")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 12:
        raise ConfigError("a web password needs at least 12 characters")
    print(hash_password(password))
    return 0
