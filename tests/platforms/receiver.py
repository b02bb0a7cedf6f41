"""A real HTTP receiver for the webhook tests: a platform's endpoint on loopback.

It records each request as received (raw body, headers) and answers a scripted sequence of replies, e.g.
`receive(500, 500, 200)` (the fixture is in conftest.py); once the script is used up it answers 200. A reply may
also carry headers, a body, or a delay before answering (longer than the read timeout: a timeout).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"ok": true}'
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.record(Received(method=self.command, path=self.path, headers=headers, body=body))
        if reply.delay:
            self.server.stopping.wait(reply.delay)
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer to

    do_POST = _answer
    do_GET = _answer

    def log_message(self, format, *args) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, replies: list[Reply]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replies = replies
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def record(self, received: Received) -> Reply:
        with self.lock:
            self.received.append(received)
            return self.replies.pop(0) if self.replies else Reply()

    def handle_error(self, request, client_address) -> None:
        pass


class Receiver:
    def __init__(self, *replies: int | Reply):
        self._server = _Server([reply if isinstance(reply, Reply) else Reply(status=reply) for reply in replies])
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks"

    @property
    def received(self) -> list[Received]:
        with self._server.lock:
            return list(self._server.received)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
