"""Brute force and sessions: allauth's rate limits on sign-in (per account and per IP address), the code sign-in's
attempts, the admin behind the same sign-in, sessions that end with the browser and after SESSION_COOKIE_AGE."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

User = get_user_model()

PASSWORD = "Marches-publics-2026!"
REFUSED = "Trop de tentatives de connexion échouées"
WRONG_PASSWORD = "mot de passe"  # allauth's French "L’adresse e-mail ou le mot de passe sont incorrects."

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def verified_user(email: str = "ada@entreprise.fr", **extra) -> User:
    user = User.objects.create_user(username=email.split("@")[0], email=email, password=PASSWORD, **extra)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def sign_in(client, email: str, password: str, *, ip: str = "192.0.2.10"):
    return client.post(reverse("account_login"), {"login": email, "password": password}, REMOTE_ADDR=ip)


def signed_in_user_id(client) -> int | None:
    user_id = client.session.get("_auth_user_id")
    return int(user_id) if user_id is not None else None


def error_alert(response) -> str:
    """The text of the form's error alert (allauth's non-field errors, rendered by our DSFR elements)."""
    match = re.search(
        r'class="fr-alert fr-alert--error[^"]*" role="alert">(.*?)</div>', response.content.decode(), re.S
    )
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip() if match else ""


def per_key_limit() -> int:
    """N of `N/…/key` in allauth's login_failed rate (failures allowed for one account)."""
    [key_rate] = [rate for rate in settings.ACCOUNT_RATE_LIMITS["login_failed"].split(",") if rate.endswith("/key")]
    return int(key_rate.split("/")[0])


def per_ip_limit() -> int:
    [ip_rate] = [rate for rate in settings.ACCOUNT_RATE_LIMITS["login_failed"].split(",") if rate.endswith("/ip")]
    return int(ip_rate.split("/")[0])


# --- Failed password sign-ins -----------------------------------------------------------------------------


def test_the_limits_are_the_documented_ones():
    assert settings.ACCOUNT_RATE_LIMITS["login_failed"] == "10/m/ip,5/15m/key"
    assert settings.ACCOUNT_RATE_LIMITS["request_login_code"] == "20/m/ip,3/m/key"
    assert settings.ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS == 3


def test_after_repeated_failures_an_account_is_refused_even_with_the_right_password(client):
    user = verified_user()

    for _ in range(per_key_limit()):
        response = sign_in(client, user.email, "pas-le-bon")
        assert response.status_code == 200
        assert WRONG_PASSWORD in error_alert(response)

    response = sign_in(client, user.email, PASSWORD)

    # allauth re-renders the form (200) with its error, announced by the DSFR alert; no session opens.
    assert response.status_code == 200
    assert REFUSED in error_alert(response)
    assert signed_in_user_id(client) is None


def test_the_account_limit_holds_from_another_address_and_spares_other_accounts(client):
    target = verified_user()
    other = verified_user("grace@entreprise.fr")
    for attempt in range(per_key_limit()):
        sign_in(client, target.email, "pas-le-bon", ip=f"198.51.100.{attempt + 1}")

    # The attacker changes address: the account is still locked.
    response = sign_in(client, target.email, PASSWORD, ip="203.0.113.99")
    assert REFUSED in error_alert(response)
    assert signed_in_user_id(client) is None

    # Another account, from the address used for the attack, signs in.
    response = sign_in(client, other.email, PASSWORD, ip="198.51.100.1")
    assert response.status_code == 302
    assert signed_in_user_id(client) == other.pk


def test_an_address_failing_on_many_accounts_is_refused_and_other_addresses_are_not(client, django_user_model):
    victim = verified_user()
    for attempt in range(per_ip_limit()):
        # One failure per account: no account reaches its own limit, the address reaches its limit.
        sign_in(client, f"inconnu-{attempt}@entreprise.fr", "pas-le-bon", ip="192.0.2.66")

    response = sign_in(client, victim.email, PASSWORD, ip="192.0.2.66")
    assert response.status_code == 200
    assert REFUSED in error_alert(response)
    assert signed_in_user_id(client) is None

    response = sign_in(client, victim.email, PASSWORD, ip="192.0.2.77")
    assert response.status_code == 302
    assert signed_in_user_id(client) == victim.pk


def test_successful_sign_ins_do_not_count_as_failures(client):
    user = verified_user()

    for _ in range(per_key_limit() + 2):
        client.logout()
        assert sign_in(client, user.email, PASSWORD).status_code == 302

    assert signed_in_user_id(client) == user.pk


# --- Sign-in by code ----------------------------------------------------------------------------------------


def code_in(message) -> str:
    [code] = re.findall(r"^\s*([A-Z0-9]{3,}(?:-[A-Z0-9]+)+)\s*$", message.body, flags=re.MULTILINE)
    return code


def test_a_login_code_dies_after_the_maximum_of_wrong_attempts(client):
    user = verified_user()
    client.post(reverse("account_request_login_code"), {"email": user.email})
    code = code_in(mail.outbox[-1])

    for _ in range(settings.ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS - 1):
        response = client.post(reverse("account_confirm_login_code"), {"code": "AAAA-AAAA"})
        assert response.status_code == 200  # the form again, with its error
    response = client.post(reverse("account_confirm_login_code"), {"code": "AAAA-AAAA"}, follow=True)

    # The last wrong attempt ends the code: back to the request page, with the French message.
    assert response.redirect_chain[-1][0] == reverse("account_request_login_code")
    assert REFUSED in response.content.decode()
    # The right code no longer opens a session.
    response = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert response.status_code == 302
    assert signed_in_user_id(client) is None


def test_no_more_than_three_codes_a_minute_are_sent_to_one_address():
    user = verified_user()
    responses = [
        Client().post(reverse("account_request_login_code"), {"email": user.email}, REMOTE_ADDR=f"192.0.2.{n}")
        for n in range(1, 5)
    ]

    assert len(mail.outbox) == 3, "the fourth request within the minute sends no code"
    assert [response.status_code for response in responses[:3]] == [302, 302, 302]
    assert responses[3].status_code == 200  # the form again, with allauth's refusal


# --- The admin's sign-in ----------------------------------------------------------------------------------


def test_the_admin_sign_in_is_allauths(client):
    response = client.get("/admin/", follow=True)

    first, *_ = response.redirect_chain
    assert urlsplit(first[0]).path == reverse("admin:login")
    final = urlsplit(response.redirect_chain[-1][0])
    assert final.path == reverse("account_login")
    assert parse_qs(final.query)["next"] == ["/admin/"]


def test_the_admin_login_form_does_not_accept_credentials(client):
    staff = verified_user("admin@passemarche.fr", is_staff=True, is_superuser=True)

    response = client.post(reverse("admin:login"), {"username": staff.username, "password": PASSWORD})

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("account_login")
    assert signed_in_user_id(client) is None


def test_staff_signed_in_through_allauth_reach_the_admin(client):
    staff = verified_user("admin@passemarche.fr", is_staff=True, is_superuser=True)
    next_url = reverse("admin:index")

    response = client.post(
        f"{reverse('account_login')}?next={next_url}", {"login": staff.email, "password": PASSWORD, "next": next_url}
    )
    assert response["Location"] == next_url
    assert client.get(next_url).status_code == 200
    # Arriving on the admin's login page signed in: straight on, never off-site.
    assert client.get(reverse("admin:login"), {"next": "/admin/candidatures/"})["Location"] == "/admin/candidatures/"
    assert client.get(reverse("admin:login"), {"next": "https://evil.example/"})["Location"] == next_url


def test_a_signed_in_user_who_is_not_staff_never_gets_into_the_admin(client):
    user = verified_user()
    client.force_login(user)

    assert client.get("/admin/", follow=True).status_code == 403
    assert client.get(reverse("admin:login")).status_code == 403
    assert client.get(reverse("admin:candidatures_candidature_changelist"), follow=True).status_code == 403


def test_the_admin_does_not_offer_social_app_secrets_nor_tokens(admin_client):
    assert admin_client.get("/admin/socialaccount/socialapp/").status_code == 404
    assert admin_client.get("/admin/socialaccount/socialtoken/").status_code == 404


# --- Sessions -----------------------------------------------------------------------------------------------


def test_the_session_cookie_ends_with_the_browser_and_is_not_readable_by_scripts(client):
    user = verified_user()

    response = sign_in(client, user.email, PASSWORD)

    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["expires"] == "" and cookie["max-age"] == ""  # a browser-session cookie: no "remember me"
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_a_session_expires_on_the_server_after_session_cookie_age(client):
    user = verified_user()
    sign_in(client, user.email, PASSWORD)
    session = Session.objects.get(session_key=client.session.session_key)
    lifetime = session.expire_date - timezone.now()
    assert (
        timedelta(seconds=settings.SESSION_COOKIE_AGE - 60) < lifetime <= timedelta(seconds=settings.SESSION_COOKIE_AGE)
    )
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert client.get(reverse("dashboard"), follow=True).wsgi_request.user == user

    # SESSION_COOKIE_AGE later (the browser kept its cookie): signed out, sent to the sign-in page.
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))

    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("account_login")
    assert not client.get(reverse("home")).wsgi_request.user.is_authenticated
