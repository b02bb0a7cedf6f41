"""The domain's facts, made true by the real domain services, become deliveries for the right endpoints only, in the
domain's transaction (rolled back with it), enqueued on commit."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction

from candidatures import consultations, dossiers, services
from candidatures.models import Candidature, ExclusionFlag
from connectors import errors
from platforms import webhooks
from platforms.models import WebhookDelivery, WebhookEvent
from tests.builders import finish_fetches, make_user
from tests.candidatures.test_exclusions import LJ, record, results_of

pytestmark = pytest.mark.django_db

ALL_EVENTS = list(WebhookEvent.values)
SECRET = "s" * 40


class Boom(Exception):
    pass


@pytest.fixture
def endpoints(platform, make_api_client, buyer, other_org):
    """Subscriptions around the buyer's organisation: only `everything` and `published_only` may receive its facts."""

    def subscribe(client, name: str, events=ALL_EVENTS):
        endpoint, _ = webhooks.webhook_endpoint_create(
            api_client=client, url=f"https://{name}.example/hook", events=events, secret=SECRET
        )
        return endpoint

    other_platform = make_api_client(organisations=[other_org], name="Autre plateforme").client
    revoked = make_api_client(organisations=[buyer], name="Plateforme révoquée").client
    both = make_api_client(organisations=[other_org, buyer], name="Plateforme des deux").client
    made = {
        "everything": subscribe(platform.client, "everything"),
        "published_only": subscribe(platform.client, "published", [WebhookEvent.CONSULTATION_PUBLISHED]),
        "other_organisation": subscribe(other_platform, "other"),
        "inactive": subscribe(platform.client, "inactive"),
        "revoked_client": subscribe(revoked, "revoked"),
        "deleted": subscribe(platform.client, "deleted"),
        "two_organisations": subscribe(both, "both", [WebhookEvent.CANDIDATURE_SUBMITTED]),
    }
    made["inactive"].is_active = False
    made["inactive"].save()
    revoked.is_active = False
    revoked.save()
    webhooks.webhook_endpoint_delete(endpoint=made["deleted"])
    return made


def receivers_of(endpoints: dict, event: str) -> set[str]:
    names = {endpoint.pk: name for name, endpoint in endpoints.items()}
    return {names[pk] for pk in WebhookDelivery.objects.filter(event=event).values_list("endpoint_id", flat=True)}


def test_publishing_a_consultation_notifies_its_organisation_subscribers(
    endpoints, consultation, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        consultations.consultation_publish(consultation=consultation)

    assert receivers_of(endpoints, "consultation.published") == {"everything", "published_only"}
    deliveries = WebhookDelivery.objects.filter(event="consultation.published")
    assert sorted(queued) == sorted((delivery.pk, None) for delivery in deliveries)
    # One event, the same id and body for each subscriber.
    assert len({delivery.event_id for delivery in deliveries}) == 1
    payload = deliveries[0].payload
    assert payload["id"] == str(deliveries[0].event_id)
    assert payload["type"] == "consultation.published"
    assert payload["data"]["consultation"]["reference"] == "MARCHE-2026-01"
    assert {delivery.status for delivery in deliveries} == {WebhookDelivery.Status.PENDING}


def test_publishing_twice_notifies_once(endpoints, consultation, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        consultations.consultation_publish(consultation=consultation)
        consultations.consultation_publish(consultation=consultation)

    assert WebhookDelivery.objects.count() == 2


def test_the_deliveries_roll_back_with_the_domain_transaction(
    endpoints, consultation, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Boom), transaction.atomic():
        consultations.consultation_publish(consultation=consultation)
        assert WebhookDelivery.objects.count() == 2
        raise Boom

    assert WebhookDelivery.objects.count() == 0
    assert callbacks == []
    assert queued == []


def test_a_completed_dossier_notifies_with_the_candidature_and_its_api_link(
    endpoints, candidature, queued, django_capture_on_commit_callbacks
):
    fetches = list(candidature.fetches.all())
    with django_capture_on_commit_callbacks(execute=True):
        for fetch in fetches[:-1]:
            services.fetch_store_failure(fetch=fetch, error=errors.NotFound("absent"))
        assert not WebhookDelivery.objects.exists()  # not complete yet
        services.fetch_store_failure(fetch=fetches[-1], error=errors.NotFound("absent"))

    assert receivers_of(endpoints, "candidature.dossier_complete") == {"everything"}
    delivery = WebhookDelivery.objects.get()
    assert delivery.payload["data"] == {
        "candidature": {
            "id": candidature.pk,
            "siret": "55204944776279",
            "consultation_id": candidature.consultation_id,
            "consultation_reference": "MARCHE-2026-01",
            "state": "a_completer",
            "url": f"http://127.0.0.1:8000/api/v1/candidatures/{candidature.pk}/",
        }
    }
    assert queued == [(delivery.pk, None)]


def test_a_dossier_completed_by_a_result_notifies(endpoints, candidature, queued, django_capture_on_commit_callbacks):
    fetches = list(candidature.fetches.exclude(source="bodacc"))
    with django_capture_on_commit_callbacks(execute=True):
        for fetch in fetches:
            services.fetch_store_failure(fetch=fetch, error=errors.NotFound("absent"))
        services.fetch_store_result(fetch=candidature.fetches.get(source="bodacc"), result=results_of([])["bodacc"])

    assert receivers_of(endpoints, "candidature.dossier_complete") == {"everything"}
    assert not WebhookDelivery.objects.filter(event="candidature.flag_raised").exists()


def test_a_new_flag_notifies_with_the_flag_but_not_the_company(
    endpoints, candidature, queued, django_capture_on_commit_callbacks
):
    bodacc_fetch = candidature.fetches.get(source="bodacc")
    liquidation = results_of([record(1, LJ, date(2024, 1, 15))])["bodacc"]

    with django_capture_on_commit_callbacks(execute=True):
        services.fetch_store_result(fetch=bodacc_fetch, result=liquidation)

    assert receivers_of(endpoints, "candidature.flag_raised") == {"everything"}
    delivery = WebhookDelivery.objects.get(event="candidature.flag_raised")
    flag = ExclusionFlag.objects.get(candidature=candidature)
    data = delivery.payload["data"]
    assert data["flag"] == {"code": flag.code, "severity": "exclusion", "ground": flag.ground, "source": "bodacc"}
    assert data["candidature"]["id"] == candidature.pk
    # The body never names the company (the BODACC notice does: its evidence stays in the dossier).
    assert "EXEMPLE" not in str(delivery.payload)
    assert queued == [(delivery.pk, None)]


def test_a_flag_raised_again_by_a_refresh_is_not_notified_again(
    endpoints, candidature, queued, django_capture_on_commit_callbacks
):
    bodacc_fetch = candidature.fetches.get(source="bodacc")
    liquidation = results_of([record(1, LJ, date(2024, 1, 15))])["bodacc"]
    with django_capture_on_commit_callbacks(execute=True):
        services.fetch_store_result(fetch=bodacc_fetch, result=liquidation)
        services.fetch_store_result(fetch=bodacc_fetch, result=liquidation)

    assert WebhookDelivery.objects.filter(event="candidature.flag_raised").count() == 1


def test_a_submission_notifies_its_subscribers(endpoints, candidature, queued, django_capture_on_commit_callbacks):
    finish_fetches(candidature)
    candidature = Candidature.objects.get(pk=candidature.pk)
    dossiers.candidature_declare(candidature=candidature, values={"contact_email": "marie@example.test"})
    dossiers.declaration_sign(candidature=candidature, signatory="Marie Curie")

    with django_capture_on_commit_callbacks(execute=True):
        dossiers.candidature_submit(candidature=candidature, user=make_user("marie"))

    assert receivers_of(endpoints, "candidature.submitted") == {"everything", "two_organisations"}
    delivery = WebhookDelivery.objects.filter(event="candidature.submitted").first()
    assert delivery.payload["data"]["candidature"]["state"] == "deposee"
    assert sorted(queued) == sorted(
        (pk, None) for pk in WebhookDelivery.objects.filter(event="candidature.submitted").values_list("pk", flat=True)
    )


def test_a_refused_submission_notifies_nothing(endpoints, candidature, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(dossiers.DossierError):
        dossiers.candidature_submit(candidature=candidature, user=make_user("marie"))

    assert not WebhookDelivery.objects.exists()
    assert queued == []


def test_a_broker_down_at_commit_does_not_fail_the_fact(
    endpoints, consultation, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(delivery_id, countdown=None):
        raise ConnectionError("broker down")

    monkeypatch.setattr(webhooks, "_enqueue", broker_down)

    with django_capture_on_commit_callbacks(execute=True):
        consultations.consultation_publish(consultation=consultation)

    consultation.refresh_from_db()
    assert consultation.is_published
    # Still pending: the sweep sends them.
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {WebhookDelivery.Status.PENDING}
