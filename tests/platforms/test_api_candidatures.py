"""The candidatures of the API: create one for a SIRET (idempotent), list them with their flags, read one, read
its dossier (the `assemble_dossier` JSON, the protected identity masked), ask for a refresh of a source."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from candidatures import selectors, services
from candidatures.models import Candidature, CompanyIdentity, Consultation, DossierAccess, ExclusionFlag, SourceFetch
from connectors.identifiers import InvalidIdentifier, validate_siret
from tests.builders import add_document, add_flag, finish_fetches, make_user, submit, valid_sirets
from tests.platforms.helpers import actor

pytestmark = pytest.mark.django_db

SIRET = "55204944776279"
OTHER_SIRET = "73282932000074"


def candidatures_url(consultation) -> str:
    return f"/api/v1/consultations/{consultation.pk}/candidatures/"


# --- Create ------------------------------------------------------------------------------------------------


def test_creating_starts_the_candidature_for_the_platform(
    api_http, published, platform, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_http.post(candidatures_url(published), {"siret": "552 049 447 76279"})

    assert response.status_code == 201
    candidature = Candidature.objects.get(consultation=published, siret=SIRET)
    assert candidature.owner is None
    assert candidature.requested_by == actor(platform)
    assert sorted(enqueued) == sorted(candidature.fetches.values_list("pk", flat=True))
    answer = response.json()
    assert answer["id"] == candidature.pk
    assert answer["siret"] == SIRET and answer["siren"] == SIRET[:9]
    assert answer["state"] == "recuperation" and answer["status"] == "in_progress"


def test_the_company_link_opens_the_consultation_with_the_siret_typed(api_http, published, enqueued, settings):
    answer = api_http.post(candidatures_url(published), {"siret": SIRET}).json()

    assert answer["company_link"] == f"{settings.SITE_URL.rstrip('/')}/c/{published.reference}/?siret={SIRET}"
    path = answer["company_link"].removeprefix(settings.SITE_URL.rstrip("/"))
    company = Client()
    company.force_login(make_user("entreprise"))
    page = company.get(path).content.decode()
    assert f'value="{SIRET}"' in page


def test_creating_twice_returns_the_same_candidature(api_http, published, enqueued, django_capture_on_commit_callbacks):
    first = api_http.post(candidatures_url(published), {"siret": SIRET})
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        second = api_http.post(candidatures_url(published), {"siret": SIRET})

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Candidature.objects.filter(consultation=published).count() == 1
    assert enqueued == []


@pytest.mark.parametrize("siret", ["", "5520494477627", "55204944776278", "552O4944776279"])
def test_an_invalid_siret_is_refused_with_the_message_of_the_form(api_http, published, siret):
    response = api_http.post(candidatures_url(published), {"siret": siret})

    with pytest.raises(InvalidIdentifier) as refusal:
        validate_siret(siret)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["fields"] == {"siret": [refusal.value.message]}
    assert not Candidature.objects.exists()


def test_a_consultation_not_published_takes_no_candidature(api_http, consultation):
    response = api_http.post(candidatures_url(consultation), {"siret": SIRET})

    assert response.status_code == 409
    assert response.json()["code"] == "consultation_not_published"
    assert not Candidature.objects.exists()


def test_past_the_deadline_no_candidature_is_created_but_an_existing_one_is_returned(api_http, published, start):
    existing = start(published, OTHER_SIRET)
    Consultation.objects.filter(pk=published.pk).update(deadline=timezone.now() - timedelta(minutes=1))

    refused = api_http.post(candidatures_url(published), {"siret": SIRET})
    again = api_http.post(candidatures_url(published), {"siret": OTHER_SIRET})

    assert refused.status_code == 409
    assert refused.json()["code"] == "deadline_passed"
    assert not Candidature.objects.filter(siret=SIRET).exists()
    assert again.status_code == 200 and again.json()["id"] == existing.pk


# --- List --------------------------------------------------------------------------------------------------


def test_the_list_shows_each_candidature_with_its_flags_and_documents(api_http, published, start, settings):
    first = start(published, SIRET)
    second = start(published, OTHER_SIRET)
    add_flag(first)
    add_flag(first, code="procedure_collective_ancienne", severity=ExclusionFlag.Severity.WARNING)
    document = add_document(first, source="urssaf_attestation_vigilance", kind="attestation_vigilance")

    answer = api_http.get(candidatures_url(published)).json()

    assert [item["id"] for item in answer["results"]] == [first.pk, second.pk]
    item = answer["results"][0]
    assert item["consultation"] == {"id": published.pk, "reference": published.reference}
    assert item["exclusion_flags"] == [
        {"code": "liquidation_judiciaire", "severity": "exclusion", "ground": "L2141-3 1°", "source": "bodacc"},
        {"code": "procedure_collective_ancienne", "severity": "warning", "ground": "", "source": "bodacc"},
    ]
    assert item["documents"] == [
        {
            "id": document.pk,
            "source": "urssaf_attestation_vigilance",
            "kind": "attestation_vigilance",
            "sha256": document.sha256,
            "size": document.size,
            "content_type": "application/pdf",
            "valid_until": None,
            "url": f"http://testserver/api/v1/candidatures/{first.pk}/documents/{document.pk}/",
        }
    ]
    assert item["links"] == {
        "self": f"http://testserver/api/v1/candidatures/{first.pk}/",
        "dossier": f"http://testserver/api/v1/candidatures/{first.pk}/dossier/",
        "receipt": None,
        "zip": f"http://testserver/api/v1/candidatures/{first.pk}/zip/",
    }
    assert item["raison_sociale"] is None  # not fetched yet


@pytest.fixture
def three_states(published, start):
    fetching = start(published, SIRET)
    to_complete = start(published, OTHER_SIRET)
    finish_fetches(to_complete)
    submitted = start(published, valid_sirets(1)[0])
    submit(submitted)
    return {"recuperation": fetching, "a_completer": to_complete, "deposee": submitted}


@pytest.mark.parametrize("state", ["recuperation", "a_completer", "deposee"])
def test_the_list_filters_by_state(api_http, published, three_states, state):
    answer = api_http.get(candidatures_url(published), {"state": state}).json()

    assert [item["id"] for item in answer["results"]] == [three_states[state].pk]
    assert answer["results"][0]["state"] == state


@pytest.mark.parametrize(
    ("flag", "expected"), [("exclusion", ["excluded"]), ("warning", ["warned"]), ("none", ["clean"])]
)
def test_the_list_filters_by_flag(api_http, published, start, flag, expected):
    sirets = valid_sirets(3)
    rows = {name: start(published, siret) for name, siret in zip(("excluded", "warned", "clean"), sirets, strict=True)}
    add_flag(rows["excluded"])
    add_flag(rows["warned"], code="procedure_collective_ancienne", severity=ExclusionFlag.Severity.WARNING)

    answer = api_http.get(candidatures_url(published), {"flag": flag}).json()

    assert [item["id"] for item in answer["results"]] == [rows[name].pk for name in expected]


@pytest.mark.parametrize("field", ["state", "flag"])
def test_an_unknown_filter_value_is_a_validation_error(api_http, published, field):
    response = api_http.get(candidatures_url(published), {field: "autre"})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]


def test_the_list_is_paginated(api_http, published, start):
    made = [start(published, siret) for siret in valid_sirets(3)]

    first = api_http.get(candidatures_url(published), {"page_size": 2}).json()
    second = api_http.get(first["next"]).json()

    assert first["count"] == 3
    assert [item["id"] for item in first["results"] + second["results"]] == [c.pk for c in made]
    assert second["previous"] is not None and second["next"] is None


@pytest.mark.parametrize("count", [1, 30])
def test_a_page_costs_the_same_queries_whatever_its_length(
    api_http, published, start, make_non_diffusible, django_assert_max_num_queries, count
):
    for siret in valid_sirets(count):
        candidature = start(published, siret)
        make_non_diffusible(candidature)
        add_flag(candidature)
        add_document(candidature, source="urssaf_attestation_vigilance", kind="attestation_vigilance")

    with django_assert_max_num_queries(8):
        answer = api_http.get(candidatures_url(published)).json()

    assert len(answer["results"]) == count


# --- Read --------------------------------------------------------------------------------------------------


def test_a_candidature_is_read_by_its_id(api_http, published, start):
    candidature = start(published, SIRET)
    CompanyIdentity.objects.create(candidature=candidature, raison_sociale="ENTREPRISE OUVERTE")
    finish_fetches(candidature)

    answer = api_http.get(f"/api/v1/candidatures/{candidature.pk}/").json()

    assert answer["raison_sociale"] == "ENTREPRISE OUVERTE"
    assert answer["state"] == "a_completer" and answer["status"] == "complete"
    assert answer["submitted_at"] is None and answer["links"]["receipt"] is None


def test_a_submitted_candidature_links_its_receipt(api_http, published, start):
    candidature = submit(start(published, SIRET))

    answer = api_http.get(f"/api/v1/candidatures/{candidature.pk}/").json()

    assert answer["state"] == "deposee" and answer["submitted_at"] is not None
    assert answer["links"]["receipt"] == f"http://testserver/api/v1/candidatures/{candidature.pk}/receipt/"


def test_a_non_diffusible_name_is_hidden_from_an_organisation_without_the_habilitation(
    api_http, buyer, published, start, make_non_diffusible
):
    candidature = start(published, SIRET)
    make_non_diffusible(candidature)

    hidden_detail = api_http.get(f"/api/v1/candidatures/{candidature.pk}/").json()
    hidden_list = api_http.get(candidatures_url(published)).json()["results"][0]
    buyer.habilitations.update(protected_data=True)
    shown = api_http.get(f"/api/v1/candidatures/{candidature.pk}/").json()

    assert hidden_detail["raison_sociale"] is None and hidden_list["raison_sociale"] is None
    assert "DISCRÈTE" not in json.dumps(hidden_detail, ensure_ascii=False)
    assert shown["raison_sociale"] == "SOCIÉTÉ DISCRÈTE"


# --- Dossier -----------------------------------------------------------------------------------------------


def test_the_dossier_is_the_json_of_assemble_dossier_and_its_reading_is_audited(api_http, platform, candidature):
    CompanyIdentity.objects.create(
        candidature=candidature, raison_sociale="ENTREPRISE OUVERTE", ess=None, dirigeants=[]
    )
    candidature.turnovers.create(montant=1_250_000, date_fin_exercice="2024-12-31")
    add_flag(candidature)
    add_document(candidature, source="urssaf_attestation_vigilance", kind="attestation_vigilance")

    response = api_http.get(f"/api/v1/candidatures/{candidature.pk}/dossier/", REMOTE_ADDR="192.0.2.7")

    expected = selectors.dossier_as_dict(candidature=selectors.candidature_for_dossier(pk=candidature.pk))
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(expected))
    assert response.json()["schema"] == "passemarche.dossier/1"
    access = DossierAccess.objects.get()
    assert access.action == DossierAccess.Action.VIEW
    assert access.user is None and access.user_email == actor(platform)
    assert access.ip_address == "192.0.2.7"
    assert (access.organisation, access.candidature, access.siret) == (
        candidature.consultation.organisation,
        candidature,
        candidature.siret,
    )


def test_the_dossier_masks_a_non_diffusible_identity(api_http, buyer, candidature, make_non_diffusible):
    make_non_diffusible(candidature)

    masked = api_http.get(f"/api/v1/candidatures/{candidature.pk}/dossier/").json()["company"]
    buyer.habilitations.update(protected_data=True)
    shown = api_http.get(f"/api/v1/candidatures/{candidature.pk}/dossier/").json()["company"]

    assert masked["identite_protegee"] is True
    assert (masked["raison_sociale"], masked["adresse"], masked["dirigeants"]) == (None, None, [])
    assert masked["diffusible"] is False
    assert shown["raison_sociale"] == "SOCIÉTÉ DISCRÈTE" and "identite_protegee" not in shown


# --- Refresh -----------------------------------------------------------------------------------------------


def test_a_refresh_puts_the_source_back_to_pending_for_the_platform(
    api_http, platform, candidature, enqueued, django_capture_on_commit_callbacks
):
    finish_fetches(candidature)
    fetch = candidature.fetches.get(source="urssaf_attestation_vigilance")
    enqueued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = api_http.post(
            f"/api/v1/candidatures/{candidature.pk}/refresh/", {"source": "urssaf_attestation_vigilance"}
        )

    assert response.status_code == 202
    assert response.json() == {"source": "urssaf_attestation_vigilance", "status": "pending"}
    fetch.refresh_from_db()
    assert fetch.status == SourceFetch.Status.PENDING
    assert list(enqueued) == [fetch.pk]
    assert enqueued.requested_by == [actor(platform)]
    access = DossierAccess.objects.get()
    assert (access.action, access.detail, access.user_email) == (
        "refresh",
        "urssaf_attestation_vigilance",
        actor(platform),
    )


def test_a_source_the_candidature_does_not_have_is_a_validation_error(api_http, candidature):
    response = api_http.post(f"/api/v1/candidatures/{candidature.pk}/refresh/", {"source": "opqibi"})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["source"]
    assert not DossierAccess.objects.exists()


def test_a_refresh_of_a_source_the_organisation_is_not_habilitated_for_is_refused(api_http, buyer, candidature):
    buyer.habilitations.update(sources=["insee_etablissement"])

    response = api_http.post(
        f"/api/v1/candidatures/{candidature.pk}/refresh/", {"source": "urssaf_attestation_vigilance"}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "refresh_refused"
    assert "habilitée" in response.json()["message"]
    assert not DossierAccess.objects.exists()


def test_the_candidature_of_another_organisation_is_not_started_by_name(api_http, other_org, enqueued):
    theirs = services.consultation_get_or_create(organisation=other_org, reference="PARIS-2026-07")
    Consultation.objects.filter(pk=theirs.pk).update(published_at=timezone.now())

    response = api_http.post(candidatures_url(theirs), {"siret": SIRET})

    assert response.status_code == 404
    assert not Candidature.objects.exists()
