"""The admin of the API clients: the secret shown once and kept hashed, deactivation and revocation that revoke the
tokens, a new secret on demand, django-oauth-toolkit's own pages gone, and the two admin roles."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from oauth2_provider.models import AccessToken, Application, Grant, IDToken, RefreshToken
from rest_framework.test import APIClient

from platforms import services as platform_services
from platforms.models import ApiClient

from .conftest import Credentials, obtain_token

pytestmark = pytest.mark.django_db

OPERATOR = "Opérateurs (lecture seule)"
HABILITATION_ADMIN = "Administrateurs des habilitations"
SHOWN = re.compile(r'<input type="text" id="shown-client_id" [^>]*value="([^"]+)" readonly')
SHOWN_SECRET = re.compile(r'<input type="text" id="shown-secret" [^>]*value="([^"]+)" readonly')


def add_url() -> str:
    return reverse("admin:platforms_apiclient_add")


def change_url(client: ApiClient) -> str:
    return reverse("admin:platforms_apiclient_change", args=[client.pk])


def changelist_url() -> str:
    return reverse("admin:platforms_apiclient_changelist")


def staff_client(username: str, *, group: str) -> Client:
    user = get_user_model().objects.create_user(username=username, email=f"{username}@example.gouv.fr", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    http = Client()
    http.force_login(user)
    return http


def shown_secret(response) -> tuple[str, str]:
    """(client_id, secret) from the read-only fields of the page that shows them once."""
    assert response.templates[0].name == "admin/platforms/secret_shown_once.html"
    page = response.content.decode()
    return SHOWN.search(page).group(1), SHOWN_SECRET.search(page).group(1)


def change_post(client: ApiClient, **overrides) -> dict:
    data = {
        "name": client.name,
        "organisations": [organisation.pk for organisation in client.organisations.all()],
        "scopes": list(client.scopes),
        "contact_email": client.contact_email,
        "is_active": "on" if client.is_active else "",
    } | overrides
    return {key: value for key, value in data.items() if value != ""}


def live_token_count(client: ApiClient) -> int:
    return AccessToken.objects.filter(application_id=client.application_id).count()


@pytest.fixture
def created(admin_client, buyer):
    """A client created through the add form: (the POST's response, the client, its secret in clear)."""
    response = admin_client.post(
        add_url(),
        {
            "name": "Plateforme Atexo",
            "organisations": [buyer.pk],
            "scopes": ["consultations:read", "candidatures:read"],
            "contact_email": "api@atexo.example",
        },
    )
    assert response.status_code == 200, response.content
    client = ApiClient.objects.get(name="Plateforme Atexo")
    client_id, secret = shown_secret(response)
    assert client_id == client.client_id
    return response, client, secret


def test_the_add_form_offers_the_scopes_with_their_french_labels(admin_client, buyer):
    page = admin_client.get(add_url()).content.decode()

    assert 'type="checkbox" name="scopes" value="documents:read"' in page
    assert "Lire les consultations (consultations:read)" in page
    assert 'name="is_active"' not in page  # a new client is active; its activation changes on its own page


def test_creating_a_client_shows_its_secret_once_and_stores_only_a_hash(created, buyer):
    response, client, secret = created

    assert response.content.decode().count(secret) == 1
    # Shown in that response itself: not carried across a redirect in the messages cookie or the session.
    assert secret not in str(response.cookies)
    assert "no-store" in response["Cache-Control"]
    stored = Application.objects.get(pk=client.application_id).client_secret
    assert secret not in stored and check_password(secret, stored)
    assert client.scopes == ["consultations:read", "candidatures:read"]
    assert list(client.organisations.all()) == [buyer]
    assert client.contact_email == "api@atexo.example" and client.is_active


def test_the_shown_secret_obtains_a_token(created, client):
    _, api_client, secret = created

    body = obtain_token(client, Credentials(client=api_client, client_id=api_client.client_id, secret=secret))

    assert set(body["scope"].split()) == {"consultations:read", "candidatures:read"}


def test_the_secret_appears_nowhere_afterwards(admin_client, created):
    _, client, secret = created

    change_page = admin_client.get(change_url(client)).content.decode()
    assert client.client_id in change_page
    assert secret not in change_page
    assert secret not in admin_client.get(changelist_url()).content.decode()
    history = reverse("admin:platforms_apiclient_history", args=[client.pk])
    assert secret not in admin_client.get(history).content.decode()
    assert LogEntry.objects.filter(object_id=str(client.pk)).exists()
    assert not LogEntry.objects.filter(change_message__contains=secret).exists()


def test_a_creation_without_scope_is_refused(admin_client, buyer):
    response = admin_client.post(add_url(), {"name": "Sans portée", "organisations": [buyer.pk], "scopes": []})

    assert response.status_code == 200
    assert "scopes" in response.context["adminform"].form.errors
    assert not ApiClient.objects.filter(name="Sans portée").exists()


def test_deactivating_from_the_change_form_revokes_the_tokens(admin_client, platform, token):
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert bearer.get("/api/v1/consultations/").status_code == 200

    response = admin_client.post(change_url(platform.client), change_post(platform.client, is_active=""), follow=True)

    assert response.status_code == 200
    assert "Client désactivé : 1 jeton révoqué." in [str(message) for message in response.context["messages"]]
    platform.client.refresh_from_db()
    assert not platform.client.is_active and platform.client.revoked_at is not None
    assert live_token_count(platform.client) == 0
    assert bearer.get("/api/v1/consultations/").status_code == 401


def test_activating_again_lets_the_client_obtain_tokens(admin_client, client, platform):
    platform_services.api_client_revoke(client=platform.client)
    platform.client.refresh_from_db()

    admin_client.post(change_url(platform.client), change_post(platform.client, is_active="on"))

    platform.client.refresh_from_db()
    assert platform.client.is_active and platform.client.revoked_at is None
    assert obtain_token(client, platform)["token_type"] == "Bearer"


def test_the_change_form_edits_the_scopes_and_keeps_the_tokens(admin_client, platform, token):
    response = admin_client.post(change_url(platform.client), change_post(platform.client, scopes=["documents:read"]))

    assert response.status_code == 302
    platform.client.refresh_from_db()
    assert platform.client.scopes == ["documents:read"] and platform.client.is_active
    assert live_token_count(platform.client) == 1


def test_the_change_form_counts_the_live_tokens(admin_client, client, platform):
    obtain_token(client, platform)
    obtain_token(client, platform)

    page = admin_client.get(change_url(platform.client)).content.decode()

    assert re.search(r"jetons en cours.*?<div class=\"readonly\">2</div>", page, re.S)


def test_the_revoke_action_revokes_the_selected_clients_and_counts_their_tokens(
    admin_client, client, make_api_client, buyer
):
    first = make_api_client(organisations=[buyer], name="Première")
    second = make_api_client(organisations=[buyer], name="Seconde")
    kept = make_api_client(organisations=[buyer], name="Gardée")
    for credentials in (first, first, second, kept):
        obtain_token(client, credentials)

    response = admin_client.post(
        changelist_url(),
        {"action": "revoke_selected", "_selected_action": [first.client.pk, second.client.pk]},
        follow=True,
    )

    assert "2 clients révoqués (3 jetons révoqués)." in [str(message) for message in response.context["messages"]]
    assert set(ApiClient.objects.filter(is_active=False).values_list("name", flat=True)) == {"Première", "Seconde"}
    assert live_token_count(first.client) == live_token_count(second.client) == 0
    assert live_token_count(kept.client) == 1


def test_rotating_the_secret_shows_the_new_one_once_and_the_old_one_stops_working(admin_client, client, platform):
    obtain_token(client, platform)

    response = admin_client.post(
        changelist_url(), {"action": "rotate_secret", "_selected_action": [platform.client.pk]}
    )

    assert response.status_code == 200
    client_id, secret = shown_secret(response)
    assert client_id == platform.client_id and secret != platform.secret
    assert response.content.decode().count(secret) == 1
    assert live_token_count(platform.client) == 0
    refused = client.post("/api/oauth/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=platform.basic)
    assert refused.status_code == 401
    platform.secret = secret
    assert obtain_token(client, platform)["token_type"] == "Bearer"
    assert not LogEntry.objects.filter(change_message__contains=secret).exists()


def test_rotating_needs_exactly_one_client(admin_client, client, make_api_client, buyer):
    first = make_api_client(organisations=[buyer], name="Première")
    second = make_api_client(organisations=[buyer], name="Seconde")

    response = admin_client.post(
        changelist_url(),
        {"action": "rotate_secret", "_selected_action": [first.client.pk, second.client.pk]},
        follow=True,
    )

    assert "Choisissez un seul client pour régénérer son secret." in [
        str(message) for message in response.context["messages"]
    ]
    assert obtain_token(client, first)["token_type"] == "Bearer"
    assert obtain_token(client, second)["token_type"] == "Bearer"


def test_a_client_is_revoked_never_deleted(admin_client, platform):
    response = admin_client.get(reverse("admin:platforms_apiclient_delete", args=[platform.client.pk]))

    assert response.status_code == 403


@pytest.mark.parametrize("model", [Application, AccessToken, RefreshToken, Grant, IDToken])
def test_the_oauth_toolkit_pages_are_gone(model):
    assert not admin.site.is_registered(model)


def test_the_operator_views_the_clients_but_cannot_add_change_or_act(platform):
    operator = staff_client("operateur", group=OPERATOR)

    assert operator.get(changelist_url()).status_code == 200
    assert operator.get(change_url(platform.client)).status_code == 200
    assert operator.get(add_url()).status_code == 403
    response = operator.post(change_url(platform.client), change_post(platform.client, is_active=""))
    assert response.status_code == 403
    operator.post(changelist_url(), {"action": "revoke_selected", "_selected_action": [platform.client.pk]})
    platform.client.refresh_from_db()
    assert platform.client.is_active


def test_the_operator_group_only_views_the_platforms_models():
    group = Group.objects.get(name=OPERATOR)
    codenames = set(group.permissions.filter(content_type__app_label="platforms").values_list("codename", flat=True))

    assert codenames == {"view_apiclient", "view_webhookendpoint", "view_webhookdelivery", "view_webhookattempt"}


def test_the_habilitations_admin_creates_clients_and_endpoints_and_resends_deliveries(buyer):
    group = Group.objects.get(name=HABILITATION_ADMIN)
    codenames = set(group.permissions.filter(content_type__app_label="platforms").values_list("codename", flat=True))

    assert {"add_apiclient", "change_apiclient", "add_webhookendpoint", "change_webhookendpoint"} <= codenames
    assert {"view_webhookdelivery", "change_webhookdelivery"} <= codenames
    assert "add_webhookdelivery" not in codenames and "delete_webhookdelivery" not in codenames
    habilitations_admin = staff_client("habilitations", group=HABILITATION_ADMIN)
    response = habilitations_admin.post(
        add_url(), {"name": "Plateforme AWS", "organisations": [buyer.pk], "scopes": ["consultations:read"]}
    )
    assert response.status_code == 200
    assert ApiClient.objects.filter(name="Plateforme AWS").exists()
