import os
from pathlib import Path

from .base import *  # noqa: F403
from .base import CELERY_BROKER_URL, DATABASES, VAR_DIR, celery_transport_options, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "test-media")))

# A file (not memory) so that the Celery worker of the integration tests shares the test database; one per
# test run, so that two runs in the same checkout do not write into each other's database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}

FETCH_RETRY_BASE_DELAY = env.float("FETCH_RETRY_BASE_DELAY", default=0.2)
FETCH_RETRY_MAX_DELAY = env.float("FETCH_RETRY_MAX_DELAY", default=5.0)
LOGGING = {"version": 1, "disable_existing_loggers": False}
# Rate limits (failed sign-ins) counted in memory: each test starts from an empty cache (cache.clear()).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The upstream limiter's and breakers' state of this test run (files, or keys under this Redis prefix): not var/
# shared with `make run`; the worker of the integration tests gets both through its environment.
UPSTREAM_STATE_DIR = Path(env("UPSTREAM_STATE_DIR", default=str(VAR_DIR / f"test-upstream-{os.getpid()}")))
UPSTREAM_STATE_PREFIX = env("UPSTREAM_STATE_PREFIX", default=f"passemarche-test-{os.getpid()}")

CELERY_BROKER_FOLDER = Path(env("CELERY_BROKER_FOLDER", default=str(VAR_DIR / f"test-broker-{os.getpid()}")))
CELERY_BROKER_TRANSPORT_OPTIONS = celery_transport_options(CELERY_BROKER_URL, CELERY_BROKER_FOLDER)
# Webhook receivers of the tests listen on loopback; the SSRF tests turn this off again.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
WEBHOOK_RETRY_BASE_DELAY = env.float("WEBHOOK_RETRY_BASE_DELAY", default=0.2)
WEBHOOK_RETRY_MAX_DELAY = env.float("WEBHOOK_RETRY_MAX_DELAY", default=2.0)
WEBHOOK_READ_TIMEOUT = env.float("WEBHOOK_READ_TIMEOUT", default=2.0)
