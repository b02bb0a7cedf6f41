"""Secrets never reach the logs or the error reports: every configured secret value, and the usual shapes of
credentials (bearer tokens, `client_secret=` in a query string, a password in a URL), are masked.

- `RedactSecretsFilter`, a logging filter on the handlers (settings.LOGGING, and the Celery worker's through
  passemarche/celery.py): the final message and the formatted exception are redacted before any formatter sees
  them.
- `SafeExceptionReporterFilter` and `SafeExceptionReporter`: Django's error reports (the DEBUG technical page,
  error emails) hide, besides the settings Django already hides, the passwords in URL settings, the frame
  variables named like a secret (`token`, `headers['Authorization']`) and the secret values in the exception
  message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlsplit

from django.views.debug import ExceptionReporter
from django.views.debug import SafeExceptionReporterFilter as DjangoSafeExceptionReporterFilter

MASK = "[secret masqué]"
# Shorter values are not masked: masking "dev" or "1234" everywhere would make the logs unreadable.
MIN_SECRET_LENGTH = 8

# Settings holding a secret as is.
SECRET_SETTINGS = ("API_ENTREPRISE_TOKEN", "SECRET_KEY", "PROCONNECT_CLIENT_SECRET", "EMAIL_HOST_PASSWORD")
# Settings holding a URL whose password part is a secret.
URL_SETTINGS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CLAMAV_URL")

# The shapes of credentials whatever their value: the secret is the named group `secret`.
PATTERNS = (
    # `Authorization: Bearer x`, `'Authorization': 'Basic x'`, `authorization=x` (headers logged as a dict).
    re.compile(
        r"""(?P<head>authorization["']?\s*[:=]\s*["']?(?:(?:bearer|basic|token)\s+)?)(?P<secret>[^\s"',;}]+)""",
        re.IGNORECASE,
    ),
    # A bearer token anywhere in a text.
    re.compile(r"(?P<head>\bbearer\s+)(?P<secret>[A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE),
    # Credentials in a query string, a form body or a JSON body.
    re.compile(
        r"""(?P<head>\b(?:client_secret|access_token|refresh_token|id_token|token|code_verifier|password|api_key|"""
        r"""x-amz-signature|signature|sig)["']?\s*[=:]\s*["']?)(?P<secret>[^\s&"',;}]+)""",
        re.IGNORECASE,
    ),
    # A password in a URL: scheme://user:password@host.
    re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^\s:/@]*:)(?P<secret>[^\s@/]+)(?=@)", re.IGNORECASE),
    # A JSON Web Token (API Entreprise's token, ProConnect's id_token), even out of any context.
    re.compile(r"(?P<head>)(?P<secret>eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*)"),
)


def _url_password(url: object) -> str:
    if not isinstance(url, str) or "://" not in url:
        return ""
    try:
        return urlsplit(url).password or ""
    except ValueError:
        return ""


def _provider_secrets(providers: object) -> Iterable[str]:
    """The `secret` of every allauth social app configured in settings (ProConnect's client secret)."""
    if not isinstance(providers, dict):
        return
    for provider in providers.values():
        apps = provider.get("APPS", []) if isinstance(provider, dict) else []
        for app in [*apps, provider.get("APP", {}) if isinstance(provider, dict) else {}]:
            if isinstance(app, dict):
                yield app.get("secret") or ""


def configured_secrets() -> list[str]:
    """The secret values of the current settings, longest first; empty when the settings are not loaded yet."""
    from django.conf import settings

    if not settings.configured:
        return []
    values = [getattr(settings, name, "") for name in SECRET_SETTINGS]
    values += list(getattr(settings, "SECRET_KEY_FALLBACKS", []) or [])
    values += [_url_password(getattr(settings, name, "")) for name in URL_SETTINGS]
    values += [database.get("PASSWORD") or "" for database in getattr(settings, "DATABASES", {}).values()]
    values += [_url_password(cache.get("LOCATION")) for cache in getattr(settings, "CACHES", {}).values()]
    values += list(_provider_secrets(getattr(settings, "SOCIALACCOUNT_PROVIDERS", {})))
    secrets = set()
    for value in values:
        if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
            # As written, and as it appears percent-encoded in a URL.
            secrets.update({value, quote(value, safe="")})
    return sorted(secrets, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` with every secret value and every credential-shaped substring replaced by the mask."""
    if not text:
        return text
    for secret in configured_secrets() if secrets is None else secrets:
        text = text.replace(secret, MASK)
    for pattern in PATTERNS:
        text = pattern.sub(lambda match: match.group("head") + MASK, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Masks the secrets of a record's message, exception and stack before any formatter or handler sees them.

    Attached to a handler; it changes the record itself, so every handler after it gets the masked record too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = configured_secrets()
        try:
            record.msg, record.args = redact(record.getMessage(), secrets), ()
        except Exception:
            # A malformed record (arguments not matching the format): the handler reports its formatting error,
            # with the message and the arguments, so these are masked one by one.
            record.msg = redact(str(record.msg), secrets)
            if isinstance(record.args, Mapping):
                record.args = {key: redact(str(value), secrets) for key, value in record.args.items()}
            elif record.args:
                record.args = tuple(redact(str(arg), secrets) for arg in record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            # Formatters print `exc_text` when it is set and never format `exc_info` again.
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True


class SafeExceptionReporterFilter(DjangoSafeExceptionReporterFilter):
    """Django's filter (settings named API, AUTH, TOKEN, KEY, SECRET, PASS, SIGNATURE are hidden), plus:
    the secret values and URL passwords in any setting, and the frame variables of every traceback."""

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str) and cleansed != self.cleansed_substitute:
            return redact(cleansed)
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        # Django cleanses frame variables only under @sensitive_variables; here, by name and by value everywhere
        # (a `token` local, a `headers` dict with its Authorization entry, a URL with a secret in it).
        return [
            (name, self.cleanse_setting(name, value) if isinstance(value, str | dict | list | tuple) else value)
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class SafeExceptionReporter(ExceptionReporter):
    """The technical 500 page and the error emails, with the secrets of the exception message masked."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        if isinstance(data.get("exception_value"), str):
            data["exception_value"] = redact(data["exception_value"])
        for frame in data.get("frames", []):
            if isinstance(frame.get("exc_cause"), BaseException):
                frame["exc_cause"] = redact(str(frame["exc_cause"]))
        return data
