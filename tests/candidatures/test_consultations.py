"""The buyer's writes on consultations, tested without HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from candidatures import consultations, pieces, services
from candidatures.consultations import ConsultationError
from candidatures.models import Consultation

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(username="acheteur", email="acheteur@example.gouv.fr")


@pytest.fixture
def other_buyer(db):
    organisation, _ = services.organisation_get_or_create(siret="21750001600019", name="Ville de Paris")
    return organisation


def in_days(days: int):
    return timezone.now() + timedelta(days=days)


def create(organisation, user, **overrides) -> Consultation:
    values = {
        "reference": "MARCHE-2026-01",
        "title": "Réfection de la toiture du gymnase",
        "market_type": "travaux",
        "deadline": in_days(30),
        "lots": [],
    }
    values.update(overrides)
    return consultations.consultation_create(organisation=organisation, user=user, **values)


@pytest.mark.parametrize("market_type", ["travaux", "services", "fournitures"])
def test_create_without_pieces_asks_the_defaults_of_the_market_type(buyer, user, market_type):
    consultation = create(buyer, user, market_type=market_type)

    assert consultation.required_pieces == pieces.default_pieces(market_type=market_type)
    assert consultation.created_by == user
    assert not consultation.is_published


def test_travaux_defaults_add_the_construction_trade_certificates(buyer, user):
    travaux = create(buyer, user, market_type="travaux")
    services_ = create(buyer, user, reference="MARCHE-2026-02", market_type="services")

    construction = {"attestation_conges_payes", "attestation_probtp", "carte_pro_tp", "qualification_qualibat"}
    assert construction <= set(travaux.required_pieces)
    assert not construction & set(services_.required_pieces)
    assert "capacite_economique" in services_.required_pieces


def test_create_keeps_the_pieces_chosen_in_catalogue_order(buyer, user):
    consultation = create(buyer, user, required_pieces=["certification_rge", "capacite_economique"])

    assert consultation.required_pieces == ["capacite_economique", "certification_rge"]


def test_create_numbers_the_lots_in_order_and_drops_blank_lines(buyer, user):
    consultation = create(buyer, user, lots=["  Couverture ", "", "Charpente   bois", "   "])

    assert [(lot.number, lot.title) for lot in consultation.lots.all()] == [(1, "Couverture"), (2, "Charpente bois")]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reference": ""}, "reference"),
        ({"reference": "MARCHÉ 2026/01"}, "reference"),
        ({"reference": "X" * 51}, "reference"),
        ({"title": "   "}, "title"),
        ({"market_type": "concession"}, "market_type"),
        ({"deadline": in_days(-1)}, "deadline"),
        ({"required_pieces": ["identite"]}, "required_pieces"),
        ({"lots": ["L" * 256]}, "lots"),
    ],
)
def test_create_refuses_invalid_values_naming_the_field(buyer, user, overrides, field):
    with pytest.raises(ConsultationError) as refused:
        create(buyer, user, **overrides)

    assert refused.value.field == field
    assert refused.value.message
    assert not Consultation.objects.exists()


def test_create_refuses_a_reference_the_organisation_already_uses(buyer, user):
    create(buyer, user)

    with pytest.raises(ConsultationError) as refused:
        create(buyer, user, title="Autre")

    assert refused.value.field == "reference"
    assert Consultation.objects.count() == 1


def test_publish_sets_published_at_once(buyer, user):
    consultation = create(buyer, user)

    consultations.consultation_publish(consultation=consultation)
    first = Consultation.objects.get(pk=consultation.pk).published_at
    consultations.consultation_publish(consultation=consultation)

    assert first is not None
    assert consultation.published_at == first
    assert Consultation.objects.get(pk=consultation.pk).published_at == first


def test_publish_refuses_a_reference_already_published_by_another_organisation(buyer, other_buyer, user):
    mine = create(buyer, user)
    theirs = create(other_buyer, user)
    consultations.consultation_publish(consultation=theirs)

    with pytest.raises(ConsultationError) as refused:
        consultations.consultation_publish(consultation=mine)

    assert refused.value.field == "reference"
    assert "MARCHE-2026-01" in refused.value.message
    mine.refresh_from_db()
    assert not mine.is_published


def test_create_refuses_a_reference_already_published_elsewhere(buyer, other_buyer, user):
    consultations.consultation_publish(consultation=create(other_buyer, user))

    with pytest.raises(ConsultationError) as refused:
        create(buyer, user)

    assert refused.value.field == "reference"


def test_publish_refuses_a_consultation_past_its_deadline(buyer, user):
    consultation = create(buyer, user)
    Consultation.objects.filter(pk=consultation.pk).update(deadline=in_days(-1))
    consultation.refresh_from_db()

    with pytest.raises(ConsultationError) as refused:
        consultations.consultation_publish(consultation=consultation)

    assert refused.value.field == "deadline"


def update(consultation, **overrides) -> Consultation:
    values = {
        "reference": consultation.reference,
        "title": consultation.title,
        "market_type": consultation.market_type,
        "deadline": consultation.deadline,
        "lots": [lot.title for lot in consultation.lots.all()],
        "required_pieces": consultation.required_pieces,
    }
    values.update(overrides)
    return consultations.consultation_update(consultation=consultation, **values)


def test_update_a_draft_changes_everything(buyer, user):
    consultation = create(buyer, user, lots=["A", "B"])
    deadline = in_days(60)

    update(
        consultation,
        reference="MARCHE-2026-09",
        title="Nouveau titre",
        market_type="services",
        deadline=deadline,
        lots=["A bis"],
        required_pieces=["certification_qualiopi"],
    )

    consultation = Consultation.objects.get(pk=consultation.pk)
    assert (consultation.reference, consultation.title, consultation.market_type) == (
        "MARCHE-2026-09",
        "Nouveau titre",
        "services",
    )
    assert consultation.deadline == deadline
    assert consultation.required_pieces == ["certification_qualiopi"]
    assert [(lot.number, lot.title) for lot in consultation.lots.all()] == [(1, "A bis")]


def test_a_published_consultation_keeps_its_reference_but_stays_editable(buyer, user):
    consultation = create(buyer, user, lots=["A"])
    consultations.consultation_publish(consultation=consultation)

    with pytest.raises(ConsultationError) as refused:
        update(consultation, reference="AUTRE-REF")
    assert refused.value.field == "reference"
    consultation.refresh_from_db()
    assert consultation.reference == "MARCHE-2026-01"

    update(consultation, title="Titre corrigé", deadline=in_days(45), lots=["A", "B"], required_pieces=[])
    consultation = Consultation.objects.get(pk=consultation.pk)
    assert consultation.title == "Titre corrigé"
    assert consultation.required_pieces == []
    assert consultation.lots.count() == 2


def test_the_market_type_is_fixed_once_a_company_has_applied(buyer, user, enqueued, django_capture_on_commit_callbacks):
    consultation = create(buyer, user)
    consultations.consultation_publish(consultation=consultation)
    with django_capture_on_commit_callbacks(execute=True):
        services.candidature_start(consultation=consultation, siret="55204944776279")

    with pytest.raises(ConsultationError) as refused:
        update(consultation, market_type="services")

    assert refused.value.field == "market_type"
    assert Consultation.objects.get(pk=consultation.pk).market_type == "travaux"


def test_a_lot_chosen_by_a_company_cannot_be_removed(buyer, user, enqueued, django_capture_on_commit_callbacks):
    consultation = create(buyer, user, lots=["A", "B"])
    with django_capture_on_commit_callbacks(execute=True):
        candidature, _ = services.candidature_start(consultation=consultation, siret="55204944776279")
    candidature.declared = {"lots": [2]}
    candidature.save()

    with pytest.raises(ConsultationError) as refused:
        update(consultation, title="Titre modifié", lots=["A"])

    assert refused.value.field == "lots"
    consultation = Consultation.objects.get(pk=consultation.pk)
    assert consultation.lots.count() == 2
    assert consultation.title != "Titre modifié"


def test_an_unchanged_past_deadline_does_not_block_other_edits(buyer, user):
    consultation = create(buyer, user)
    Consultation.objects.filter(pk=consultation.pk).update(deadline=in_days(-1))
    consultation.refresh_from_db()

    update(consultation, title="Titre corrigé")

    assert Consultation.objects.get(pk=consultation.pk).title == "Titre corrigé"
