"""Business rules of the candidature lifecycle, tested without HTTP."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from candidatures import selectors, services
from candidatures.models import Candidature, Habilitation, SourceFetch
from connectors import dgfip, errors, inpi, insee, urssaf
from connectors.identifiers import InvalidIdentifier
from connectors.types import FetchedDocument
from tests.connectors.payloads import load_case

pytestmark = pytest.mark.django_db


def official_result(source: str):
    """The typed result of an official staging payload; None for a source without one here."""
    cases = {
        "insee_etablissement": (
            "api_entreprise_v4_insee_etablissements",
            "personne_morale.yaml",
            insee.parse_etablissement,
        ),
        "insee_unite_legale": (
            "api_entreprise_v4_insee_unites_legales",
            "personne_morale.yaml",
            insee.parse_unite_legale,
        ),
        "inpi_rne_extrait": ("api_entreprise_v3_inpi_rne_extrait_rne", "200.yaml", inpi.parse_extrait_rne),
        "urssaf_attestation_vigilance": (
            "api_entreprise_v4_acoss_attestations_sociales",
            "attestation_delivree.yaml",
            urssaf.parse_attestation_vigilance,
        ),
        "dgfip_attestation_fiscale": (
            "api_entreprise_v4_dgfip_attestations_fiscales",
            "attestation_delivree.yaml",
            dgfip.parse_attestation_fiscale,
        ),
        "dgfip_chiffres_affaires": (
            "api_entreprise_v3_dgfip_chiffres_affaires",
            "200-2024.yaml",
            dgfip.parse_chiffres_affaires,
        ),
    }
    if source not in cases:
        return None
    directory, filename, parse = cases[source]
    return parse(load_case(directory, filename)[1])


def fetch_of(candidature: Candidature, source: str) -> SourceFetch:
    return candidature.fetches.get(source=source)


def test_start_creates_one_pending_fetch_per_source_and_enqueues_them_on_commit(candidature, enqueued):
    fetches = list(candidature.fetches.all())

    # A travaux consultation: identity, attestations, BODACC, capacity and the construction-trade sources.
    assert {fetch.source for fetch in fetches} == set(services.sources_needed(consultation=candidature.consultation))
    assert {"insee_etablissement", "bodacc", "urssaf_attestation_vigilance", "qualibat"} <= {f.source for f in fetches}
    assert {fetch.status for fetch in fetches} == {SourceFetch.Status.PENDING}
    assert sorted(enqueued) == sorted(fetch.pk for fetch in fetches)
    assert candidature.siren == "552049447"
    assert candidature.status == Candidature.Status.IN_PROGRESS


def test_start_twice_resumes_the_same_candidature_without_new_calls(candidature, consultation, enqueued):
    enqueued.clear()

    again, created = services.candidature_start(consultation=consultation, siret="552 049 447 76279")

    assert (again.pk, created) == (candidature.pk, False)
    assert enqueued == []


def test_start_refuses_an_invalid_siret(consultation, enqueued):
    with pytest.raises(InvalidIdentifier) as excinfo:
        services.candidature_start(consultation=consultation, siret="55204944776278")
    assert excinfo.value.code == "siret_cle"
    assert Candidature.objects.count() == 0


def test_sources_outside_the_habilitation_end_unauthorized_and_are_not_enqueued(
    enqueued, django_capture_on_commit_callbacks
):
    organisation, _ = services.organisation_get_or_create(siret="21750001600019", sources=["insee_etablissement"])
    consultation = services.consultation_get_or_create(organisation=organisation, reference="R")

    with django_capture_on_commit_callbacks(execute=True):
        candidature, _ = services.candidature_start(consultation=consultation, siret="55204944776279")

    statuses = dict(candidature.fetches.values_list("source", "status"))
    assert statuses.pop("insee_etablissement") == SourceFetch.Status.PENDING
    assert set(statuses.values()) == {SourceFetch.Status.UNAUTHORIZED}
    assert enqueued == [candidature.fetches.get(source="insee_etablissement").pk]


def test_an_expired_habilitation_authorises_nothing(buyer, enqueued):
    Habilitation.objects.filter(organisation=buyer).update(ends_on=timezone.localdate() - timedelta(days=1))
    consultation = services.consultation_get_or_create(organisation=buyer, reference="EXPIRED")

    candidature, _ = services.candidature_start(consultation=consultation, siret="55204944776279")

    assert set(candidature.fetches.values_list("status", flat=True)) == {SourceFetch.Status.UNAUTHORIZED}
    candidature.refresh_from_db()
    assert candidature.status == Candidature.Status.COMPLETE
    assert enqueued == []


def test_results_map_identity_turnover_and_complete_the_dossier(candidature):
    for fetch in candidature.fetches.all():
        result = official_result(fetch.source)
        if result is None:  # BODACC and the trade sources find nothing for this company
            services.fetch_store_failure(fetch=fetch, error=errors.NotFound("absent"))
            continue
        services.fetch_store_result(fetch=fetch, result=result)

    dossier = selectors.dossier_as_dict(candidature=selectors.candidature_for_dossier(pk=candidature.pk))

    assert dossier["status"] == "complete"
    assert dossier["company"]["raison_sociale"] == "SOCIETE NATIONALE SNCF"
    assert dossier["company"]["activite_principale"]["code"]
    assert dossier["company"]["dirigeants"] == [{"nom": "DUPONT", "prenoms": "JEAN", "qualite": "Président"}]
    assert dossier["chiffres_affaires"] == [{"montant": 900001, "date_fin_exercice": "2024-12-01"}]
    assert dossier["sources"]["bodacc"]["status"] == "not_found"
    assert dossier["exclusion_flags"] == []


def test_storing_the_same_result_twice_is_idempotent(candidature):
    fetch = fetch_of(candidature, "dgfip_chiffres_affaires")
    result = official_result("dgfip_chiffres_affaires")

    services.fetch_store_result(fetch=fetch, result=result)
    services.fetch_store_result(fetch=fetch, result=result)

    assert candidature.turnovers.count() == 1


def test_withheld_urssaf_attestation_is_refused_and_flagged(candidature):
    _, body = load_case("api_entreprise_v4_acoss_attestations_sociales", "attestation_non_delivree.yaml")

    services.fetch_store_result(
        fetch=fetch_of(candidature, "urssaf_attestation_vigilance"),
        result=urssaf.parse_attestation_vigilance(body),
    )

    assert fetch_of(candidature, "urssaf_attestation_vigilance").status == SourceFetch.Status.REFUSED
    assert list(candidature.exclusion_flags.values_list("code", "severity")) == [("urssaf_refus", "exclusion")]


def test_documents_are_stored_once_by_content_with_their_fingerprint(candidature):
    pdf = b"%PDF-1.4\n% test\n"
    document = FetchedDocument(
        kind="attestation_fiscale",
        content=pdf,
        content_type="application/pdf",
        sha256="a" * 64,
        size=len(pdf),
        source_url="https://example.test/a.pdf",
    )
    _, body = load_case("api_entreprise_v4_dgfip_attestations_fiscales", "attestation_delivree.yaml")
    result = dgfip.AttestationFiscale(
        payload=body, documents=(document,), date_delivrance=None, date_periode_analysee=None
    )

    services.fetch_store_result(fetch=fetch_of(candidature, "dgfip_attestation_fiscale"), result=result)

    stored = candidature.documents.get()
    assert (stored.sha256, stored.size, stored.content_type) == ("a" * 64, len(pdf), "application/pdf")
    with stored.file.open("rb") as stored_file:
        assert stored_file.read() == pdf


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.NotFound("x", http_status=404, code="04003"), SourceFetch.Status.NOT_FOUND),
        (errors.NotApplicable("x"), SourceFetch.Status.NOT_APPLICABLE),
        (errors.Refused("x", http_status=451), SourceFetch.Status.REFUSED),
        (errors.BadRequest("x", http_status=422, code="00211"), SourceFetch.Status.ERROR),
        (errors.Transient("x", http_status=502, code="04999"), SourceFetch.Status.ERROR),
        (errors.InvalidDocument("x", code="document_invalide"), SourceFetch.Status.ERROR),
    ],
)
def test_final_failures_map_to_the_status_vocabulary(candidature, error, status):
    fetch = services.fetch_store_failure(fetch=fetch_of(candidature, "insee_etablissement"), error=error)

    assert fetch.status == status
    assert fetch.error_code == (error.code or type(error).__name__)
    assert fetch.fetched_at is not None


def test_a_non_final_failure_keeps_the_fetch_pending(candidature):
    fetch = services.fetch_store_failure(
        fetch=fetch_of(candidature, "insee_etablissement"),
        error=errors.Transient("x", http_status=502),
        final=False,
    )
    assert (fetch.status, fetch.http_status) == (SourceFetch.Status.PENDING, 502)


def test_begin_attempt_counts_attempts_and_skips_final_fetches(candidature):
    fetch = fetch_of(candidature, "insee_etablissement")

    assert services.fetch_begin_attempt(fetch_id=fetch.pk, task_id="t1").attempts == 1
    services.fetch_store_failure(fetch=fetch, error=errors.NotFound("x"))
    assert services.fetch_begin_attempt(fetch_id=fetch.pk, task_id="t2") is None


def test_a_scheduled_retry_puts_the_fetch_back_to_pending_when_due(
    candidature, enqueued, django_capture_on_commit_callbacks
):
    fetch = fetch_of(candidature, "urssaf_attestation_vigilance")
    services.fetch_store_failure(
        fetch=fetch,
        error=errors.Transient("x", code="04501"),
        next_retry_at=timezone.now() - timedelta(seconds=1),
    )
    enqueued.clear()

    assert selectors.fetches_due_for_retry() == [fetch.pk]
    with django_capture_on_commit_callbacks(execute=True):
        assert services.fetch_reschedule(fetch_id=fetch.pk) is True

    fetch.refresh_from_db()
    assert fetch.status == SourceFetch.Status.PENDING
    assert enqueued == [fetch.pk]
    assert services.fetch_reschedule(fetch_id=fetch.pk) is False, "a pending fetch is not rescheduled twice"


@pytest.mark.parametrize(
    ("attempt", "retry_after", "expected"),
    [(1, None, 2.0), (2, None, 4.0), (3, None, 8.0), (10, None, 300.0), (1, 30.0, 30.0), (3, 1.0, 8.0)],
)
def test_retry_delay_backs_off_and_honours_the_api(attempt, retry_after, expected):
    assert services.retry_delay(attempt=attempt, retry_after=retry_after, base=2.0, cap=300.0) == expected


def test_each_source_refreshes_only_its_own_flags(candidature):
    _, refused = load_case("api_entreprise_v4_acoss_attestations_sociales", "attestation_non_delivree.yaml")
    _, closed = load_case("api_entreprise_v4_insee_etablissements", "personne_morale_etat_cesse.yaml")
    urssaf_fetch = fetch_of(candidature, "urssaf_attestation_vigilance")

    services.fetch_store_result(fetch=urssaf_fetch, result=urssaf.parse_attestation_vigilance(refused))
    services.fetch_store_result(
        fetch=fetch_of(candidature, "insee_etablissement"), result=insee.parse_etablissement(closed)
    )
    assert set(candidature.exclusion_flags.values_list("code", flat=True)) == {"urssaf_refus", "etablissement_ferme"}

    services.fetch_store_result(fetch=urssaf_fetch, result=official_result("urssaf_attestation_vigilance"))

    assert list(candidature.exclusion_flags.values_list("code", flat=True)) == ["etablissement_ferme"]


def test_a_failure_keeps_our_message_and_the_providers_detail(candidature):
    error = errors.NotFound("Entité non trouvée chez le fournisseur.", http_status=404, detail="Le siret est inconnu")

    fetch = services.fetch_store_failure(fetch=fetch_of(candidature, "insee_etablissement"), error=error)

    assert fetch.error_detail == "Entité non trouvée chez le fournisseur. (Le siret est inconnu)"


def test_a_source_keeps_several_files_of_one_kind_and_a_new_answer_replaces_them(candidature):
    from dataclasses import replace

    from connectors.types import FetchedDocument

    def bilan(number: int) -> FetchedDocument:
        content = f"%PDF-1.7 bilan {number}".encode()
        return FetchedDocument(
            kind="bilan",
            content=content,
            content_type="application/pdf",
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            source_url=f"https://data.inpi.fr/bilans/{number}",
        )

    fetch = fetch_of(candidature, "dgfip_chiffres_affaires")
    result = official_result("dgfip_chiffres_affaires")

    services.fetch_store_result(fetch=fetch, result=replace(result, documents=(bilan(2022), bilan(2023), bilan(2024))))
    assert sorted(candidature.documents.values_list("source_url", flat=True)) == [
        f"https://data.inpi.fr/bilans/{year}" for year in (2022, 2023, 2024)
    ]

    services.fetch_store_result(fetch=fetch, result=replace(result, documents=(bilan(2025),)))
    assert list(candidature.documents.values_list("source_url", flat=True)) == ["https://data.inpi.fr/bilans/2025"]
