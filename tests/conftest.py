"""Fixtures shared by every folder: per-test MEDIA_ROOT, and the live stack of the integration and browser tests.

The integration and browser tests run a real Celery worker (a separate process) and the sandbox over real HTTP.
The worker shares the test database (a file for SQLite, the test database for PostgreSQL) and the broker
(the filesystem folder of the test settings, or Redis when CELERY_BROKER_URL says so).
"""

from __future__ import annotations

import os
import shutil

import pytest
import requests
from django.conf import settings
from django.db import connection

from connectors.sandbox.server import start_in_thread
from passemarche.celery import app as celery_app
from passemarche.worker_process import start_worker, stop_worker

WORKER_CONCURRENCY = 8
# Tests whose worker (and live server) must see the documents they store: they keep the shared MEDIA_ROOT.
SHARED_MEDIA_MARKERS = ("integration", "browser")


@pytest.fixture(autouse=True)
def _private_media_root(request, tmp_path):
    """Each unit test stores documents in its own folder; integration and browser tests share the worker's."""
    if not any(request.node.get_closest_marker(marker) for marker in SHARED_MEDIA_MARKERS):
        settings = request.getfixturevalue("settings")
        settings.MEDIA_ROOT = tmp_path / "media"


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
