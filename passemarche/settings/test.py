from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = VAR_DIR / "test-media"

# A file (not memory) so that the Celery worker of the integration tests shares the test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}

FETCH_RETRY_BASE_DELAY = env.float("FETCH_RETRY_BASE_DELAY", default=0.2)
FETCH_RETRY_MAX_DELAY = env.float("FETCH_RETRY_MAX_DELAY", default=5.0)
LOGGING = {"version": 1, "disable_existing_loggers": False}
