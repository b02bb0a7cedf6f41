"""The consultations of the API: list, create (and publish), read, publish; only the client's organisations'."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from candidatures import pieces, services
from candidatures.models import Consultation

pytestmark = pytest.mark.django_db

URL = "/api/v1/consultations/"


def body(**extra) -> dict:
    return {"reference": "API-2026-01", "title": "Réfection des toitures", "market_type": "travaux"} | extra


def make_consultations(organisation, count: int, prefix: str = "REF") -> list[Consultation]:
    return [
        services.consultation_get_or_create(organisation=organisation, reference=f"{prefix}-{index}")
        for index in range(count)
    ]


# --- List ----------------------------------------------------------------------------------------------------


def test_the_list_holds_the_clients_organisations_consultations_newest_first(api_http, buyer, other_org):
    older, newer = make_consultations(buyer, 2)
    make_consultations(other_org, 1, prefix="PARIS")

    response = api_http.get(URL)

    assert response.status_code == 200
    answer = response.json()
    assert answer["count"] == 2
    assert [item["id"] for item in answer["results"]] == [newer.pk, older.pk]


def test_a_consultation_reads_as_the_contract_says(api_http, consultation, settings):
    consultation.lots.create(number=1, title="Charpente")
    consultation.lots.create(number=2, title="Couverture")

    item = api_http.get(URL).json()["results"][0]

    assert item == {
        "id": consultation.pk,
        "organisation": {"siret": "13002526500013", "name": "DINUM"},
        "reference": "MARCHE-2026-01",
        "title": "MARCHE-2026-01",
        "market_type": "travaux",
        "deadline": None,
        "lots": [{"number": 1, "title": "Charpente"}, {"number": 2, "title": "Couverture"}],
        "required_pieces": consultation.required_pieces,
        "published_at": None,
        "candidate_link": None,
        "created_at": item["created_at"],
        "links": {
            "self": f"http://testserver/api/v1/consultations/{consultation.pk}/",
            "candidatures": f"http://testserver/api/v1/consultations/{consultation.pk}/candidatures/",
        },
    }


def test_the_list_filters_by_organisation(scoped_http, buyer, other_org):
    http = scoped_http(["consultations:read"], organisations=[buyer, other_org])
    ours = make_consultations(buyer, 1)[0]
    theirs = make_consultations(other_org, 1, prefix="PARIS")[0]

    both = {item["id"] for item in http.get(URL).json()["results"]}
    filtered = [item["id"] for item in http.get(URL, {"organisation": other_org.siret}).json()["results"]]

    assert both == {ours.pk, theirs.pk}
    assert filtered == [theirs.pk]


def test_the_list_is_paginated(api_http, buyer):
    made = make_consultations(buyer, 3)

    first = api_http.get(URL, {"page_size": 2}).json()
    second = api_http.get(first["next"]).json()

    assert first["count"] == 3 and first["previous"] is None
    assert [item["id"] for item in first["results"]] == [made[2].pk, made[1].pk]
    assert "page=2" in first["next"] and "page_size=2" in first["next"]
    assert [item["id"] for item in second["results"]] == [made[0].pk]
    assert second["next"] is None and "page_size=2" in second["previous"]


def test_a_page_past_the_end_is_a_json_404(api_http, consultation):
    response = api_http.get(URL, {"page": 5})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- Create ------------------------------------------------------------------------------------------------


def test_creating_publishes_and_returns_the_candidate_link(api_http, buyer, settings):
    deadline = (timezone.now() + timedelta(days=20)).replace(microsecond=0)

    response = api_http.post(URL, body(deadline=deadline.isoformat(), lots=["Charpente", "Couverture"]))

    assert response.status_code == 201
    consultation = Consultation.objects.get(reference="API-2026-01")
    assert consultation.organisation == buyer and consultation.is_published
    assert consultation.created_by is None
    assert consultation.deadline == deadline
    assert consultation.required_pieces == pieces.default_pieces(market_type="travaux")
    answer = response.json()
    assert answer["id"] == consultation.pk
    assert answer["candidate_link"] == settings.SITE_URL.rstrip("/") + "/c/API-2026-01/"
    assert answer["lots"] == [{"number": 1, "title": "Charpente"}, {"number": 2, "title": "Couverture"}]


def test_creating_with_publish_false_leaves_a_draft(api_http):
    response = api_http.post(URL, body(publish=False))

    assert response.status_code == 201
    assert response.json()["published_at"] is None and response.json()["candidate_link"] is None
    assert not Consultation.objects.get(reference="API-2026-01").is_published


def test_creating_with_the_pieces_asked(api_http):
    key = pieces.optional_piece_choices()[0][0]

    response = api_http.post(URL, body(required_pieces=[key]))

    assert response.json()["required_pieces"] == [key]


def test_the_organisation_is_required_when_the_client_acts_for_several(api_http, platform, other_org):
    platform.client.organisations.add(other_org)

    missing = api_http.post(URL, body())
    named = api_http.post(URL, body(organisation=other_org.siret))

    assert missing.status_code == 400
    assert missing.json()["code"] == "validation_error"
    assert list(missing.json()["fields"]) == ["organisation"]
    assert named.status_code == 201
    assert named.json()["organisation"]["siret"] == other_org.siret


def test_an_organisation_the_client_does_not_act_for_is_a_validation_error(api_http, other_org):
    response = api_http.post(URL, body(organisation=other_org.siret))

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["organisation"]
    assert not Consultation.objects.filter(organisation=other_org).exists()


def test_a_client_acting_for_no_organisation_cannot_create(scoped_http):
    http = scoped_http(["consultations:write"], organisations=[])

    response = http.post(URL, body())

    assert response.status_code == 400
    assert "aucune organisation" in response.json()["fields"]["organisation"][0]


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ({"reference": "marché 2026"}, "reference", "lettres sans accent"),
        ({"title": "  "}, "title", "Indiquez l'intitulé"),
        ({"required_pieces": ["inconnue"]}, "required_pieces", "Pièce inconnue"),
        ({"deadline": "2020-01-01T10:00:00+01:00"}, "deadline", "dans le futur"),
    ],
)
def test_a_refusal_of_the_service_names_its_field(api_http, extra, field, words):
    response = api_http.post(URL, body(**extra))

    assert response.status_code == 400
    answer = response.json()
    assert answer["code"] == "validation_error"
    assert list(answer["fields"]) == [field]
    assert words in answer["fields"][field][0]
    assert not Consultation.objects.exists()


def test_a_reference_already_used_by_the_organisation_is_refused(api_http, consultation):
    response = api_http.post(URL, body(reference=consultation.reference))

    assert response.status_code == 400
    assert "déjà une consultation" in response.json()["fields"]["reference"][0]


def test_a_deadline_without_its_offset_is_refused(api_http):
    response = api_http.post(URL, body(deadline="2030-01-01T10:00:00"))

    assert response.status_code == 400
    assert response.json()["fields"]["deadline"] == ["La date limite doit indiquer son fuseau horaire."]


def test_an_unknown_market_type_and_missing_fields_are_named(api_http):
    response = api_http.post(URL, {"market_type": "immobilier"})

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"market_type", "reference", "title"}


# --- Read and publish --------------------------------------------------------------------------------------


def test_a_consultation_is_read_by_its_id(api_http, consultation):
    response = api_http.get(f"{URL}{consultation.pk}/")

    assert response.status_code == 200
    assert response.json()["reference"] == consultation.reference


def test_an_unknown_id_is_a_404(api_http, consultation):
    response = api_http.get(f"{URL}{consultation.pk + 1000}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_publishing_opens_the_candidate_link_and_twice_changes_nothing(api_http, consultation, settings):
    first = api_http.post(f"{URL}{consultation.pk}/publish/")
    second = api_http.post(f"{URL}{consultation.pk}/publish/")

    assert first.status_code == 200 and second.status_code == 200
    assert first.json()["candidate_link"] == settings.SITE_URL.rstrip("/") + "/c/MARCHE-2026-01/"
    assert first.json()["published_at"] == second.json()["published_at"] is not None


def test_publishing_past_the_deadline_is_refused(api_http, consultation):
    Consultation.objects.filter(pk=consultation.pk).update(deadline=timezone.now() - timedelta(hours=1))

    response = api_http.post(f"{URL}{consultation.pk}/publish/")

    assert response.status_code == 409
    answer = response.json()
    assert answer["code"] == "publish_refused"
    assert list(answer["fields"]) == ["deadline"]
    assert not Consultation.objects.get(pk=consultation.pk).is_published


def test_publishing_a_reference_another_organisation_published_is_refused(api_http, consultation, other_org):
    theirs = services.consultation_get_or_create(organisation=other_org, reference=consultation.reference)
    Consultation.objects.filter(pk=theirs.pk).update(published_at=timezone.now())

    response = api_http.post(f"{URL}{consultation.pk}/publish/")

    assert response.status_code == 409
    assert list(response.json()["fields"]) == ["reference"]
