"""Accounts: email sign-up and sign-in (code or password), ProConnect for buyers, and the pages' State design."""

from __future__ import annotations

import re
from contextlib import contextmanager
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import requests
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from candidatures import services
from candidatures.accounts import buyer_membership_from_proconnect
from candidatures.models import Habilitation, Organisation, OrganisationMember
from passemarche.settings.base import proconnect_providers
from tests.fake_oidc import FakeOIDCProvider

User = get_user_model()

PASSWORD = "Marches-publics-2026!"
DINUM_SIRET = "13002526500013"
MAIRIE_SIRET = "21750001600019"
PROCONNECT_LOGIN_URL = "/comptes/oidc/proconnect/login/"
AGENT_CLAIMS = {
    "sub": "agent-7f3a",
    "email": "camille.martin@paris.fr",
    "given_name": "Camille",
    "usual_name": "Martin",
    "siret": MAIRIE_SIRET,
    "uid": "7f3a",
    "idp_id": "fia1v2",
}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """allauth counts attempts in the cache (e.g. one verification email per address every 10 s)."""
    cache.clear()


def verified_user(email: str = "ada@entreprise.fr") -> User:
    user = User.objects.create_user(username=email.split("@")[0], email=email, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def signed_in_user_id(client) -> int | None:
    user_id = client.session.get("_auth_user_id")
    return int(user_id) if user_id is not None else None


def code_in(message) -> str:
    """The one-time code alone on its line in allauth's emails (e.g. `7KQ4-M2XP`)."""
    codes = re.findall(r"^\s*([A-Z0-9]{3,}(?:-[A-Z0-9]+)+)\s*$", message.body, flags=re.MULTILINE)
    assert len(codes) == 1, message.body
    return codes[0]


class _Page(HTMLParser):
    """Headings, labels, inputs and classes of a page, to check its structure rather than its spelling."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.h1: list[str] = []
        self.labels_for: set[str] = set()
        self.inputs: dict[str, dict[str, str | None]] = {}
        self.classes: set[str] = set()
        self.lang: str | None = None
        self.title = ""
        self._in: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.classes.update((attributes.get("class") or "").split())
        if tag == "html":
            self.lang = attributes.get("lang")
        elif tag in ("h1", "title"):
            self._in = tag
            if tag == "h1":
                self.h1.append("")
        elif tag == "label" and attributes.get("for"):
            self.labels_for.add(attributes["for"])
        elif tag in ("input", "textarea", "select") and attributes.get("type") not in ("hidden", "submit"):
            self.inputs[attributes.get("id") or ""] = attributes

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "h1":
            self.h1[-1] += data
        elif self._in == "title":
            self.title += data


def page(response, status: int = 200) -> _Page:
    assert response.status_code == status, response.status_code
    return _Page(response.content.decode())


def assert_accessible_dsfr_page(parsed: _Page) -> None:
    assert parsed.lang == "fr"
    assert len(parsed.h1) == 1, parsed.h1
    assert "Passe Marché" in parsed.title
    assert {"fr-header", "fr-footer"} <= parsed.classes
    for input_id, attributes in parsed.inputs.items():
        assert input_id, f"input without id: {attributes}"
        assert input_id in parsed.labels_for, f"input #{input_id} has no label"


# --- Sign-up: verified by a code before any sign-in ----------------------------------------------------------


def test_signup_sends_a_verification_code_and_blocks_sign_in_until_verified(client, db):
    response = client.post(
        reverse("account_signup"),
        {"email": "lea@menuiserie.fr", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert signed_in_user_id(client) is None
    [message] = mail.outbox
    assert message.to == ["lea@menuiserie.fr"]
    assert message.subject.startswith("[Passe Marché] ")
    assert "Passe Marché" in message.body and "testserver" not in message.body  # the service, not the host
    code = code_in(message)
    user = User.objects.get(email="lea@menuiserie.fr")
    assert not EmailAddress.objects.get(user=user).verified

    # The code page is ours, in French, with one heading and a labelled code field.
    confirm = page(client.get(reverse("account_email_verification_sent")))
    assert_accessible_dsfr_page(confirm)
    assert "code" in confirm.h1[0].lower()
    assert "fr-input" in confirm.classes

    # Signing in with the password does not open a session. Right after sign-up (a code went out less than 10 s
    # ago), allauth refuses it; once that cooldown is over, it sends a new code and asks for it.
    other_browser = type(client)()
    credentials = {"login": "lea@menuiserie.fr", "password": PASSWORD}
    response = other_browser.post(reverse("account_login"), credentials)
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert signed_in_user_id(other_browser) is None
    cache.clear()  # the cooldown is over
    response = other_browser.post(reverse("account_login"), credentials)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert signed_in_user_id(other_browser) is None
    assert len(mail.outbox) == 2

    # The code from the first email verifies the address and signs the user in.
    response = client.post(reverse("account_email_verification_sent"), {"code": code})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert signed_in_user_id(client) == user.pk
    assert EmailAddress.objects.get(user=user).verified


def test_a_wrong_verification_code_is_refused_with_an_announced_error(client, db):
    client.post(reverse("account_signup"), {"email": "lea@menuiserie.fr", "password1": PASSWORD, "password2": PASSWORD})

    response = client.post(reverse("account_email_verification_sent"), {"code": "AAAA-AAAA"})

    parsed = page(response)
    assert signed_in_user_id(client) is None
    assert "fr-input-group--error" in parsed.classes
    assert parsed.inputs["id_code"]["aria-invalid"] == "true"
    assert parsed.inputs["id_code"]["aria-describedby"] == "id_code-desc-error"
    assert 'role="alert"' in response.content.decode()


# --- Sign-in by code and by password --------------------------------------------------------------------------


def test_login_by_code(client, db):
    user = verified_user()

    response = client.post(reverse("account_request_login_code"), {"email": user.email})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_confirm_login_code")
    [message] = mail.outbox
    assert message.to == [user.email]
    code = code_in(message)

    confirm_page = client.get(reverse("account_confirm_login_code"))
    parsed = page(confirm_page)
    assert_accessible_dsfr_page(parsed)
    assert "Passe Marché" in parsed.title and "code" not in parsed.title.lower()  # allauth's `title` block is the h1
    assert "code" in parsed.h1[0].lower()
    assert user.email in confirm_page.content.decode()  # the alert telling where the code was sent

    response = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert signed_in_user_id(client) == user.pk


def test_login_by_password_for_a_verified_user(client, db):
    user = verified_user()

    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert signed_in_user_id(client) == user.pk


def test_a_wrong_password_is_an_announced_french_error(client, db):
    user = verified_user()

    response = client.post(reverse("account_login"), {"login": user.email, "password": "pas-le-bon"})

    html = response.content.decode()
    assert signed_in_user_id(client) is None
    assert re.search(r'<div class="fr-alert fr-alert--error[^"]*" role="alert">\s*<p>[^<]*mot de passe', html)


# --- The pages: French, State design system, accessible -------------------------------------------------------


@pytest.mark.parametrize(
    "url_name",
    ["account_login", "account_signup", "account_request_login_code", "account_reset_password"],
)
def test_account_pages_use_the_state_design_system(client, db, url_name):
    parsed = page(client.get(reverse(url_name)))

    assert_accessible_dsfr_page(parsed)
    assert {"fr-input-group", "fr-input", "fr-label", "fr-btn"} <= parsed.classes
    assert parsed.inputs, "the page has a form"


def test_login_page_is_in_french_with_the_state_design_system(client, db, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}

    response = client.get(reverse("account_login"))

    parsed = page(response)
    html = response.content.decode()
    assert parsed.h1[0].strip() == "Connexion"
    assert parsed.inputs["id_login"]["class"] == "fr-input"
    assert parsed.inputs["id_password"]["type"] == "password"
    assert "Mot de passe" in html
    assert "Envoyez-moi un code de connexion" in html
    assert "ProConnect" not in html


def test_login_page_shows_proconnect_when_configured(client, db, settings):
    settings.SOCIALACCOUNT_PROVIDERS = proconnect_providers(
        client_id="passemarche", secret="s3cret", server_url="https://proconnect.invalid/api/v2"
    )

    html = client.get(reverse("account_login")).content.decode()

    button = re.search(
        r'<form method="post" action="(?P<action>[^"]+)">\s*<input type="hidden" name="csrfmiddlewaretoken"[^>]*>\s*'
        r'<button type="submit" class="fr-btn">S\'identifier avec ProConnect</button>',
        html,
    )
    assert button, html
    assert urlsplit(button["action"].replace("&amp;", "&")).path == PROCONNECT_LOGIN_URL
    assert "Qu’est-ce que ProConnect ?" in html


def test_logout_page_uses_the_state_design_system(client, db):
    client.force_login(verified_user())

    parsed = page(client.get(reverse("account_logout")))

    assert_accessible_dsfr_page(parsed)
    assert parsed.h1[0].strip() == "Se déconnecter"
    assert "fr-btn" in parsed.classes
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert signed_in_user_id(client) is None


def test_password_reset_sends_a_link(client, db):
    user = verified_user()

    response = client.post(reverse("account_reset_password"), {"email": user.email})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    [message] = mail.outbox
    assert message.to == [user.email]
    assert "http://testserver/comptes/password/reset/key/" in message.body
    assert_accessible_dsfr_page(page(client.get(response["Location"])))


# --- ProConnect: a buyer's membership, from the claims (no HTTP) ----------------------------------------------


def test_proconnect_claims_make_a_buyer_of_a_new_organisation(db):
    user = User.objects.create_user(username="agent", email="camille.martin@paris.fr")

    membership = buyer_membership_from_proconnect(user=user, claims=AGENT_CLAIMS)

    assert membership.user == user
    assert membership.organisation.siret == MAIRIE_SIRET
    assert membership.organisation.name == f"Organisation {MAIRIE_SIRET}"
    assert Habilitation.objects.filter(organisation=membership.organisation).count() == 1
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Camille", "Martin")


def test_proconnect_claims_join_an_existing_organisation_without_renaming_it(db):
    dinum, _ = services.organisation_get_or_create(siret=DINUM_SIRET, name="DINUM")
    user = User.objects.create_user(username="agent", email="agent@numerique.gouv.fr")

    membership = buyer_membership_from_proconnect(user=user, claims={**AGENT_CLAIMS, "siret": DINUM_SIRET})

    assert membership.organisation == dinum
    dinum.refresh_from_db()
    assert dinum.name == "DINUM"
    assert Habilitation.objects.filter(organisation=dinum).count() == 1


def test_proconnect_never_moves_an_existing_buyer(db):
    dinum, _ = services.organisation_get_or_create(siret=DINUM_SIRET, name="DINUM")
    user = User.objects.create_user(username="agent", email="agent@numerique.gouv.fr")
    OrganisationMember.objects.create(user=user, organisation=dinum)

    membership = buyer_membership_from_proconnect(user=user, claims=AGENT_CLAIMS)

    assert membership.organisation == dinum
    assert not Organisation.objects.filter(siret=MAIRIE_SIRET).exists()
    user.refresh_from_db()
    assert user.last_name == "Martin"


def test_proconnect_never_turns_a_company_account_into_a_buyer(db):
    from candidatures.models import Candidature

    consultation = services.consultation_get_or_create(
        organisation=services.organisation_get_or_create(siret=DINUM_SIRET, name="DINUM")[0], reference="M-1"
    )
    user = User.objects.create_user(username="gerante", email="agent@numerique.gouv.fr")
    Candidature.objects.create(consultation=consultation, siret="55204944776279", siren="552049447", owner=user)

    assert buyer_membership_from_proconnect(user=user, claims=AGENT_CLAIMS) is None
    assert not OrganisationMember.objects.filter(user=user).exists()


@pytest.mark.parametrize("siret", [None, "", "12345678901234", "1300252650001"])
def test_proconnect_without_a_valid_siret_makes_no_buyer(db, siret):
    user = User.objects.create_user(username="agent", email="agent@exemple.fr")
    claims = {**AGENT_CLAIMS, "siret": siret}

    assert buyer_membership_from_proconnect(user=user, claims=claims) is None
    assert not OrganisationMember.objects.exists()
    assert not Organisation.objects.exists()


# --- ProConnect end to end, against a fake provider over real HTTP --------------------------------------------


@contextmanager
def fake_proconnect(settings, **options):
    """A fake provider, configured as ProConnect for the duration of the block."""
    with FakeOIDCProvider(claims=dict(AGENT_CLAIMS), **options) as provider:
        settings.SOCIALACCOUNT_PROVIDERS = proconnect_providers(
            client_id=provider.client_id, secret=provider.client_secret, server_url=provider.server_url
        )
        yield provider


@pytest.fixture
def proconnect(settings):
    """A fake answering as the real ProConnect does: nonce required, userinfo as a signed JWT."""
    with fake_proconnect(settings, require_nonce=True, userinfo_signed=True) as provider:
        yield provider


def sign_in_with_proconnect(client):
    """Click the button (a POST), let the provider redirect back, land on the callback; return its response."""
    response = client.post(PROCONNECT_LOGIN_URL, {"process": "login"})
    assert response.status_code == 302, response.content
    to_provider = requests.get(response["Location"], allow_redirects=False, timeout=5)
    assert to_provider.status_code == 302, to_provider.text
    back = urlsplit(to_provider.headers["Location"])
    assert back.path == "/comptes/oidc/proconnect/login/callback/"
    return client.get(f"{back.path}?{back.query}")


def test_proconnect_sign_in_makes_a_buyer_and_the_next_sign_in_finds_them(client, db, proconnect):
    response = sign_in_with_proconnect(client)

    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == reverse("dashboard")
    user = User.objects.get(email=AGENT_CLAIMS["email"])
    assert signed_in_user_id(client) == user.pk
    assert (user.first_name, user.last_name) == ("Camille", "Martin")
    assert user.buyer_membership.organisation.siret == MAIRIE_SIRET
    assert user.socialaccount_set.get().provider == "proconnect"

    # What the provider saw: PKCE, a long state and nonce, the secret in the body, the code exchanged once.
    [authorize] = proconnect.authorize_requests
    assert authorize["code_challenge_method"] == "S256"
    assert len(authorize["state"]) >= 32
    assert len(authorize["nonce"]) >= 32
    assert set(authorize["scope"].split()) == {"openid", "email", "given_name", "usual_name", "siret"}
    [token] = proconnect.token_requests
    assert token["client_secret"] == proconnect.client_secret
    assert token["code_verifier"]

    # A second sign-in, from another browser, finds the same user and membership.
    client.logout()
    other_browser = type(client)()
    response = sign_in_with_proconnect(other_browser)
    assert response.status_code == 302
    assert signed_in_user_id(other_browser) == user.pk
    assert User.objects.count() == 1
    assert OrganisationMember.objects.get().user == user


def test_proconnect_sign_in_of_an_agent_of_a_known_organisation(client, db, proconnect):
    dinum, _ = services.organisation_get_or_create(siret=DINUM_SIRET, name="DINUM")
    proconnect.claims = {**AGENT_CLAIMS, "siret": DINUM_SIRET}

    response = sign_in_with_proconnect(client)

    assert response.status_code == 302
    user = User.objects.get(email=AGENT_CLAIMS["email"])
    assert user.buyer_membership.organisation == dinum
    assert Organisation.objects.count() == 1


def test_a_proconnect_callback_from_another_browser_signs_nobody_in(client, db, proconnect):
    response = client.post(PROCONNECT_LOGIN_URL, {"process": "login"})
    back = urlsplit(requests.get(response["Location"], allow_redirects=False, timeout=5).headers["Location"])

    attacker = type(client)()
    response = attacker.get(f"{back.path}?{back.query}")

    parsed = page(response, status=401)
    assert signed_in_user_id(attacker) is None
    assert not User.objects.exists()
    assert proconnect.token_requests == []  # the code was never exchanged
    assert_accessible_dsfr_page(parsed)


@pytest.mark.parametrize(
    "options",
    [{"require_nonce": True}, {"userinfo_signed": True}, {}],
    ids=["nonce", "jwt", "json-userinfo"],
)
def test_proconnect_sign_in_with_each_of_proconnect_s_requirements_or_a_json_userinfo(client, db, settings, options):
    with fake_proconnect(settings, **options) as provider:
        response = sign_in_with_proconnect(client)

    assert response.status_code == 302, response.content.decode()
    user = User.objects.get(email=AGENT_CLAIMS["email"])
    assert signed_in_user_id(client) == user.pk
    assert user.buyer_membership.organisation.siret == MAIRIE_SIRET
    [authorize] = provider.authorize_requests
    assert len(authorize["nonce"]) >= 32  # ProConnect's minimum


def test_each_proconnect_sign_in_sends_a_new_nonce(client, db, proconnect):
    sign_in_with_proconnect(client)
    client.logout()
    sign_in_with_proconnect(client)

    first, second = (request["nonce"] for request in proconnect.authorize_requests)
    assert first != second
    assert first != proconnect.authorize_requests[0]["state"]


@pytest.mark.parametrize(
    "tampering",
    [
        {"id_token_overrides": {"nonce": "un-autre-nonce-que-celui-de-cette-connexion-42"}},
        {"id_token_overrides": {"nonce": None}},
        {"userinfo_forged": True},
        {"id_token_overrides": {"sub": "un-autre-agent"}},
    ],
    ids=["wrong-nonce", "no-nonce", "userinfo-bad-signature", "userinfo-of-another-subject"],
)
def test_a_proconnect_answer_that_does_not_check_out_signs_nobody_in(client, db, settings, tampering):
    with fake_proconnect(settings, require_nonce=True, userinfo_signed=True, **tampering) as provider:
        response = sign_in_with_proconnect(client)

    parsed = page(response, status=401)
    assert signed_in_user_id(client) is None
    assert not User.objects.exists()
    assert not OrganisationMember.objects.exists()
    assert len(provider.token_requests) == 1  # refused after the code exchange, on what came back
    assert_accessible_dsfr_page(parsed)
