"""What the daemon serves over HTTP, on its own loop: /metrics and /healthz when
`metrics.listen` is set (`raqib.metrics`), and the web view when `web.listen` is set
(`raqib.web`: uvicorn, reading the database through read-only connections of its own).
Either is None when its option is unset.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from monitor.settings import LOOPBACK, MetricsSettings, WebSettings
from monitor.watchlists import Watchlist

from .metrics import Observed, serve_metrics
from .web import Desk, WebServer, WebView


async def start_metrics(settings: MetricsSettings, daemon: Observed) -> asyncio.Server | None:
    if not settings.listen:
        return None
    return await serve_metrics(settings.listen, daemon, allow_remote=settings.allow_remote)


async def start_web(settings: WebSettings, database: str | Path, watchlists: Callable[[], list[Watchlist]],
                    clock: Callable[[], float]) -> WebServer | None:
    if not settings.listen:
        return None
    host = settings.listen.rpartition(":")[0].strip("[]")
    view = WebView(Desk(database=database, watchlists=watchlists, clock=clock, tz=settings.tz or ""),
                   auth=settings.auth, loopback_only=host in LOOPBACK)
    server = WebServer(view, settings.listen)
    try:
        await server.start()
    except BaseException:
        view.close()
        raise
    return server
