"""The domain's fixtures (buyer organisation, consultation, candidature, upstream stand-ins), for every test folder
(loaded by tests/conftest.py as a plugin)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from candidatures import services
from candidatures.models import OrganisationMember
from tests.builders import make_user


@pytest.fixture
def enqueued(monkeypatch):
    """Record the fetch ids a service enqueues (and who asked, in `.requested_by`) instead of sending them."""

    class Sent(list):
        def __init__(self):
            super().__init__()
            self.requested_by: list[str] = []

        def clear(self):
            super().clear()
            self.requested_by.clear()

    sent = Sent()

    def enqueue(fetch_ids, requested_by=""):
        sent.extend(fetch_ids)
        sent.requested_by.extend([requested_by] * len(fetch_ids))

    monkeypatch.setattr(services, "_enqueue_fetches", enqueue)
    return sent


@pytest.fixture
def buyer(db):
    organisation, _ = services.organisation_get_or_create(siret="13002526500013", name="DINUM")
    return organisation


@pytest.fixture
def consultation(buyer):
    return services.consultation_get_or_create(organisation=buyer, reference="MARCHE-2026-01", market_type="travaux")


@pytest.fixture
def published(consultation):
    """The buyer's consultation, published, its deadline in ten days."""
    consultation.published_at = timezone.now()
    consultation.deadline = timezone.now() + timedelta(days=10)
    consultation.save()
    return consultation


@pytest.fixture
def candidature(consultation, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        candidature, _ = services.candidature_start(consultation=consultation, siret="55204944776279")
    return candidature


@pytest.fixture
def api(settings):
    """`responses` on the official payloads, with API Entreprise at its real address."""
    import responses

    settings.API_ENTREPRISE_BASE_URL = "https://entreprise.api.gouv.fr"
    settings.API_ENTREPRISE_TOKEN = "test-token"
    settings.BODACC_BASE_URL = "https://bodacc-datadila.opendatasoft.com/api/explore/v2.1"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def upstream(settings, sandbox):
    """The sandbox (session-wide, tests/conftest.py) answers for API Entreprise and BODACC over real HTTP."""
    settings.API_ENTREPRISE_BASE_URL = sandbox.base_url
    settings.BODACC_BASE_URL = f"{sandbox.base_url}/bodacc/api/explore/v2.1"
    settings.API_ENTREPRISE_TOKEN = "sandbox-token"
    return sandbox


@pytest.fixture
def buyer_user(buyer):
    user = make_user("acheteur")
    OrganisationMember.objects.create(user=user, organisation=buyer)
    return user


@pytest.fixture
def buyer_client(client, buyer_user):
    client.force_login(buyer_user)
    return client


@pytest.fixture
def other_org(db):
    organisation, _ = services.organisation_get_or_create(siret="21750001600019", name="Ville de Paris")
    return organisation


@pytest.fixture
def start(enqueued, django_capture_on_commit_callbacks):
    """Start candidatures as the services do, their fan-out recorded by `enqueued`."""

    def start(consultation, siret):
        with django_capture_on_commit_callbacks(execute=True):
            candidature, _ = services.candidature_start(consultation=consultation, siret=siret)
        return candidature

    return start
