"""Deployment security: `check --deploy` clean with the production settings, the security headers on every
response, a Content Security Policy our pages (and the admin) live with: no inline script, style or handler."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from candidatures import services
from candidatures.models import OrganisationMember

BASE_DIR = Path(settings.BASE_DIR)


def production_env(tmp_path: Path) -> dict[str, str]:
    """A clean environment (nothing of the test settings) with what production must provide."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "passemarche.settings.prod",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "passe-marche.example.gouv.fr",
        "API_ENTREPRISE_TOKEN": secrets.token_urlsafe(32),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "CLAMAV_URL": "unix:///run/clamav/clamd.ctl",
    }


def run_in_production(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_with_the_production_settings_has_no_issues(tmp_path):
    result = run_in_production(tmp_path, "manage.py", "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


PRODUCTION_RESPONSE = textwrap.dedent(
    """
    import json

    import django

    django.setup()
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.http import HttpResponse
    from django.middleware.csrf import CsrfViewMiddleware, get_token
    from django.test import Client, RequestFactory

    client = Client(HTTP_HOST="passe-marche.example.gouv.fr")
    plain = client.get("/")
    response = client.get("/", secure=True)

    # The cookies of a sign-in: a session and a CSRF token.
    with connection.schema_editor() as editor:
        editor.create_model(Session)

    def sign_in(request):
        request.session["_auth_user_id"] = "1"
        get_token(request)
        return HttpResponse()

    request = RequestFactory().post("/comptes/login/", secure=True, HTTP_HOST="passe-marche.example.gouv.fr")
    request._dont_enforce_csrf_checks = True
    signed_in = SessionMiddleware(CsrfViewMiddleware(sign_in))(request)
    print(json.dumps({
        "plain": {"status": plain.status_code, "location": plain.get("Location", "")},
        "status": response.status_code,
        "headers": dict(response.headers),
        "cookies": {name: dict(morsel.items()) for name, morsel in signed_in.cookies.items()},
    }))
    """
)


def test_production_answers_over_https_only_with_hsts_and_secure_cookies(tmp_path):
    result = run_in_production(tmp_path, "-c", PRODUCTION_RESPONSE)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])

    assert answer["plain"] == {"status": 301, "location": "https://passe-marche.example.gouv.fr/"}
    assert answer["status"] == 200
    headers = answer["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "upgrade-insecure-requests" in directives(headers["Content-Security-Policy"])
    cookies = answer["cookies"]
    assert set(cookies) == {"__Host-csrftoken", "__Host-sessionid"}
    for cookie in cookies.values():
        assert cookie["secure"] is True
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"
        assert cookie["path"] == "/"
        assert cookie["domain"] == ""
    assert cookies["__Host-sessionid"]["max-age"] == ""  # ends with the browser


# --- Headers in every environment (base settings) ---------------------------------------------------------


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in filter(None, (part.strip() for part in policy.split(";"))):
        name, *values = directive.split()
        parsed[name] = values
    return parsed


def assert_secure_headers(response) -> None:
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # neither 'unsafe-inline' nor 'unsafe-eval', nor any other origin
    assert "'unsafe-inline'" not in policy["style-src"] and "'unsafe-eval'" not in policy["style-src"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"][0] == "'self'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


class _Inline(HTMLParser):
    """What a strict CSP would block in a page: inline scripts, event handler attributes, inline styles."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.handlers: list[str] = []
        self.style_attributes: list[str] = []
        self.style_elements: list[str] = []
        self.script_sources: list[str] = []
        self._in: str | None = None
        self._inline_script = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.handlers += [f"<{tag} {name}>" for name in attributes if name.startswith("on")]
        self.handlers += [f"<{tag} {name}>" for name, value in attributes.items() if "javascript:" in (value or "")]
        if "style" in attributes:
            self.style_attributes.append(f"<{tag} style={attributes['style']!r}>")
        if tag == "script":
            if attributes.get("src"):
                self.script_sources.append(attributes["src"])
            # Data blocks (JSON) are not executed: a CSP does not apply to them.
            self._inline_script = not attributes.get("src") and attributes.get("type") != "application/json"
        if tag in ("script", "style"):
            self._in = tag
            if tag == "style":
                self.style_elements.append("")

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "script" and self._inline_script and data.strip():
            self.scripts.append(data.strip()[:80])
        elif self._in == "style":
            self.style_elements[-1] += data


def assert_nothing_inline(response) -> _Inline:
    page = _Inline(response.content.decode())
    assert not page.scripts, page.scripts
    assert not page.handlers, page.handlers
    assert not page.style_attributes, page.style_attributes
    assert not page.style_elements, page.style_elements
    return page


@pytest.mark.parametrize(
    "url_name",
    ["home", "account_login", "account_signup", "account_request_login_code", "account_reset_password"],
)
def test_public_pages_send_the_security_headers_and_nothing_inline(client, db, url_name):
    response = client.get(reverse(url_name))

    assert response.status_code == 200
    assert_secure_headers(response)
    page = assert_nothing_inline(response)
    assert any("htmx-2" in src for src in page.script_sources)
    assert '"includeIndicatorStyles": false' in response.content.decode()  # htmx adds no <style> under the CSP


def test_the_review_page_copies_the_link_with_a_static_script(client, db, settings):
    settings.SITE_URL = "https://passe-marche.example.gouv.fr"
    organisation, _ = services.organisation_get_or_create(siret="13002526500013", name="DINUM")
    consultation = services.consultation_get_or_create(
        organisation=organisation, reference="CSP-01", market_type="travaux"
    )
    consultation.published_at = timezone.now()
    consultation.save()
    user = get_user_model().objects.create_user(username="acheteur", email="acheteur@example.gouv.fr")
    OrganisationMember.objects.create(user=user, organisation=organisation)
    client.force_login(user)

    response = client.get(reverse("consultation_review", args=[consultation.pk]))

    assert response.status_code == 200
    assert_secure_headers(response)
    page = assert_nothing_inline(response)
    assert "/static/js/copy-link.js" in page.script_sources
    html = response.content.decode()
    assert 'data-copied-message="Lien copié dans le presse-papiers."' in html
    assert "data-select-on-focus" in html
    assert (BASE_DIR / "static" / "js" / "copy-link.js").is_file()


# --- The admin under the same policy ------------------------------------------------------------------------


def test_the_admin_runs_under_the_policy(admin_client):
    """Every change list of the admin, and our models' add forms (widgets, inlines): nothing inline to block."""
    import passemarche.urls  # noqa: F401 — the admin's registry as the URLconf leaves it

    pages = [reverse("admin:index"), reverse("admin:auth_user_add")]
    for model in admin.site._registry:
        opts = model._meta
        pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        if opts.app_label == "candidatures":
            pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code in (200, 403), url  # 403: the audit trail cannot be added to
        assert_secure_headers(response)
        assert_nothing_inline(response)
