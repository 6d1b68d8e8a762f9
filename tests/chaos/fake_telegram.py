"""fake_telegram.py -- a minimal Telegram Bot API for the chaos suite's bot
scenario: what host/telegram/tg_api.c calls, on loopback.

  POST /bot<token>/getUpdates     {offset, timeout}: updates below offset
                                  are confirmed (dropped); waits up to
                                  timeout s (at most 50) for one; a second
                                  getUpdates while one waits gets 409, as
                                  Telegram answers
  POST /bot<token>/sendMessage    {chat_id, text}: recorded, message object
  POST /bot<token>/deleteMessage  {chat_id, message_id}: true
  POST /bot<token>/getMe          the bot's user object
  anything else                   404; a wrong token 401

How: a ThreadingHTTPServer in a thread of the chaos runner; updates and
sent messages live in lists under one Condition, so say() wakes a waiting
getUpdates at once and wait_sent() wakes on a new message.

Never: reach the real Telegram, or keep a message's text anywhere but in
memory.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeTelegram:
    def __init__(self, token):
        self.token = token
        self.cv = threading.Condition()
        self.updates = []        # (update_id, dict)
        self.next_id = 1000
        self.sent = []           # (t, chat_id, text)
        self.stats = {"get_updates": 0, "conflicts": 0, "send_message": 0,
                      "delete_message": 0, "unauthorized": 0, "last_poll": None}
        self.polling = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet: never print a request
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b"{}"
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = None
                code, ans = outer.handle(self.path, body)
                data = json.dumps(ans).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a killed pod's long poll: nobody left to answer

            do_GET = do_POST

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        with self.cv:
            self.cv.notify_all()
        self.srv.shutdown()
        self.srv.server_close()

    # -------------------------------------------------------- the API
    @staticmethod
    def err(code, desc):
        return code, {"ok": False, "error_code": code, "description": desc}

    def handle(self, path, body):
        prefix = f"/bot{self.token}/"
        if not path.startswith(prefix):
            with self.cv:
                self.stats["unauthorized"] += 1
            return self.err(401, "Unauthorized")
        if not isinstance(body, dict):
            return self.err(400, "Bad Request: body is not a JSON object")
        method = path[len(prefix):]
        if method == "getUpdates":
            return self.get_updates(body)
        if method == "sendMessage":
            text, chat = body.get("text"), body.get("chat_id")
            if not isinstance(text, str) or not text or not isinstance(chat, (int, float)):
                return self.err(400, "Bad Request: message text is empty")
            with self.cv:
                self.stats["send_message"] += 1
                self.sent.append((time.monotonic(), int(chat), text))
                mid = 500000 + len(self.sent)
                self.cv.notify_all()
            return 200, {"ok": True, "result": {"message_id": mid, "date": int(time.time()),
                                                "chat": {"id": int(chat), "type": "private"},
                                                "text": text}}
        if method == "deleteMessage":
            with self.cv:
                self.stats["delete_message"] += 1
            return 200, {"ok": True, "result": True}
        if method == "getMe":
            return 200, {"ok": True, "result": {"id": int(self.token.split(":")[0]),
                                                "is_bot": True, "first_name": "chaos",
                                                "username": "chaos_bot"}}
        return self.err(404, "Not Found")

    def get_updates(self, body):
        offset = int(body.get("offset") or 0)
        timeout = max(0, min(50, int(body.get("timeout") or 0)))
        with self.cv:
            self.stats["get_updates"] += 1
            self.stats["last_poll"] = time.monotonic()
            if self.polling:
                self.stats["conflicts"] += 1
                return self.err(409, "Conflict: terminated by other getUpdates request")
            self.polling = 1
            try:
                if offset > 0:
                    self.updates = [u for u in self.updates if u[0] >= offset]
                end = time.monotonic() + timeout
                while not self.updates and time.monotonic() < end:
                    self.cv.wait(end - time.monotonic())
                res = [u[1] for u in self.updates[:100]]
            finally:
                self.polling = 0
        return 200, {"ok": True, "result": res}

    # ------------------------------------------------------ the test side
    def say(self, user_id, text):
        """A private-chat message from user_id; returns its update_id."""
        with self.cv:
            uid = self.next_id
            self.next_id += 1
            self.updates.append((uid, {
                "update_id": uid,
                "message": {"message_id": uid + 1000, "date": int(time.time()), "text": text,
                            "from": {"id": user_id, "is_bot": False, "first_name": "Chaos"},
                            "chat": {"id": user_id, "type": "private"}}}))
            self.cv.notify_all()
        return uid

    def mark(self):
        with self.cv:
            return len(self.sent)

    def wait_sent(self, chat, needle, since, timeout):
        """(t, text) of the first message to chat after index `since`
        containing needle, or None after timeout."""
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                for t, ch, text in self.sent[since:]:
                    if ch == chat and needle in text:
                        return t, text
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)

    def polled_since(self, t):
        with self.cv:
            lp = self.stats["last_poll"]
        return lp is not None and lp >= t
