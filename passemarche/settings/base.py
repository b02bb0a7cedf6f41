"""Settings shared by every environment; everything configurable comes from the environment."""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"
# Local state of the embedded default (SQLite database, broker folder, documents): created on first use.
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-secret-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "widget_tweaks",
    "dsfr",
    "django_htmx",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "candidatures.proconnect",  # ProConnect, an allauth OpenID Connect provider with nonce and signed userinfo
    "candidatures",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "platforms",  # buyer platforms: API clients, the REST API, webhooks
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "passemarche.urls"
WSGI_APPLICATION = "passemarche.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "candidatures.context_processors.portal",
            ],
        },
    },
]


def database_from_env(url: str) -> dict:
    """Parse DATABASE_URL and harden SQLite for a worker of 8 concurrent writers.

    WAL lets readers run beside the writer; IMMEDIATE transactions take the write lock at BEGIN, so a
    writer waits for the busy timeout instead of failing on lock upgrade ("database is locked").
    """
    config = env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
        }
    else:
        config.setdefault("CONN_MAX_AGE", 60)
        config.setdefault("CONN_HEALTH_CHECKS", True)
    return config


DATABASES = {"default": database_from_env(env("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-dsfr renders every form field with the State design system.
FORM_RENDERER = "dsfr.forms.DsfrDjangoTemplates"

# --- Accounts (django-allauth) ------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Passe Marché] "
ACCOUNT_ADAPTER = "candidatures.accounts.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "candidatures.accounts.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_ONLY = False
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Passe Marché <ne-pas-repondre@passemarche.local>")
# Development prints emails (sign-up and login codes) on the console; production sends them by SMTP (prod.py).
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"


def proconnect_providers(*, client_id: str, secret: str, server_url: str) -> dict:
    """ProConnect, the State's agents login (`candidatures.proconnect`, PKCE, nonce); off without a client id.

    The provider itself asks for the scopes openid email given_name usual_name siret, sends the secret in the body
    (client_secret_post) and checks the nonce and the signed userinfo.
    """
    if not client_id:
        return {}
    return {
        "proconnect": {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "name": "ProConnect",
                    "client_id": client_id,
                    "secret": secret,
                    "settings": {"server_url": server_url},
                }
            ],
        }
    }


PROCONNECT_CLIENT_ID = env("PROCONNECT_CLIENT_ID", default="")
PROCONNECT_CLIENT_SECRET = env("PROCONNECT_CLIENT_SECRET", default="")
PROCONNECT_SERVER_URL = env("PROCONNECT_SERVER_URL", default="https://auth.agentconnect.gouv.fr/api/v2")
SOCIALACCOUNT_PROVIDERS = proconnect_providers(
    client_id=PROCONNECT_CLIENT_ID,
    secret=PROCONNECT_CLIENT_SECRET,
    server_url=PROCONNECT_SERVER_URL,
)

# Brute force: allauth counts in the cache (CACHES below) and refuses, with a form error, a password sign-in
# after 5 failures for one account within 15 minutes, or 10 failures from one IP address within a minute; even
# with the right password. A code sign-in allows 3 wrong codes, then a new code must be asked for (3 a minute
# per address). The Django admin has no login form of its own: /admin/login/ sends to this one (urls.py).
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/15m/key",
    "request_login_code": "20/m/ip,3/m/key",
    "reset_password": "20/m/ip,5/m/key",
    "signup": "20/m/ip",
}
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 3 * 60
# Behind a reverse proxy, the client's IP address is the last but N-th of X-Forwarded-For (0: REMOTE_ADDR).
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("ALLAUTH_TRUSTED_PROXY_COUNT", default=0)

# Sessions end when the browser closes (no "remember me") and, on the server, SESSION_COOKIE_AGE seconds
# (8 hours by default) after they were last written, i.e. after the sign-in. Not pushed back on every request
# (SESSION_SAVE_EVERY_REQUEST): that would write the session on each page and each 2-second progress poll.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
ACCOUNT_SESSION_REMEMBER = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"  # the ProConnect callback is a top-level GET from another site: Lax lets it in
CSRF_COOKIE_HTTPONLY = True  # no script reads it: htmx only sends GET requests

# --- Security headers ---------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
# django-dsfr marks the content of its tags (alerts of the messages, badges…) safe unless told otherwise: our
# messages quote what users typed (a consultation reference, a file name), so it is escaped like any template value.
DSFR_CONTENT_IS_SAFE = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


# Content Security Policy (django-csp): scripts and styles from our own origin only, never inline, for our
# pages and the Django admin alike; htmx is told (meta htmx-config in templates/base.html) not to inject its
# indicator styles nor to evaluate code. tests/passemarche/test_deploy.py scans the pages for inline code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        # A sign-in with ProConnect posts to us, then is redirected to ProConnect: form-action covers redirects.
        "form-action": [SELF, *([origin(PROCONNECT_SERVER_URL)] if SOCIALACCOUNT_PROVIDERS else [])],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"

# Documents (certificates) are confidential: stored outside any publicly served folder.
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# No MEDIA_URL: certificates, uploads and receipts are never served by address, only by views that check who asks.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Celery -------------------------------------------------------------------------------------
# Default: kombu's filesystem transport, a real broker that needs no server (messages are files).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_FOLDER = Path(env("CELERY_BROKER_FOLDER", default=str(VAR_DIR / "broker")))


def celery_transport_options(broker_url: str, folder: Path) -> dict:
    if broker_url.startswith("filesystem://"):
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "store_processed": False,
            # The transport polls its folder; the default (1 s) would add up to a second per task hop.
            "polling_interval": 0.1,
        }
    # Redis: a task not acknowledged within the hour (worker killed) is delivered again.
    return {"visibility_timeout": 3600}


CELERY_BROKER_TRANSPORT_OPTIONS = celery_transport_options(CELERY_BROKER_URL, CELERY_BROKER_FOLDER)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
# The worker keeps the handlers of LOGGING (with their secrets filter) instead of installing its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE = {
    "retry-scheduled-fetches": {
        "task": "candidatures.tasks.retry_due_fetches",
        "schedule": 60.0,
    },
    # Webhooks not enqueued (broker down at commit), retries too far off for a countdown, sends of a dead worker.
    "deliver-due-webhooks": {
        "task": "platforms.tasks.deliver_due_webhooks",
        "schedule": 30.0,
    },
    "purge-audit-trail": {
        "task": "candidatures.tasks.purge_audit_trail",
        "schedule": 6 * 3600.0,
    },
    # The duty of vigilance of awarded contracts: refresh the URSSAF attestation when due, alert the buyers.
    "vigilance-follow-up": {
        "task": "candidatures.tasks.vigilance_follow_up",
        "schedule": 3600.0,
    },
}
# Vigilance follow-up (candidatures/vigilance.py): the attestation is asked again this many days before its end of
# validity (and at least every six months); after a refusal or a missing attestation, again after RECHECK days.
VIGILANCE_REFRESH_DAYS_BEFORE = env.int("VIGILANCE_REFRESH_DAYS_BEFORE", default=10)
VIGILANCE_RECHECK_DAYS = env.int("VIGILANCE_RECHECK_DAYS", default=7)
# Upstream calls and buyers' accesses to dossiers are kept this long, then purged by the task above.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Upstream sources ---------------------------------------------------------------------------
SANDBOX_PORT = env.int("SANDBOX_PORT", default=8010)
API_ENTREPRISE_BASE_URL = env("API_ENTREPRISE_BASE_URL", default=f"http://127.0.0.1:{SANDBOX_PORT}")
API_ENTREPRISE_TOKEN = env("API_ENTREPRISE_TOKEN", default="sandbox-token")
API_ENTREPRISE_CONTEXT = env("API_ENTREPRISE_CONTEXT", default="Candidature marché public")
API_ENTREPRISE_TIMEOUT_JSON = env.float("API_ENTREPRISE_TIMEOUT_JSON", default=5.0)
API_ENTREPRISE_TIMEOUT_DOCUMENT = env.float("API_ENTREPRISE_TIMEOUT_DOCUMENT", default=12.0)
# Calls allowed per family (per token: json, documents; per IP: ip), never exceeded across every worker. A
# family may be added for BODACC (`bodacc=…`); without one BODACC is only paused by its 429s.
API_ENTREPRISE_RATE_LIMITS = env("API_ENTREPRISE_RATE_LIMITS", default="json=250/60s,documents=50/60s,ip=1000/60s")
# The limiter and the circuit breakers of the upstream calls (connectors/ratelimit.py, breaker.py) keep their
# shared state in Redis when REDIS_URL is set (every machine), else in files under this folder (one host).
UPSTREAM_STATE_DIR = Path(env("UPSTREAM_STATE_DIR", default=str(VAR_DIR / "upstream")))
UPSTREAM_STATE_PREFIX = env("UPSTREAM_STATE_PREFIX", default="passemarche")
# Circuit breaker per provider: this many consecutive failures (timeout, connection error, 5xx) within WINDOW
# seconds open it; calls are then refused at once for COOLDOWN seconds, then one trial call decides.
CIRCUIT_BREAKER_THRESHOLD = env.int("CIRCUIT_BREAKER_THRESHOLD", default=5)
CIRCUIT_BREAKER_WINDOW = env.float("CIRCUIT_BREAKER_WINDOW", default=60.0)
CIRCUIT_BREAKER_COOLDOWN = env.float("CIRCUIT_BREAKER_COOLDOWN", default=120.0)
BODACC_BASE_URL = env("BODACC_BASE_URL", default=f"http://127.0.0.1:{SANDBOX_PORT}/bodacc/api/explore/v2.1")
DOCUMENT_MAX_BYTES = env.int("DOCUMENT_MAX_BYTES", default=20 * 1024 * 1024)
# Pieces uploaded by a company (PDF, JPEG, PNG, checked by their bytes).
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# clamd (clamav-daemon) that scans every upload: unix:///run/clamav/clamd.ctl or tcp://host:port. Empty =
# scanning disabled (a warning is logged); `manage.py check --deploy` refuses it empty. Its StreamMaxLength
# must be above UPLOAD_MAX_BYTES. Seconds for each connect, send and receive.
CLAMAV_URL = env("CLAMAV_URL", default="")
CLAMAV_TIMEOUT = env.float("CLAMAV_TIMEOUT", default=10.0)
# Where the public candidate link points (absolute links in emails and receipts).
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

# Retry policy for transient upstream failures (502/503/504, timeouts, 409, 429).
FETCH_MAX_ATTEMPTS = env.int("FETCH_MAX_ATTEMPTS", default=5)
FETCH_RETRY_BASE_DELAY = env.float("FETCH_RETRY_BASE_DELAY", default=2.0)
FETCH_RETRY_MAX_DELAY = env.float("FETCH_RETRY_MAX_DELAY", default=300.0)
# An upstream asking to come back later than this (URSSAF's manual check: 2 days) gets a scheduled refresh
# by the periodic task instead of a task waiting in a worker.
FETCH_SCHEDULED_RETRY_AFTER = env.float("FETCH_SCHEDULED_RETRY_AFTER", default=900.0)

REDIS_URL = env("REDIS_URL", default="")

# The cache holds allauth's rate limits (failed sign-ins, codes): it must be shared by every web process.
# Redis when REDIS_URL is set; otherwise files under var/cache (shared by the processes of one host).
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(VAR_DIR / "cache")}
    )
}

# --- The API of the buyer platforms (platforms/) ---------------------------------------------------
# OAuth2 client credentials (django-oauth-toolkit): the token endpoint is /api/oauth/token/; a client obtains
# only the scopes its ApiClient row allows (platforms.oauth), and an inactive client neither obtains nor uses one.
API_SCOPES = {
    "consultations:read": "Lire les consultations",
    "consultations:write": "Créer et publier des consultations",
    "candidatures:read": "Lire les candidatures et leurs dossiers",
    "candidatures:write": "Créer des candidatures et demander l'actualisation d'une source",
    "documents:read": "Télécharger les justificatifs, les récépissés et les dossiers ZIP",
    "webhooks:manage": "Gérer les abonnements aux notifications (webhooks)",
}
OAUTH2_PROVIDER = {
    "SCOPES": API_SCOPES,
    "SCOPES_BACKEND_CLASS": "platforms.oauth.ClientScopes",
    "OAUTH2_VALIDATOR_CLASS": "platforms.oauth.ClientValidator",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("API_ACCESS_TOKEN_SECONDS", default=3600),
    # The OAuth 2.0 Security BCP (RFC 9700) in full: tokens stored hashed, accepted in the Authorization header
    # only (never in a query string, where logs keep them), no implicit or password grant, https redirects only.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}
# django-oauth-toolkit's own models (swappable: its migrations read these names).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105 (a model name)
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["platforms.api.authentication.ApiClientAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["platforms.api.permissions.HasClientScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "platforms.api.pagination.Pagination",
    "DEFAULT_THROTTLE_CLASSES": ["platforms.api.throttling.ApiClientThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_client": env("API_THROTTLE_RATE", default="600/min")},
    "EXCEPTION_HANDLER": "platforms.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "API Passe Marché pour les profils acheteurs",
    "DESCRIPTION": (
        "Consultations, candidatures et dossiers (passemarche.dossier/1) pour les plateformes des acheteurs. "
        "Authentification OAuth2 client credentials sur /api/oauth/token/ ; voir docs/API.md."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
}
# Webhooks: delivered by Celery tasks, retried with exponential backoff on timeouts, 5xx and 429 only.
# Outbound requests never follow redirects; WEBHOOK_ALLOW_PRIVATE_ADDRESSES (False unless dev or tests say
# otherwise) lets them reach loopback and private networks, which production refuses (SSRF).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
WEBHOOK_CONNECT_TIMEOUT = env.float("WEBHOOK_CONNECT_TIMEOUT", default=3.0)
WEBHOOK_READ_TIMEOUT = env.float("WEBHOOK_READ_TIMEOUT", default=10.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_RETRY_BASE_DELAY = env.float("WEBHOOK_RETRY_BASE_DELAY", default=30.0)
WEBHOOK_RETRY_MAX_DELAY = env.float("WEBHOOK_RETRY_MAX_DELAY", default=6 * 3600.0)

# Secrets (tokens, client secret, passwords in URLs) are masked in every log line and error report.
DEFAULT_EXCEPTION_REPORTER_FILTER = "passemarche.logging.SafeExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "passemarche.logging.SafeExceptionReporter"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "passemarche.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["stderr"], "level": env("LOG_LEVEL", default="INFO")},
    # The filesystem broker has no host: kombu warns about it on every connection.
    # WeasyPrint logs each step of parsing its own stylesheets at INFO, at import: noise in every command.
    "loggers": {"kombu.connection": {"level": "ERROR"}, "weasyprint.progress": {"level": "WARNING"}},
}
