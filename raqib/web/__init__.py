"""The desk's web view, served by the daemon: alerts, stories, watchlists with a try box,
feed health and search, in Arabic (right to left) and English.

- `app`     the ASGI application (Starlette) and the guard every request passes: auth,
            bounds, CSRF, the Content-Security-Policy; the rules are in its docstring;
- `views`   what each page shows, read in one go in a reader thread;
- `reader`  read-only store connections in worker threads, off the daemon's loop;
- `server`  uvicorn inside the daemon's loop;
- `auth`    tokens and password hashes; `charts` SVG geometry; `texts` every string.

Off by default: `web: {listen: 127.0.0.1:8080}` in the config turns it on.
"""
from __future__ import annotations

from .app import Desk, WebView
from .server import WebServer

__all__ = ["Desk", "WebServer", "WebView"]
