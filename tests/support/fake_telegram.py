"""A fake Telegram Bot API server on 127.0.0.1, for the real python-telegram-bot client.

It is a real HTTP server (the standard library's threaded `http.server`) that answers
`/bot<TOKEN>/<method>` the way the Bot API does: `{"ok": true, "result": ...}` or
`{"ok": false, "error_code": N, "description": "...", "parameters": {...}}`.

Implemented methods: getMe, getUpdates (long-polls a queue of updates the test pushes),
deleteWebhook, setMyCommands, deleteMyCommands, getMyCommands, sendMessage,
editMessageText, answerCallbackQuery, getChatMember, getChatAdministrators, getChat,
close, logOut. Every call is recorded with its arrival time (`time.monotonic()`).

Faults: `fail(method, kind, chat_id=None, times=1, ...)` makes the next matching calls
answer 429 with `retry_after`, 403 Forbidden, 400 "group chat was upgraded to a
supergroup chat" with `migrate_to_chat_id`, or a plain 400 Bad Request.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

BOT_ID = 7000001
BOT_USERNAME = "raqib_test_bot"


@dataclass
class Call:
    method: str
    params: dict
    at: float  # time.monotonic() on arrival
    token: str


@dataclass
class Fault:
    method: str
    kind: str  # "429" | "403" | "migrate" | "400" | "500"
    chat_id: str | None
    times: int
    retry_after: int = 5
    migrate_to: int = 0
    description: str = ""


@dataclass
class Message:
    chat_id: str
    message_id: int
    text: str
    params: dict
    edits: list[str] = field(default_factory=list)


class FakeTelegram:
    """Start with `with FakeTelegram() as tg:`; `tg.api_url` goes into the config."""

    def __init__(self, *, long_poll: float = 0.25, latency: float = 0.0) -> None:
        self.long_poll = long_poll  # the longest getUpdates waits for an update
        self.latency = latency  # added to every sendMessage answer (bench realism)
        self.calls: list[Call] = []
        self.messages: list[Message] = []
        self.chat_admins: dict[str, set[int]] = {}
        self.chat_types: dict[str, str] = {}
        self._faults: list[Fault] = []
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> FakeTelegram:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # the URL carries the token: stay quiet
                pass

            def do_GET(self) -> None:
                self._serve(b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._serve(self.rfile.read(length) if length else b"")

            def _serve(self, body: bytes) -> None:
                path = self.path.split("?", 1)[0]
                parts = path.strip("/").split("/")
                if len(parts) != 2 or not parts[0].startswith("bot"):
                    self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                token, method = parts[0][3:], parts[1]
                params: dict[str, Any] = {}
                if "?" in self.path:
                    params.update(parse_qsl(self.path.split("?", 1)[1]))
                ctype = self.headers.get("Content-Type", "")
                if body and "json" in ctype:
                    params.update(json.loads(body))
                elif body:
                    params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                status, doc = fake.handle(token, method, params)
                self._answer(status, doc)

            def _answer(self, status: int, doc: dict) -> None:
                raw = json.dumps(doc, ensure_ascii=False).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (shutdown mid long-poll)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=lambda: self._server.serve_forever(poll_interval=0.05), name="fake-telegram", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            with self._cond:
                self._cond.notify_all()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def api_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- what tests do ----------------------------------------------------------------------

    def fail(self, method: str, kind: str, *, chat_id: str | int | None = None, times: int = 1,
             retry_after: int = 5, migrate_to: int = 0, description: str = "") -> None:
        with self._cond:
            self._faults.append(Fault(method, kind, None if chat_id is None else str(chat_id), times,
                                      retry_after, migrate_to, description))

    def push_update(self, update: dict) -> dict:
        with self._cond:
            update = {"update_id": next(self._update_ids), **update}
            self._updates.append(update)
            self._cond.notify_all()
        return update

    def push_command(self, chat_id: int, text: str, *, user_id: int | None = None,
                     chat_type: str | None = None, title: str = "", sender_chat: dict | None = None) -> dict:
        """A user types `text` in a chat (private when chat_id > 0, a supergroup otherwise)."""
        chat_type = chat_type or ("private" if chat_id > 0 else "supergroup")
        user_id = user_id if user_id is not None else chat_id
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "User"
        else:
            chat["title"] = title or "Group"
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
            "from": {"id": user_id, "is_bot": False, "first_name": "User", "language_code": "ar"},
            "text": text,
        }
        if sender_chat:
            message["sender_chat"] = sender_chat
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16(command)}]
        key = "channel_post" if chat_type == "channel" else "message"
        if chat_type == "channel":
            message.pop("from")
        return self.push_update({key: message})

    def push_callback(self, chat_id: int, data: str, *, user_id: int | None = None,
                      message_id: int = 1, chat_type: str | None = None) -> dict:
        chat_type = chat_type or ("private" if chat_id > 0 else "supergroup")
        user_id = user_id if user_id is not None else chat_id
        return self.push_update({"callback_query": {
            "id": str(next(self._update_ids) * 1000), "chat_instance": str(chat_id), "data": data,
            "from": {"id": user_id, "is_bot": False, "first_name": "User"},
            "message": {"message_id": message_id, "date": int(time.time()),
                        "chat": {"id": chat_id, "type": chat_type},
                        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Raqib"}, "text": "…"},
        }})

    def calls_of(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def sent(self, chat_id: str | int | None = None) -> list[Message]:
        with self._cond:
            return [m for m in self.messages if chat_id is None or m.chat_id == str(chat_id)]

    def texts(self, chat_id: str | int) -> list[str]:
        return [m.text for m in self.sent(chat_id)]

    def pending_updates(self) -> int:
        with self._cond:
            return len(self._updates)

    # -- the Bot API --------------------------------------------------------------------------

    def handle(self, token: str, method: str, params: dict) -> tuple[int, dict]:
        with self._cond:
            self.calls.append(Call(method, dict(params), time.monotonic(), token))
            fault = self._take_fault(method, params)
        if fault is not None:
            return _fault_answer(fault)
        if method == "getUpdates":
            return 200, _ok(self._get_updates(params))
        if method == "sendMessage" and self.latency:
            time.sleep(self.latency)
        with self._cond:
            handler = getattr(self, "_m_" + method, None)
            if handler is None:
                if method in ("deleteWebhook", "setMyCommands", "deleteMyCommands", "close", "logOut",
                              "answerCallbackQuery", "setWebhook"):
                    return 200, _ok(True)
                return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
            return handler(params)

    def _take_fault(self, method: str, params: dict) -> Fault | None:
        for fault in self._faults:
            if fault.method != method or fault.times <= 0:
                continue
            if fault.chat_id is not None and str(params.get("chat_id")) != fault.chat_id:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            return fault
        return None

    def _get_updates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), self.long_poll)
        deadline = time.monotonic() + wait
        with self._cond:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and self._server is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return list(self._updates[:100])

    def _chat(self, chat_id: str) -> dict:
        kind = self.chat_types.get(chat_id)
        if chat_id.startswith("@"):
            return {"id": -1000000000000 - abs(hash(chat_id)) % 10**9, "type": kind or "channel",
                    "title": chat_id, "username": chat_id[1:]}
        cid = int(chat_id)
        if kind is None:
            kind = "private" if cid > 0 else ("supergroup" if str(cid).startswith("-100") else "group")
        chat: dict[str, Any] = {"id": cid, "type": kind}
        chat["first_name" if kind == "private" else "title"] = "Chat"
        return chat

    def _m_getMe(self, params: dict) -> tuple[int, dict]:
        return 200, _ok({"id": BOT_ID, "is_bot": True, "first_name": "Raqib", "username": BOT_USERNAME,
                         "can_join_groups": True, "can_read_all_group_messages": False,
                         "supports_inline_queries": False})

    def _m_getMyCommands(self, params: dict) -> tuple[int, dict]:
        return 200, _ok([])

    def _m_getChat(self, params: dict) -> tuple[int, dict]:
        return 200, _ok({**self._chat(str(params["chat_id"])), "accent_color_id": 0, "max_reaction_count": 0})

    def _m_sendMessage(self, params: dict) -> tuple[int, dict]:
        chat_id = str(params["chat_id"])
        text = params.get("text", "")
        if not text.strip():
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
        if _utf16(_visible(text, params.get("parse_mode"))) > 4096:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
        msg = Message(chat_id, next(self._message_ids), text, dict(params))
        self.messages.append(msg)
        return 200, _ok({"message_id": msg.message_id, "date": int(time.time()), "chat": self._chat(chat_id),
                         "text": text})

    def _m_editMessageText(self, params: dict) -> tuple[int, dict]:
        chat_id, message_id = str(params["chat_id"]), int(params["message_id"])
        for msg in self.messages:
            if msg.chat_id == chat_id and msg.message_id == message_id:
                if msg.text == params.get("text"):
                    return 400, {"ok": False, "error_code": 400, "description":
                                 "Bad Request: message is not modified: specified new message content and "
                                 "reply markup are exactly the same as a current content and reply markup "
                                 "of the message"}
                msg.text = params.get("text", "")
                msg.edits.append(msg.text)
                return 200, _ok({"message_id": message_id, "date": int(time.time()),
                                 "edit_date": int(time.time()), "chat": self._chat(chat_id), "text": msg.text})
        return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message to edit not found"}

    def _m_getChatMember(self, params: dict) -> tuple[int, dict]:
        chat_id, user_id = str(params["chat_id"]), int(params["user_id"])
        user = {"id": user_id, "is_bot": False, "first_name": "User"}
        if user_id in self.chat_admins.get(chat_id, set()):
            return 200, _ok({"status": "administrator", "user": user, **_ADMIN_RIGHTS})
        return 200, _ok({"status": "member", "user": user})

    def _m_getChatAdministrators(self, params: dict) -> tuple[int, dict]:
        chat_id = str(params["chat_id"])
        return 200, _ok([{"status": "administrator", "user": {"id": uid, "is_bot": False, "first_name": "Admin"},
                          **_ADMIN_RIGHTS} for uid in sorted(self.chat_admins.get(chat_id, set()))])


_ADMIN_RIGHTS = {
    "can_be_edited": False, "is_anonymous": False, "can_manage_chat": True, "can_delete_messages": True,
    "can_manage_video_chats": True, "can_restrict_members": True, "can_promote_members": False,
    "can_change_info": True, "can_invite_users": True, "can_post_stories": False,
    "can_edit_stories": False, "can_delete_stories": False,
}


def _ok(result: Any) -> dict:
    return {"ok": True, "result": result}


def _fault_answer(fault: Fault) -> tuple[int, dict]:
    if fault.kind == "429":
        return 429, {"ok": False, "error_code": 429,
                     "description": f"Too Many Requests: retry after {fault.retry_after}",
                     "parameters": {"retry_after": fault.retry_after}}
    if fault.kind == "403":
        return 403, {"ok": False, "error_code": 403,
                     "description": fault.description or "Forbidden: bot was blocked by the user"}
    if fault.kind == "migrate":
        return 400, {"ok": False, "error_code": 400,
                     "description": "Bad Request: group chat was upgraded to a supergroup chat",
                     "parameters": {"migrate_to_chat_id": fault.migrate_to}}
    if fault.kind == "500":
        return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
    return 400, {"ok": False, "error_code": 400,
                 "description": fault.description or "Bad Request: can't parse entities"}


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _visible(text: str, parse_mode: str | None) -> str:
    """The text after entity parsing, as Telegram counts it for the 4,096 limit."""
    if (parse_mode or "").upper() != "HTML":
        return text
    import html
    import re
    return html.unescape(re.sub(r"<[^>]*>", "", text))
