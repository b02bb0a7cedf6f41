"""Fixtures shared by every folder: per-test MEDIA_ROOT, a real clamd scanning every upload, and the live stack
of the integration and browser tests.

The integration and browser tests run a real Celery worker (a separate process) and the sandbox over real HTTP.
The worker shares the test database (a file for SQLite, the test database for PostgreSQL) and the broker
(the filesystem folder of the test settings, or Redis when CELERY_BROKER_URL says so).
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass

import pytest
import requests
from django.conf import settings
from django.db import connection

from candidatures import antivirus
from connectors import client
from connectors.sandbox.server import start_in_thread
from passemarche.celery import app as celery_app
from passemarche.worker_process import start_worker, stop_worker

pytest_plugins = ["tests.domain_fixtures"]

WORKER_CONCURRENCY = 8
# Tests whose worker (and live server) must see the documents they store: they keep the shared MEDIA_ROOT.
SHARED_MEDIA_MARKERS = ("integration", "browser")


@pytest.fixture(autouse=True)
def _private_media_root(request, tmp_path):
    """Each unit test stores documents in its own folder; integration and browser tests share the worker's."""
    if not any(request.node.get_closest_marker(marker) for marker in SHARED_MEDIA_MARKERS):
        settings = request.getfixturevalue("settings")
        settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _clean_upstream_state():
    """Each test starts with no rate-limit count, pause or open breaker (the production limits are never reached
    by one test); this run's state folder is removed at the end."""
    client.upstream_state_clear()


@pytest.fixture(scope="session", autouse=True)
def _upstream_state_folder():
    yield
    client.upstream_state_clear()  # the Redis keys, when REDIS_URL is set
    shutil.rmtree(settings.UPSTREAM_STATE_DIR, ignore_errors=True)


def _database_url() -> str:
    config = connection.settings_dict
    if config["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{config['NAME']}"
    user = config.get("USER") or ""
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    port = f":{config['PORT']}" if config.get("PORT") else ""
    return f"postgres://{credentials}{config.get('HOST') or '127.0.0.1'}{port}/{config['NAME']}"


@pytest.fixture(scope="session")
def sandbox():
    handle = start_in_thread(rate_limits="json=100000/60s,documents=100000/60s")
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def worker_env(django_db_setup, django_db_blocker, sandbox) -> dict[str, str]:
    """The environment of the worker (and of `manage.py` subprocesses): test database, broker, sandbox."""
    with django_db_blocker.unblock():
        database_url = _database_url()
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "passemarche.settings.test",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_BROKER_FOLDER": str(settings.CELERY_BROKER_FOLDER),
        "API_ENTREPRISE_BASE_URL": sandbox.base_url,
        "BODACC_BASE_URL": f"{sandbox.base_url}/bodacc/api/explore/v2.1",
        "API_ENTREPRISE_TIMEOUT_JSON": "1.5",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "UPSTREAM_STATE_DIR": str(settings.UPSTREAM_STATE_DIR),
        "UPSTREAM_STATE_PREFIX": settings.UPSTREAM_STATE_PREFIX,
    }


@pytest.fixture(scope="session")
def celery_worker(worker_env, tmp_path_factory):
    """Start `celery -A passemarche worker` against the test database and the sandbox."""
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        shutil.rmtree(settings.CELERY_BROKER_FOLDER, ignore_errors=True)
        for key in ("data_folder_in", "processed_folder"):
            os.makedirs(settings.CELERY_BROKER_TRANSPORT_OPTIONS[key], exist_ok=True)
    else:
        celery_app.control.purge()
    process = start_worker(
        env=worker_env, log_path=tmp_path_factory.mktemp("worker") / "worker.log", concurrency=WORKER_CONCURRENCY
    )
    yield process
    stop_worker(process)
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        shutil.rmtree(settings.CELERY_BROKER_FOLDER, ignore_errors=True)


@pytest.fixture
def faults(sandbox):
    """Inject faults into the sandbox over its control API; cleared after the test."""

    class Faults:
        def add(self, **fault) -> None:
            requests.post(f"{sandbox.base_url}/__sandbox__/faults", json=fault, timeout=5).raise_for_status()

        def calls(self) -> list[dict]:
            return requests.get(f"{sandbox.base_url}/__sandbox__/calls", timeout=5).json()["calls"]

    requests.delete(f"{sandbox.base_url}/__sandbox__/faults", timeout=5)
    requests.delete(f"{sandbox.base_url}/__sandbox__/calls", timeout=5)
    yield Faults()
    requests.delete(f"{sandbox.base_url}/__sandbox__/faults", timeout=5)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis of the tests (REDIS_URL, else db 14 of the local one): skipped locally when it does not answer,
    failed in CI (CI=true), like clamd."""
    import redis

    url = settings.REDIS_URL or "redis://127.0.0.1:6379/14"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        reason = f"Redis not reachable at {url} ({error})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}: the Redis tests must run in CI.", pytrace=False)
        pytest.skip(reason)
    return url


@pytest.fixture
def dead_redis_url() -> str:
    """A Redis URL where nothing answers (a loopback port just freed): Redis down."""
    return f"redis://127.0.0.1:{_free_tcp_port()}/0"


@functools.cache
def clamd_binary() -> str | None:
    """clamd of Debian's clamav-daemon (in /usr/sbin, often off a user's PATH), or CLAMD_PATH."""
    if os.environ.get("CLAMD_PATH"):
        return os.environ["CLAMD_PATH"] if os.access(os.environ["CLAMD_PATH"], os.X_OK) else None
    return shutil.which("clamd", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"]))


@dataclass(frozen=True)
class Clamd:
    url: str  # unix:// socket, what CLAMAV_URL points at in the tests
    tcp_url: str  # the same clamd on loopback TCP
    # The EICAR test string: the only signature of this clamd (an .ndb body signature, so it is found
    # anywhere in a file, e.g. inside a PDF).
    EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def _free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def clamd(tmp_path_factory):
    """A real clamd for the test session, on a signature database of one EICAR signature (no freshclam).

    Without clamd: skipped locally (with the reason), failed in CI (CI=true), like the browser tests.
    """
    binary = clamd_binary()
    if binary is None:
        reason = "clamd not found (apt-get install clamav-daemon, or set CLAMD_PATH)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}: the antivirus tests must run in CI.", pytrace=False)
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("clamd")
    (folder / "db").mkdir()
    (folder / "db" / "eicar.ndb").write_text(f"Eicar-Test-Signature:0:*:{Clamd.EICAR.hex()}\n")
    port = _free_tcp_port()
    config = folder / "clamd.conf"
    # No `User`: clamd keeps the user that runs the tests (root included). StreamMaxLength above UPLOAD_MAX_BYTES.
    config.write_text(
        f"Foreground yes\nLocalSocket {folder}/clamd.ctl\nTCPSocket {port}\nTCPAddr 127.0.0.1\n"
        f"DatabaseDirectory {folder}/db\nPidFile {folder}/clamd.pid\nLogFile {folder}/clamd.log\n"
        "StreamMaxLength 20M\n"
    )
    output = folder / "clamd.out"
    with output.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 (clamd from PATH or CLAMD_PATH, our own config)
            [binary, "-c", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    handle = Clamd(url=f"unix://{folder}/clamd.ctl", tcp_url=f"tcp://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while True:
        try:
            antivirus.ping(url=handle.url, timeout=1)
            break
        except antivirus.ScannerUnavailable as error:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                pytest.fail(f"clamd did not answer PING ({error.reason}); its output:\n{output.read_text()}")
            time.sleep(0.05)
    yield handle
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(autouse=True)
def _scanned_uploads(request):
    """Every upload of the suite goes through the real clamd when clamd is installed (always in CI).

    Without clamd (locally only), scanning stays disabled, whatever the developer's .env says, and the
    antivirus tests (which need `clamd` itself) are skipped.
    """
    settings = request.getfixturevalue("settings")
    settings.CLAMAV_URL = request.getfixturevalue("clamd").url if clamd_binary() else ""
