"""A parse worker process: what runs on the far side of `monitor.parse_pool`'s pipes.

The forkserver of the pool imports this module before it starts any worker, and with it
the feed parser (`monitor.parse`), the decoder (`monitor.decode`) and the article
extractor (`monitor.article.extract`, which brings trafilatura and lxml). The daemon's
own process never imports it: the pool knows this module only by its name
(`monitor.parse_pool.WORKER`), so those libraries, about 11 MB of memory the daemon
would never use, stay out of it.

Rules:
- Each job received is answered once, in the order received: ("ok", ParsedFeed) for a
  feed (decoded, then parsed, the items read at an earlier poll left out:
  `monitor.feed_items`), ("ok", text) for an article page (decoded, then
  extracted; "" if it holds no article), ("parse", message, hint) for a ParseError,
  ("error", "Type: message", at most 300 characters) for any other exception.
- A feed of more than `CHUNK` stories goes as a header and chunks (`_send`), which
  `monitor.parse_pool` puts back together; anything else is one message.
- SIGINT is ignored: Ctrl-C in a terminal reaches the daemon alone, which then stops
  the workers.
- The worker returns (and its process exits) when the daemon's end of the pipe closes,
  whether it was waiting for a job or sending a reply.
"""
from __future__ import annotations

import dataclasses
import signal

from .article.extract import extract_article
from .decode import decode_feed
from .errors import ParseError
from .feed_items import parse_new_items
from .parse import ParsedFeed
from .parse_pool import CHUNK, Pipe, Reply


def serve(conn: Pipe) -> None:
    """Answer each job received on `conn` until the daemon's end closes; see the module
    docstring."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if job[0] == "article":
                _, url, body, charset = job
                reply: Reply = ("ok", extract_article(body, charset, url))
            else:
                _, feed, body, charset, url, fetched, done = job
                reply = ("ok", parse_new_items(feed, decode_feed(body, charset), url, fetched, done))
        except ParseError as exc:
            reply = ("parse", exc.message, exc.hint)
        except Exception as exc:  # reported to the daemon, which records it on the feed
            reply = ("error", f"{type(exc).__name__}: {exc}"[:300])
        try:
            _send(conn, reply)
        except (EOFError, OSError):
            return


def _send(conn: Pipe, reply: Reply) -> None:
    """A worker's answer; a feed of many stories as a header and chunks of `CHUNK`."""
    if reply[0] != "ok" or not isinstance(reply[1], ParsedFeed) or len(reply[1].stories) <= CHUNK:
        conn.send(reply)
        return
    stories = reply[1].stories
    chunks = range(0, len(stories), CHUNK)
    conn.send(("chunked", dataclasses.replace(reply[1], stories=[]), len(chunks)))
    for i in chunks:
        conn.send(stories[i:i + CHUNK])
