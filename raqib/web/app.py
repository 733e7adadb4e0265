"""The web view's ASGI application: Starlette routes, Jinja2 templates, and the guard
every request passes first.

Routes (all GET but the try box):
    /                      the latest alerts (?watchlist=&source=&day=YYYY-MM-DD)
    /story/{id}            a story: every outlet that carried it, when, and a timeline
    /watchlists            each watchlist with its alerts per hour over 7 days
    /watchlists/{name}     one watchlist: its chart, its last alerts, the try box
    /try                   GET: an empty try box; POST: what the YAML would have caught
    /feeds                 the feeds' health, stories per day, the last error in words
    /search                ?q=&days=&source=: the stored stories a query matches
    /static/style.css      the one stylesheet, from the package

The guard (`Guard`, pure ASGI, outermost):
- Methods: GET and HEAD everywhere, POST on /try only (405 otherwise). Nothing writes:
  the try box computes and discards.
- Bounds: the query string at most 2 KiB and 20 parameters, each value at most 500
  characters (400 otherwise); a POST body at most 256 KiB (413, read no further), the
  YAML in it at most 64 KiB once decoded.
- Auth (`web.auth`): every request, see raqib/web/auth.py (at most two key derivations
  at a time; 503 with Retry-After when too many wait). A reload that changes `web.auth`
  applies to the next request (`WebView.set_auth`). Without auth the server only
  listens on loopback, and a request whose Host is not a loopback name is refused (421):
  a page of another site rebinding its name to 127.0.0.1 cannot read this one.
- CSRF: a POST whose `Sec-Fetch-Site` is not same-origin, or whose Origin (else
  Referer) is not this host, is refused (403).
- Headers on every answer, errors included: a strict Content-Security-Policy (no
  script at all, styles and images from this origin only, forms post here only, no
  framing), nosniff, Referrer-Policy same-origin (so our own form's Origin is sent),
  no caching of pages.
- A try or a search runs one at a time (the other reader thread stays free for pages),
  at most `HEAVY_WAITING` wait (503 beyond), each within its budget (`TRY_*`,
  `SEARCH_*`: seconds, stories read, terms compiled; the page says when one stopped it),
  and one whose client hung up is given up at once, waiting or running.
- A bad parameter (`days=nan`, `day=9999-99-99`) is 400 naming it and one INFO line,
  never a traceback (the client's mistake is no alarm).
- An exception is logged with its traceback and answered with a short page saying it
  was logged; no traceback is ever sent.

Language: Arabic and right to left by default; `?lang=en` or `?lang=ar` switches and
is remembered in a cookie (SameSite=Strict). Every string is in raqib/web/texts.py.
"""
from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alerts.plurals import count
from monitor.desk import MAX_QUERY, Budget
from monitor.errors import ConfigError, RaqibError
from monitor.models import Watchlist
from monitor.settings import LOOPBACK, WebAuth
from monitor.store import Store

from . import views
from .auth import REALM, Authenticator, Busy, presented_secret
from .reader import Reader
from .texts import LANGS, error_words, text

log = logging.getLogger(__name__)
T = TypeVar("T")
D = TypeVar("D")

MAX_QUERY_STRING = 2048
MAX_PARAMS = 20
MAX_VALUE = 500
MAX_BODY = 256 * 1024
MAX_TRY_TEXT = 64 * 1024
MAX_DAYS = 30
TRY_LIMIT = 200
SEARCH_LIMIT = 50
# The budgets of the web view's heavy work (monitor.desk.Budget): seconds, stories read,
# terms compiled. When one stops the work, the page says so.
TRY_SECONDS, TRY_STORIES, TRY_TERMS = 10.0, 50_000, 200
SEARCH_SECONDS, SEARCH_STORIES = 5.0, 20_000
HEAVY_WAITING = 8  # tries and searches waiting for their turn; more are 503
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NAME = re.compile(r"^[\w.:@-]{1,200}$")


class BadParam(Exception):
    """A query parameter or form field that cannot be read; the message names it."""


@dataclass
class Desk:
    """What the web view reads from the daemon: its database file, the watchlists in
    force (called on the loop), the clock."""

    database: Path | str  # a SQLite file or a postgresql:// URL
    watchlists: Callable[[], Sequence[Watchlist]]
    clock: Callable[[], float] = time.time
    tz: str = ""  # web.tz: the zone every time on the pages is shown in; "": UTC


class WebView:
    def __init__(self, desk: Desk, *, auth: WebAuth | None = None, loopback_only: bool = True) -> None:
        self.desk = desk
        self.reader = Reader(desk.database)
        self.heavy = asyncio.Semaphore(1)  # a try or a search at a time: one reader stays free for pages
        self.heavy_waiting = 0
        self.env = Environment(loader=PackageLoader("raqib.web", "templates"), autoescape=True,
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.css = resources.files("raqib.web").joinpath("static/style.css").read_bytes()
        self.css_etag = '"' + hashlib.sha256(self.css).hexdigest()[:16] + '"'
        routes = [
            Route("/", self.alerts),
            Route("/story/{story_id:int}", self.story),
            Route("/watchlists", self.watchlists),
            Route("/watchlists/{name}", self.watchlist),
            Route("/try", self.try_box, methods=["GET", "POST"]),
            Route("/feeds", self.feeds),
            Route("/search", self.search),
            Route("/static/style.css", self.stylesheet),
        ]
        # BadParam has its own handler: Starlette re-raises what reaches the catch-all
        # (`Exception`), and a bad parameter is the client's mistake, one INFO line
        handlers: dict[int | type[Exception], Callable[..., Awaitable[Response]]] = {HTTPException: self._http_error,
                                                                    BadParam: self._bad_param,
                                                                    Exception: self._crash}
        self.starlette = Starlette(routes=routes, exception_handlers=handlers)
        self.guard = Guard(self.starlette, self, auth=auth, loopback_only=loopback_only)
        self.app: ASGIApp = self.guard

    def close(self) -> None:
        self.reader.close()
        if self.guard.auth is not None:
            self.guard.auth.close()

    def set_auth(self, auth: WebAuth | None) -> None:
        """`web.auth` changed (the daemon's reload): applies to the next request."""
        self.guard.set_auth(auth)

    # -- helpers ------------------------------------------------------------------------

    def lang(self, request: Request) -> str:
        asked = request.query_params.get("lang")
        if asked in LANGS:
            return asked
        cookie = request.cookies.get("lang")
        return cookie if cookie in LANGS else "ar"

    def render(self, request: Request, template: str, status: int = 200, **values: object) -> HTMLResponse:
        lang = self.lang(request)
        other = "en" if lang == "ar" else "ar"
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
        body = self.env.get_template(template).render(
            lang=lang, dir="rtl" if lang == "ar" else "ltr", t=functools.partial(text, lang),
            dur=functools.partial(duration, lang), count=functools.partial(_count, lang=lang), path=request.url.path,
            switch_href=request.url.path + "?" + urlencode([*params, ("lang", other)]),
            section=values.pop("section", ""), tz=self.desk.tz or "UTC", **values)
        response = HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})
        if request.query_params.get("lang") in LANGS:
            response.set_cookie("lang", lang, max_age=365 * 86400, httponly=True, samesite="strict")
        return response

    def _watchlists(self) -> list[Watchlist]:
        return sorted(self.desk.watchlists(), key=lambda w: w.name)

    # -- pages --------------------------------------------------------------------------

    async def alerts(self, request: Request) -> Response:
        q = Params(request.query_params)
        watchlist, source, day = q.name("watchlist"), q.name("source"), q.day("day")
        before = q.cursor("before")
        refresh = q.number("refresh", 10, 3600, default=None)
        page = await self.reader(functools.partial(views.alerts_page, watchlist=watchlist, source=source,
                                                   day=day, tz=self.desk.tz, before=before))
        try:  # the newest alert this browser was shown last time: what is newer is marked new
            seen = float(request.cookies.get("seen", "")) if request.cookies.get("seen") else None
        except ValueError:
            seen = None
        if seen is not None and not math.isfinite(seen):
            seen = None
        kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("before", "lang")]
        older = "/?" + urlencode([*kept, ("before", page.older)]) if page.older else ""
        refresh_href = "/?" + urlencode([(k, v) for k, v in kept if k != "refresh"]
                                        + ([] if refresh else [("refresh", "60")]))
        response = self.render(request, "alerts.html", section="alerts", page=page, watchlists=self._watchlists(),
                               chosen={"watchlist": watchlist or "", "source": source or "",
                                       "day": q.get("day") or ""},
                               seen=seen, older=older, refresh=int(refresh) if refresh else 0,
                               refresh_href=refresh_href)
        newest = max((a.created for a in page.items), default=None)
        if before is None and newest is not None and (seen is None or newest > seen):
            response.set_cookie("seen", repr(newest), max_age=365 * 86400, httponly=True, samesite="strict")
        return response

    async def story(self, request: Request) -> Response:
        story_id = int(request.path_params["story_id"])
        page = (await self.reader(views.story_page, story_id, self.desk.tz, self.lang(request) == "ar")
                if story_id < 2**63 else None)
        if page is None:
            return self.render(request, "error.html", status=404, message_key="story_missing")
        return self.render(request, "story.html", section="alerts", page=page)

    async def watchlists(self, request: Request) -> Response:
        cards = await self.reader(functools.partial(views.watchlists_page, watchlists=self._watchlists(),
                                                    now=self.desk.clock(), tz=self.desk.tz))
        return self.render(request, "watchlists.html", section="watchlists", cards=cards)

    async def watchlist(self, request: Request) -> Response:
        name = request.path_params["name"]
        found = next((w for w in self._watchlists() if w.name == name), None)
        if found is None:
            return self.render(request, "error.html", status=404, message_key="watchlist_missing")
        page = await self.reader(views.watchlist_page, found, self.desk.clock(), self.desk.tz)
        return self.render(request, "watchlist.html", section="watchlists", page=page, text=page.text,
                           days=3, file=views.file_label(found.path), result=None)

    async def try_box(self, request: Request) -> Response:
        if request.method != "POST":
            return self.render(request, "try.html", section="watchlists", text="", days=3, file="", result=None)
        form = await read_form(request)
        yaml_text = form.text("yaml", MAX_TRY_TEXT)
        days = form.number("days", 1, MAX_DAYS, default=3)
        file = form.name("file") or "try.yaml"
        budget = Budget(seconds=TRY_SECONDS, stories=TRY_STORIES, terms=TRY_TERMS)
        result = await self._heavy(request, budget, functools.partial(
            views.try_page, text=yaml_text, file=file, days=days, now=self.desk.clock(), limit=TRY_LIMIT,
            tz=self.desk.tz, budget=budget))
        return self.render(request, "try.html", section="watchlists", text=yaml_text, days=days, file=file,
                           result=result)

    async def _heavy(self, request: Request, budget: Budget, work: Callable[[Store], T]) -> T:
        """A try or a search: one at a time, `HEAVY_WAITING` at most waiting (503 beyond),
        and given up as soon as its client hangs up: a waiting one leaves the queue, a
        running one stops at its next story (`budget.cancelled`)."""
        if self.heavy_waiting >= HEAVY_WAITING:
            raise HTTPException(503, "busy")
        self.heavy_waiting += 1

        async def run() -> T:
            async with self.heavy:
                return await self.reader(work)

        task = asyncio.ensure_future(run())
        gone = asyncio.ensure_future(_disconnected(request))
        try:
            await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                budget.cancelled.set()
                task.cancel()
                log.info("web request abandoned by its client path=%s", request.url.path)
                raise HTTPException(499, "client closed request")
            return task.result()
        finally:
            self.heavy_waiting -= 1
            gone.cancel()

    async def feeds(self, request: Request) -> Response:
        lines = await self.reader(views.feeds_page, self.desk.clock(), self.desk.tz)
        return self.render(request, "feeds.html", section="feeds", lines=lines, now=self.desk.clock(),
                           why=error_words, ago=functools.partial(ago, self.lang(request), self.desk.clock()))

    async def search(self, request: Request) -> Response:
        q = Params(request.query_params)
        query = (q.get("q") or "").strip()
        days = q.number("days", 1, 3650, default=None)
        source = q.name("source")
        page, problem = None, ""
        if query:
            try:
                budget = Budget(seconds=SEARCH_SECONDS, stories=SEARCH_STORIES)
                page = await self._heavy(request, budget, functools.partial(
                    views.search_page, query=query, days=days, source=source, limit=SEARCH_LIMIT,
                    now=self.desk.clock(), tz=self.desk.tz, budget=budget))
            except ConfigError as exc:
                problem = str(exc)
        sources = await self.reader(_feed_names)
        return self.render(request, "search.html", section="search", query=query, days=days or "",
                           source=source or "", sources=sources, page=page, problem=problem,
                           max_query=MAX_QUERY, status=400 if problem else 200)

    async def stylesheet(self, request: Request) -> Response:
        headers = {"etag": self.css_etag, "cache-control": "public, max-age=3600"}
        if request.headers.get("if-none-match") == self.css_etag:
            return Response(status_code=304, headers=headers)
        return Response(self.css, media_type="text/css; charset=utf-8", headers=headers)

    # -- errors -------------------------------------------------------------------------

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        key = f"err_{status}" if f"err_{status}" in _ERROR_KEYS else "err_400"
        return self.render(request, "error.html", status=status, message_key=key)

    async def _bad_param(self, request: Request, exc: Exception) -> Response:
        log.info("web request refused path=%s reason=%s", request.url.path, exc)
        return self.render(request, "error.html", status=400, message_key="err_400", detail=str(exc))

    async def _crash(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, BadParam):
            return await self._bad_param(request, exc)
        if isinstance(exc, RaqibError):  # the store refused (damaged, unreadable): say so, no traceback
            log.error("web page failed path=%s error=%s", request.url.path, exc)
            return self.render(request, "error.html", status=503, message_key="err_500", detail=str(exc))
        log.error("web page failed path=%s", request.url.path, exc_info=exc)
        return self.render(request, "error.html", status=500, message_key="err_500")


async def _disconnected(request: Request) -> None:
    """Returns when the client has hung up (the body, if any, was read already)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


_ERROR_KEYS = {"err_400", "err_403", "err_404", "err_405", "err_413", "err_500", "err_503"}


def _count(n: int, noun: str, *, lang: str) -> str:
    return count(n, noun, lang)


def _feed_names(store: Store) -> list[str]:
    return [f.name for f in store.feeds.all()]


def ago(lang: str, now: float, ts: float | None) -> str:
    if not ts:
        return text(lang, "never")
    s = max(now - ts, 0)
    if s < 120:
        return text(lang, "ago_s", n=int(s))
    if s < 7200:
        return text(lang, "ago_m", n=int(s // 60))
    if s < 2 * 86400:
        return text(lang, "ago_h", n=int(s // 3600))
    return text(lang, "ago_d", n=int(s // 86400))


def duration(lang: str, seconds: float) -> str:
    """A short duration in the page's language: 45 s, 12 min, 3 h 5 min, 2 d 4 h."""
    s = int(max(seconds, 0))
    unit = functools.partial(_unit, lang)
    if s < 60:
        return unit("u_s", s)
    if s < 3600:
        return unit("u_m", s // 60)
    if s < 86400:
        return unit("u_h", s // 3600) + (" " + unit("u_m", s % 3600 // 60) if s % 3600 >= 60 else "")
    return unit("u_d", s // 86400) + (" " + unit("u_h", s % 86400 // 3600) if s % 86400 >= 3600 else "")


def _unit(lang: str, key: str, n: int) -> str:
    return text(lang, key, n=n)


class Params:
    """Query parameters (or form fields) read with bounds; a bad one is BadParam naming it."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values

    def get(self, key: str) -> str | None:
        value = self.values.get(key)
        if value is not None and len(value) > MAX_VALUE:
            raise BadParam(f"{key}: at most {MAX_VALUE} characters")
        return value

    def name(self, key: str) -> str | None:
        value = (self.get(key) or "").strip()
        if not value:
            return None
        if not _NAME.match(value):
            raise BadParam(f"{key}: not a name")
        return value

    def cursor(self, key: str) -> tuple[float, int] | None:
        """A paging cursor `CREATED:ID` (what the "older" link carries), or None."""
        value = self.get(key)
        if not value:
            return None
        created, _, row = value.partition(":")
        try:
            cursor = (float(created), int(row))
        except ValueError:
            raise BadParam(f"{key}: expected a page cursor") from None
        if not math.isfinite(cursor[0]):
            raise BadParam(f"{key}: expected a page cursor")
        return cursor

    def day(self, key: str) -> str | None:
        value = (self.get(key) or "").strip()
        if not value:
            return None
        try:
            if not _DAY.match(value):
                raise ValueError(value)
            datetime.strptime(value, "%Y-%m-%d")  # a real day (not 2024-02-31)
            return value
        except ValueError:
            raise BadParam(f"{key}: expected a day as YYYY-MM-DD") from None

    def number(self, key: str, low: float, high: float, default: D) -> float | D:
        value = (self.get(key) or "").strip()
        if not value:
            return default
        try:
            number = float(value)
        except ValueError:
            raise BadParam(f"{key}: expected a number") from None
        if not low <= number <= high:
            raise BadParam(f"{key}: from {low:g} to {high:g}")
        return number


class Form(Params):
    def text(self, key: str, limit: int) -> str:
        value = self.values.get(key) or ""
        if len(value.encode("utf-8")) > limit:
            raise PayloadTooLarge(f"{key}: at most {limit // 1024} KiB")
        return value


class PayloadTooLarge(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


async def read_form(request: Request) -> Form:
    """A urlencoded form body, at most MAX_BODY bytes (read no further)."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise PayloadTooLarge("body too large")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise BadParam("expected a form (application/x-www-form-urlencoded)")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise PayloadTooLarge("body too large")
    try:
        fields = parse_qs(body.decode("ascii"), keep_blank_values=True, max_num_fields=MAX_PARAMS,
                          encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadParam("the form is not UTF-8 text") from None
    return Form({k: v[0] for k, v in fields.items()})


# -- the guard ------------------------------------------------------------------------------

class Guard:
    """Methods, bounds, auth, Host, CSRF and security headers, before any route runs."""

    def __init__(self, app: ASGIApp, view: WebView, *, auth: WebAuth | None, loopback_only: bool) -> None:
        self.app = app
        self.view = view
        self._loopback = loopback_only
        self.auth: Authenticator | None = None
        self.loopback_only = loopback_only
        self.set_auth(auth)

    def set_auth(self, auth: WebAuth | None) -> None:
        """Take `web.auth` as it is now (the daemon's reload): the next request is checked
        against it; credentials remembered under the old one are forgotten."""
        old, self.auth = self.auth, Authenticator(auth) if auth is not None else None
        self.loopback_only = self._loopback and auth is None
        if old is not None:
            old.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [h for h in message.get("headers", []) if h[0].lower() not in _REPLACED]
                message = {**message, "headers": headers + SECURITY_HEADERS}
            await send(message)

        try:
            refusal = await self.refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, guarded_send)
                return
            await self.app(scope, receive, guarded_send)
        except Exception:
            log.exception("web request failed path=%s", scope.get("path"))
            if not started:
                await _plain(500, "error; it is in the daemon's log")(scope, receive, guarded_send)

    async def refusal(self, scope: Scope) -> Response | None:
        method, path = scope["method"], scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.loopback_only and not _loopback_host(headers.get("host", "")):
            return _plain(421, "this server answers to its loopback address only")
        if self.auth is not None:
            try:
                if not await self._authenticated(self.auth, headers.get("authorization")):
                    return _plain(401, "authentication required", {"www-authenticate": REALM})
            except Busy:
                return _plain(503, "busy checking passwords; try again in a moment", {"retry-after": "1"})
        if method not in ("GET", "HEAD") and not (method == "POST" and path == "/try"):
            return _plain(405, "read-only: GET only (POST on /try)", {"allow": "GET, HEAD"})
        query = scope.get("query_string", b"")
        if len(query) > MAX_QUERY_STRING or query.count(b"&") >= MAX_PARAMS:
            return _plain(400, f"query string too long (at most {MAX_QUERY_STRING} bytes, {MAX_PARAMS} parameters)")
        if method == "POST" and not _same_origin(headers):
            return _plain(403, "refused: the form must be sent from this site (Origin)")
        return None

    @staticmethod
    async def _authenticated(auth: Authenticator, header: str | None) -> bool:
        secret = presented_secret(header)
        if secret is None:
            return False
        return await auth.verify(secret)


_REPLACED = {h for h, _ in SECURITY_HEADERS}


def _plain(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(message + "\n", status_code=status, media_type="text/plain; charset=utf-8",
                    headers={"cache-control": "no-store", **(headers or {})})


def _loopback_host(host: str) -> bool:
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1:].partition("]")[0]
    else:
        name = name.rpartition(":")[0] if name.count(":") == 1 else name
    return name in LOOPBACK


def _same_origin(headers: dict[str, str]) -> bool:
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = headers.get("origin") or headers.get("referer")
    if origin is None:
        return False  # every browser says where a form comes from; other clients can add Origin
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == headers.get("host", "").lower()
