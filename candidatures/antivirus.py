"""Virus scanning of uploaded files by ClamAV's daemon (clamd), over its socket.

The INSTREAM protocol is written here (a few lines) rather than taken from the `clamd` package, unmaintained
since 2014. The bytes are streamed to clamd, never written to disk first, so nothing infected ever reaches
the storage. `settings.CLAMAV_URL` says where clamd listens: `unix:///run/clamav/clamd.ctl` or
`tcp://127.0.0.1:3310`; empty disables scanning (a developer machine without clamd), which the deploy
system check refuses in production.
"""

from __future__ import annotations

import functools
import logging
import socket
import struct
from urllib.parse import urlsplit

from django.conf import settings

logger = logging.getLogger(__name__)

# Below clamd's StreamMaxLength however small it is set, big enough to stream 10 MB in few system calls.
CHUNK_BYTES = 64 * 1024


class ScanError(Exception):
    """Any scan that did not say the file is clean: the upload is refused either way (fail closed)."""


class VirusFound(ScanError):
    """clamd matched a signature: the file is infected (permanent, retrying changes nothing)."""

    def __init__(self, signature: str):
        super().__init__(signature)
        self.signature = signature


class ScannerUnavailable(ScanError):
    """clamd could not give a verdict (down, timeout, refused the stream, misconfigured): retry later."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def scanning_enabled() -> bool:
    return bool(settings.CLAMAV_URL)


@functools.cache
def _warn_disabled() -> None:
    # Once per process: a developer machine would otherwise log it on every upload.
    logger.warning("Virus scanning is disabled (CLAMAV_URL is empty): uploads are stored without a scan.")


def clamd_address(url: str) -> str | tuple[str, int]:
    """The socket address in a CLAMAV_URL: a path (`unix:///…`) or (host, port) (`tcp://…`).

    Raises ValueError for any other shape (also used by the system check, to say so at start-up).
    """
    parts = urlsplit(url)
    if parts.scheme == "unix" and parts.path:
        return parts.path
    if parts.scheme == "tcp" and parts.hostname and parts.port:  # .port raises ValueError when not a number
        return parts.hostname, parts.port
    raise ValueError(f"CLAMAV_URL must be unix:///path/to/clamd.ctl or tcp://host:port, not {url!r}")


def _connect(url: str, timeout: float) -> socket.socket:
    """A socket to clamd, with `timeout` on the connection and on every later send and receive."""
    try:
        address = clamd_address(url)
    except ValueError as error:
        raise ScannerUnavailable(str(error)) from error
    try:
        if isinstance(address, tuple):
            return socket.create_connection(address, timeout=timeout)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except OSError:
            sock.close()
            raise
        return sock
    except OSError as error:
        raise ScannerUnavailable(f"cannot connect to clamd at {url}: {error}") from error


def _read_reply(sock: socket.socket) -> str:
    """clamd's answer to a `z` command: text up to a NUL byte (or up to the end of the connection)."""
    reply = b""
    while not reply.endswith(b"\0"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        reply += chunk
    return reply.rstrip(b"\0").decode("utf-8", "replace").strip()


def ping(*, url: str | None = None, timeout: float | None = None) -> None:
    """Check clamd answers (PING → PONG); raises ScannerUnavailable otherwise. For health checks and tests."""
    url = url or settings.CLAMAV_URL
    with _connect(url, timeout or settings.CLAMAV_TIMEOUT) as sock:
        try:
            sock.sendall(b"zPING\0")
            reply = _read_reply(sock)
        except OSError as error:
            raise ScannerUnavailable(f"clamd did not answer PING: {error}") from error
    if reply != "PONG":
        raise ScannerUnavailable(f"unexpected answer to PING: {reply!r}")


def scan_bytes(*, content: bytes, url: str | None = None, timeout: float | None = None) -> None:
    """Stream `content` to clamd (INSTREAM) and return when it is clean.

    Raises VirusFound(signature) when clamd reports one, ScannerUnavailable(reason) for every other outcome
    (connection refused, timeout, `… ERROR` such as a stream above clamd's StreamMaxLength, an unknown answer).
    With CLAMAV_URL empty (and no `url`), scanning is disabled: returns at once, after a warning logged once.
    """
    url = url or settings.CLAMAV_URL
    if not url:
        _warn_disabled()
        return
    with _connect(url, timeout or settings.CLAMAV_TIMEOUT) as sock:
        try:
            try:
                sock.sendall(b"zINSTREAM\0")
                for start in range(0, len(content), CHUNK_BYTES):
                    chunk = content[start : start + CHUNK_BYTES]
                    sock.sendall(struct.pack(">I", len(chunk)) + chunk)
                sock.sendall(struct.pack(">I", 0))
            except BrokenPipeError:
                # clamd closes its end after refusing a stream (size limit): its reason is still to be read.
                pass
            reply = _read_reply(sock)
        except OSError as error:
            raise ScannerUnavailable(f"clamd stopped answering: {error}") from error
    if reply == "stream: OK":
        return
    if reply.startswith("stream: ") and reply.endswith(" FOUND"):
        raise VirusFound(reply.removeprefix("stream: ").removesuffix(" FOUND"))
    raise ScannerUnavailable(f"clamd gave no verdict: {reply!r}" if reply else "clamd closed without answering")
