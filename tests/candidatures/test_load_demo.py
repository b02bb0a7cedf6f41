"""`load_demo` (run by `make run`): the accounts it prints work, through the one login of the portal."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import Application

from candidatures import demo
from candidatures.models import Consultation, Habilitation, Lot, OrganisationMember
from platforms.models import ApiClient, WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(capsys):
    call_command("load_demo")
    return capsys.readouterr().out


def sign_in(client, email: str, password: str, next_url: str = "/"):
    return client.post(reverse("account_login") + f"?next={next_url}", {"login": email, "password": password})


def test_the_printed_accounts_are_the_ones_created(loaded):
    for account in (demo.DEMO_ADMIN_EMAIL, demo.DEMO_BUYER_EMAIL, demo.DEMO_COMPANY_EMAIL, demo.DEMO_OPERATOR_EMAIL):
        assert account in loaded


def test_the_admin_signs_in_by_email_and_reaches_the_admin(client, loaded):
    response = sign_in(client, demo.DEMO_ADMIN_EMAIL, demo.DEMO_ADMIN_PASSWORD, next_url="/admin/")

    assert response.status_code == 302 and response.url == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_operator_reads_the_audit_trail_but_cannot_grant(client, loaded):
    sign_in(client, demo.DEMO_OPERATOR_EMAIL, demo.DEMO_OPERATOR_PASSWORD)

    assert client.get(reverse("admin:candidatures_upstreamcall_changelist")).status_code == 200
    assert client.get(reverse("admin:candidatures_habilitation_add")).status_code == 403


def test_the_buyer_account_belongs_to_the_demo_organisation(loaded):
    member = OrganisationMember.objects.get(user__email=demo.DEMO_BUYER_EMAIL)
    assert member.organisation.siret == demo.DEMO_BUYER_SIRET


def test_the_demo_platform_obtains_a_token_with_the_printed_credentials(client, loaded):
    assert demo.DEMO_PLATFORM_CLIENT_ID in loaded and demo.DEMO_PLATFORM_CLIENT_SECRET in loaded

    response = client.post(
        "/api/oauth/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION="Basic "
        + base64.b64encode(f"{demo.DEMO_PLATFORM_CLIENT_ID}:{demo.DEMO_PLATFORM_CLIENT_SECRET}".encode()).decode(),
    )

    assert response.status_code == 200, response.content
    assert set(response.json()["scope"].split()) == set(settings.API_SCOPES)
    platform = ApiClient.objects.get(application__client_id=demo.DEMO_PLATFORM_CLIENT_ID)
    assert [organisation.siret for organisation in platform.organisations.all()] == [demo.DEMO_BUYER_SIRET]


def test_the_demo_platform_receives_every_event_at_its_printed_address(loaded):
    endpoint = WebhookEndpoint.objects.get(api_client__application__client_id=demo.DEMO_PLATFORM_CLIENT_ID)

    assert endpoint.url == demo.DEMO_PLATFORM_WEBHOOK_URL and endpoint.url in loaded
    assert endpoint.secret == demo.DEMO_PLATFORM_WEBHOOK_SECRET and endpoint.secret in loaded
    assert sorted(endpoint.events) == sorted(WebhookEvent.values) and endpoint.is_active


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            get_user_model(),
            EmailAddress,
            Consultation,
            Lot,
            Habilitation,
            OrganisationMember,
            ApiClient,
            Application,
            WebhookEndpoint,
        )
    }


def test_loading_twice_changes_nothing(loaded, capsys):
    before = counts()
    secret_before = client_secret()

    call_command("load_demo")

    assert counts() == before
    assert client_secret() == secret_before


def client_secret() -> str:
    return Application.objects.get(client_id=demo.DEMO_PLATFORM_CLIENT_ID).client_secret


def test_a_demo_database_kept_past_the_deadline_is_open_again(loaded, capsys):
    consultation = Consultation.objects.get(reference=demo.DEMO_CONSULTATION_REFERENCE)
    Consultation.objects.filter(pk=consultation.pk).update(deadline=timezone.now() - timedelta(days=1))

    call_command("load_demo")

    consultation.refresh_from_db()
    assert not consultation.is_closed


def test_the_demo_platform_consultation_kept_past_its_deadline_is_open_again(loaded, capsys):
    organisation = Consultation.objects.get(reference=demo.DEMO_CONSULTATION_REFERENCE).organisation
    platform_consultation = Consultation.objects.create(
        organisation=organisation,
        reference=demo.DEMO_PLATFORM_CONSULTATION_REFERENCE,
        title="Créée par la plateforme de démonstration",
        market_type=Consultation.MarketType.SERVICES,
        deadline=timezone.now() - timedelta(days=1),
        published_at=timezone.now() - timedelta(days=31),
    )

    call_command("load_demo")

    platform_consultation.refresh_from_db()
    assert not platform_consultation.is_closed
