"""Secrets never reach the logs nor the error reports.

The log tests go through a real handler built by `logging.config.dictConfig` from the LOGGING of the settings
(base.py: every environment but the tests), writing into a StringIO: `caplog` would bypass the handler's filter.
"""

from __future__ import annotations

import copy
import io
import logging
import logging.config
import os
import secrets
import subprocess
import sys
import textwrap

import pytest
import requests
from celery import signals
from django.conf import settings as django_settings
from django.test import RequestFactory
from django.views.debug import get_exception_reporter_filter, technical_500_response

from passemarche.celery import app as celery_app
from passemarche.logging import MASK, RedactSecretsFilter, redact
from passemarche.settings.base import LOGGING as BASE_LOGGING

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJ1aWQiOiJwYXNzZW1hcmNoZSJ9." + "s" * 43  # the shape of an API Entreprise JWT
CLIENT_SECRET = "proconnect-" + "c" * 40
REDIS_PASSWORD = "redis-mot-de-passe-" + "r" * 12


@pytest.fixture
def secret_settings(settings):
    settings.API_ENTREPRISE_TOKEN = TOKEN
    settings.SECRET_KEY = "django-" + secrets.token_urlsafe(50)
    settings.PROCONNECT_CLIENT_SECRET = CLIENT_SECRET
    settings.SOCIALACCOUNT_PROVIDERS = {"proconnect": {"APPS": [{"client_id": "pm", "secret": CLIENT_SECRET}]}}
    settings.REDIS_URL = f"redis://:{REDIS_PASSWORD}@redis.internal:6379/0"
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    return settings


@pytest.fixture
def log():
    """A logger whose handler is the `stderr` handler of settings.LOGGING (its filters included), into a StringIO."""
    stream = io.StringIO()
    config = copy.deepcopy(BASE_LOGGING)
    config["handlers"]["stderr"]["stream"] = stream
    config.pop("root")
    config["loggers"] = {"passemarche.redaction": {"handlers": ["stderr"], "level": "DEBUG", "propagate": False}}
    logging.config.dictConfig(config)
    logger = logging.getLogger("passemarche.redaction")
    logger.output = stream.getvalue
    yield logger
    logger.handlers.clear()


def assert_masked(output: str, *values: str) -> None:
    for value in values:
        assert value not in output, output
    assert MASK in output, output


def test_the_handler_of_the_settings_has_the_filter():
    assert BASE_LOGGING["handlers"]["stderr"]["filters"] == ["redact_secrets"]
    assert BASE_LOGGING["filters"]["redact_secrets"]["()"] == "passemarche.logging.RedactSecretsFilter"


def test_a_log_line_with_the_token(log, secret_settings):
    log.info("Appel API Entreprise avec le jeton %s pour %s", TOKEN, "55204944776279")

    output = log.output()
    assert_masked(output, TOKEN)
    assert "55204944776279" in output  # the rest of the message is kept


def test_the_settings_secrets_whatever_the_message(log, secret_settings):
    log.warning("clé %s, secret %s", secret_settings.SECRET_KEY, CLIENT_SECRET)
    log.warning("broker %s", secret_settings.CELERY_BROKER_URL)
    log.warning("mot de passe seul : %s", REDIS_PASSWORD)

    output = log.output()
    assert_masked(output, secret_settings.SECRET_KEY, CLIENT_SECRET, REDIS_PASSWORD)
    assert "redis.internal:6379" in output


def test_an_exception_whose_message_holds_the_token(log, secret_settings):
    def call_upstream():
        token = TOKEN  # noqa: F841 — a local of the failing frame, as in connectors.client
        raise ValueError(f"refusé : Authorization: Bearer {TOKEN}")

    try:
        call_upstream()
    except ValueError:
        log.exception("Échec de l'appel")

    output = log.output()
    assert_masked(output, TOKEN)
    assert "Traceback (most recent call last)" in output
    assert "ValueError: refusé : Authorization: Bearer" in output


def test_a_requests_error_carrying_the_authorization_header(log, secret_settings):
    # A token the settings do not know (another provider's): masked by its shape.
    other_token = "at-" + secrets.token_urlsafe(30)
    prepared = requests.Request(
        "GET",
        "https://entreprise.api.gouv.fr/v3/insee/sirene/unites_legales/552049447",
        headers={"Authorization": f"Bearer {other_token}"},
        params={"context": "Candidature", "recipient": "13002526500013"},
    ).prepare()
    try:
        raise requests.ConnectionError(f"Échec de {prepared.url} avec {prepared.headers}", request=prepared)
    except requests.ConnectionError:
        log.exception("Fournisseur injoignable (en-têtes %s)", dict(prepared.headers))

    output = log.output()
    assert_masked(output, other_token)
    assert "'Authorization': 'Bearer [secret masqué]'" in output
    assert "recipient=13002526500013" in output


def test_credentials_in_a_url_or_a_body(log, secret_settings):
    log.info("POST https://auth.example.gouv.fr/api/v2/token?client_id=pm&client_secret=s3cr3t-de-test&grant=1")
    log.info("corps : code=abc&code_verifier=v3rifier-xyz&refresh_token=rt-123456")
    log.info("document https://s3.example/x.pdf?X-Amz-Credential=a&X-Amz-Signature=0123456789abcdef")
    log.info("base postgres://passemarche:pg-mot-de-passe@db:5432/passemarche")

    output = log.output()
    assert_masked(output, "s3cr3t-de-test", "v3rifier-xyz", "rt-123456", "0123456789abcdef", "pg-mot-de-passe")
    assert "client_id=pm" in output and "grant=1" in output and "db:5432/passemarche" in output


def test_short_values_are_not_masked(log, settings):
    settings.API_ENTREPRISE_TOKEN = "abc"

    log.info("abcdef : rien de secret")

    assert "abcdef : rien de secret" in log.output()


def test_a_malformed_record_still_reaches_the_handler_masked(secret_settings):
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %s " + TOKEN, (TOKEN,), None)

    assert RedactSecretsFilter().filter(record) is True
    # Left malformed for the handler to report its formatting error, which prints the message and arguments.
    assert record.msg == f"%s %s {MASK}"
    assert record.args == (MASK,)


# --- Celery ---------------------------------------------------------------------------------------------------


def test_celery_keeps_the_settings_handlers_and_filters_its_own():
    assert celery_app.conf.worker_hijack_root_logger is False
    logger = logging.getLogger("passemarche.redaction.celery")
    handler = logging.StreamHandler(io.StringIO())
    logger.addHandler(handler)
    try:
        signals.after_setup_task_logger.send(
            sender=None, logger=logger, loglevel=logging.INFO, logfile=None, format="", colorize=False
        )
        signals.after_setup_task_logger.send(
            sender=None, logger=logger, loglevel=logging.INFO, logfile=None, format="", colorize=False
        )
    finally:
        logger.removeHandler(handler)
    assert [type(f) for f in handler.filters] == [RedactSecretsFilter]


WORKER_LOGGING = textwrap.dedent(
    """
    import logging

    import django

    django.setup()  # as the worker does, before Celery sets its logging up
    from celery.utils.log import get_task_logger

    from passemarche.celery import app

    app.log.setup(loglevel="INFO", redirect_stdouts=False)
    logging.getLogger("candidatures.tasks").warning("jeton %s", "{token}")
    get_task_logger("candidatures.tasks").warning("jeton de tâche %s", "{token}")
    """
)


@pytest.mark.parametrize("settings_module", ["passemarche.settings.dev", "passemarche.settings.test"])
def test_the_worker_logs_are_redacted(settings_module, tmp_path):
    """dev: the worker keeps LOGGING's handler; test: no handler in LOGGING, Celery's own gets the filter."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": settings_module,
        "API_ENTREPRISE_TOKEN": TOKEN,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", WORKER_LOGGING.format(token=TOKEN)],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert f"jeton {MASK}" in result.stderr
    assert f"jeton de tâche {MASK}" in result.stderr


# --- Django's error reports -------------------------------------------------------------------------------


def test_the_error_report_settings_hide_the_secrets(secret_settings):
    safe = get_exception_reporter_filter(RequestFactory().get("/")).get_safe_settings()

    for name in ("API_ENTREPRISE_TOKEN", "SECRET_KEY", "PROCONNECT_CLIENT_SECRET"):
        assert safe[name] == "********************"
    assert safe["SOCIALACCOUNT_PROVIDERS"]["proconnect"]["APPS"][0]["secret"] == "********************"
    assert safe["REDIS_URL"] == f"redis://:{MASK}@redis.internal:6379/0"
    assert REDIS_PASSWORD not in str(safe)
    assert TOKEN not in str(safe) and CLIENT_SECRET not in str(safe)


def test_the_technical_500_page_hides_the_token(secret_settings):
    request = RequestFactory().get("/candidatures/1/")

    def api_entreprise_get():
        token = TOKEN
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        url = f"https://entreprise.api.gouv.fr/v3/x?token={token}"
        raise RuntimeError(f"échec {url} {headers}")

    try:
        api_entreprise_get()
    except RuntimeError:
        response = technical_500_response(request, *sys.exc_info())

    html = response.content.decode()
    assert "api_entreprise_get" in html  # the frame is there, with its variables
    assert TOKEN not in html
    assert "Authorization" in html and MASK in html


def test_redact_is_idempotent_and_leaves_ordinary_text():
    text = "Candidature 55204944776279 : 3 sources sur 12, https://entreprise.api.gouv.fr/v3/insee?recipient=1"

    assert redact(text, secrets=[]) == text
    assert redact(redact(f"Bearer {TOKEN}", secrets=[]), secrets=[]) == f"Bearer {MASK}"
