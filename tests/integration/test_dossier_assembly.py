"""End to end: candidature → Celery group → real worker → sandbox over HTTP → dossier."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from candidatures import demo, selectors, services
from candidatures.models import Candidature, SourceFetch, UpstreamCall
from connectors.sandbox import personas
from tests.builders import wait_complete

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _start(siret: str, reference: str = "INTEG-001") -> Candidature:
    organisation, _ = services.organisation_get_or_create(siret=demo.DEMO_BUYER_SIRET, name="Acheteur test")
    consultation = services.consultation_get_or_create(organisation=organisation, reference=reference)
    candidature, _ = services.candidature_start(consultation=consultation, siret=siret, requested_by="test")
    return candidature


def test_demo_company_dossier_completes_with_identity_turnover_and_certificates(celery_worker, faults):
    candidature = _start(personas.DEMO_SIRET)
    (dossier,) = wait_complete(candidature)

    # Every source of the consultation's pieces (a services market by default), not the whole registry.
    assert {key: source["status"] for key, source in dossier["sources"].items()} == {
        key: "ok" for key in services.sources_needed(consultation=candidature.consultation)
    }
    assert dossier["company"]["raison_sociale"] == "SOCIETE NATIONALE SNCF"
    assert dossier["company"]["etat_administratif"] == "A"
    assert [entry["date_fin_exercice"][:4] for entry in dossier["chiffres_affaires"]] == [
        "2024",
        "2023",
        "2022",
    ]
    kinds = {document["kind"]: document for document in dossier["documents"]}
    assert {"attestation_vigilance", "attestation_fiscale", "extrait_rne"} <= set(kinds)
    assert all(len(document["sha256"]) == 64 for document in dossier["documents"])
    assert kinds["attestation_vigilance"]["content_type"] == "application/pdf"
    assert dossier["exclusion_flags"] == []
    # Every call was recorded with the buyer as recipient, never the company.
    recipients = set(UpstreamCall.objects.filter(siret=personas.DEMO_SIRET).values_list("recipient", flat=True))
    assert recipients <= {demo.DEMO_BUYER_SIRET, ""}


def test_502_then_200_is_retried_and_completes_ok(celery_worker, faults):
    faults.add(path="/attestation_vigilance$", kind="status", status=502, times=1)

    (dossier,) = wait_complete(_start(personas.DEMO_SIRET, reference="INTEG-502"))

    source = dossier["sources"]["urssaf_attestation_vigilance"]
    assert source["status"] == "ok"
    assert source["attempts"] == 2
    statuses = list(
        UpstreamCall.objects.filter(source="urssaf_attestation_vigilance", provider="api_entreprise")
        .order_by("created_at")
        .values_list("http_status", flat=True)
    )
    assert statuses == [502, 200]


def test_429_then_200_honours_retry_after(celery_worker, faults):
    faults.add(path="/attestation_fiscale$", kind="status", status=429, times=1, retry_after=1)

    (dossier,) = wait_complete(_start(personas.DEMO_SIRET, reference="INTEG-429"))

    assert dossier["sources"]["dgfip_attestation_fiscale"]["status"] == "ok"
    calls = list(
        UpstreamCall.objects.filter(source="dgfip_attestation_fiscale", provider="api_entreprise").order_by(
            "created_at"
        )
    )
    assert [call.http_status for call in calls] == [429, 200]
    assert (calls[1].created_at - calls[0].created_at).total_seconds() >= 1.0


def test_malformed_json_ends_in_error_without_retry(celery_worker, faults):
    faults.add(path="/chiffres_affaires$", kind="malformed", times=None)

    (dossier,) = wait_complete(_start(personas.DEMO_SIRET, reference="INTEG-MALFORMED"))

    source = dossier["sources"]["dgfip_chiffres_affaires"]
    assert (source["status"], source["error_code"], source["attempts"]) == ("error", "malformed", 1)
    assert dossier["chiffres_affaires"] == []
    assert dossier["sources"]["insee_etablissement"]["status"] == "ok"


def test_html_page_instead_of_pdf_is_refused_and_not_stored(celery_worker, faults):
    faults.add(path="attestation_vigilance_test", kind="html_document", times=None)

    (dossier,) = wait_complete(_start(personas.DEMO_SIRET, reference="INTEG-HTML"))

    source = dossier["sources"]["urssaf_attestation_vigilance"]
    assert (source["status"], source["error_code"]) == ("error", "document_invalide")
    assert "attestation_vigilance" not in {document["kind"] for document in dossier["documents"]}
    assert "attestation_fiscale" in {document["kind"] for document in dossier["documents"]}


def test_unknown_siret_ends_not_found_everywhere_it_is_unknown(celery_worker, faults):
    (dossier,) = wait_complete(_start(personas.UNKNOWN_SIRET, reference="INTEG-UNKNOWN"))

    assert dossier["sources"]["insee_etablissement"]["status"] == "not_found"
    assert dossier["sources"]["insee_etablissement"]["http_status"] == 404
    assert dossier["company"] is None or dossier["company"]["raison_sociale"] == ""


def test_flags_urssaf_refusal_closed_establishment_and_liquidation(celery_worker, faults):
    refused, closed, liquidation = (
        _start(personas.URSSAF_REFUSED_SIRET, reference="INTEG-FLAGS"),
        _start(personas.CLOSED_SIRET, reference="INTEG-FLAGS"),
        _start(personas.LIQUIDATION_SIRET, reference="INTEG-FLAGS"),
    )

    dossiers = wait_complete(refused, closed, liquidation)

    codes = [{flag["code"] for flag in dossier["exclusion_flags"]} for dossier in dossiers]
    assert codes[0] == {"urssaf_refus"}
    assert dossiers[0]["sources"]["urssaf_attestation_vigilance"]["status"] == "refused"
    assert codes[1] == {"etablissement_ferme"}, "a liquidation followed by a clôture raises nothing"
    assert "liquidation_judiciaire" in codes[2]
    (liquidation_flag,) = [flag for flag in dossiers[2]["exclusion_flags"] if flag["code"] == "liquidation_judiciaire"]
    assert liquidation_flag["evidence"]["url"].startswith("https://www.bodacc.fr/")


def test_twenty_candidatures_written_by_eight_concurrent_tasks_all_complete(celery_worker, faults):
    """The embedded default (SQLite, WAL, immediate transactions) holds 8 concurrent writers."""
    candidatures = [_start(personas.DEMO_SIRET, reference=f"INTEG-LOAD-{index}") for index in range(20)]

    wait_complete(*candidatures, timeout=120)

    failures = SourceFetch.objects.filter(candidature__in=candidatures).exclude(status=SourceFetch.Status.OK)
    assert list(failures.values_list("source", "error_code")) == []


def _manage(*argv: str, worker_env: dict) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *argv],
        cwd=Path(__file__).resolve().parents[2],
        env=worker_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_assemble_dossier_command_prints_the_complete_dossier_json(celery_worker, worker_env, faults):
    completed = _manage(
        "assemble_dossier",
        "--siret",
        personas.DEMO_SIRET,
        "--buyer-siret",
        demo.DEMO_BUYER_SIRET,
        "--object",
        "INTEG-CLI",
        "--json",
        worker_env=worker_env,
    )

    assert completed.returncode == 0, completed.stderr
    dossier = json.loads(completed.stdout)
    assert dossier["schema"] == "passemarche.dossier/1"
    assert dossier["status"] == "complete"
    assert {document["kind"] for document in dossier["documents"]} >= {
        "attestation_vigilance",
        "attestation_fiscale",
    }


def test_assemble_dossier_sources_option_leaves_the_others_unauthorized_and_uncalled(celery_worker, worker_env, faults):
    completed = _manage(
        "assemble_dossier",
        "--siret",
        personas.DEMO_SIRET,
        "--buyer-siret",
        "21750001600019",
        "--sources",
        "insee_etablissement",
        "--json",
        worker_env=worker_env,
    )

    assert completed.returncode == 0, completed.stderr
    statuses = {key: source["status"] for key, source in json.loads(completed.stdout)["sources"].items()}
    assert statuses.pop("insee_etablissement") == "ok"
    assert set(statuses.values()) == {"unauthorized"}
    called_paths = [call["path"] for call in faults.calls()]
    assert called_paths and all("/insee/sirene/etablissements/" in path for path in called_paths)


def test_an_upstream_timeout_is_retried_and_completes_ok(celery_worker, faults):
    faults.add(path="/v4/insee/sirene/unites_legales/", kind="timeout", delay=3.0, times=1)

    (dossier,) = wait_complete(_start(personas.DEMO_SIRET, reference="INTEG-TIMEOUT"))

    source = dossier["sources"]["insee_unite_legale"]
    assert (source["status"], source["attempts"]) == ("ok", 2)
    first_call = UpstreamCall.objects.filter(source="insee_unite_legale").order_by("created_at").first()
    assert (first_call.http_status, first_call.error_code) == (None, "timeout")
    assert first_call.duration_ms >= 1400


BTP_SOURCES = (
    "probtp_attestation",
    "probtp_conformite",
    "cibtp_attestation",
    "cnetp_attestation",
    "fntp_carte_pro",
    "qualibat",
)
BTP_PATHS = ("/probtp/", "/cibtp/", "/cnetp/", "/fntp/", "/qualibat/")


def _assemble(siret: str, *, market_type: str, reference: str, worker_env: dict) -> dict:
    completed = _manage(
        "assemble_dossier",
        "--siret",
        siret,
        "--buyer-siret",
        demo.DEMO_BUYER_SIRET,
        "--object",
        reference,
        "--market-type",
        market_type,
        "--json",
        worker_env=worker_env,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_works_market_dossier_of_a_btp_company_has_its_btp_attestations(celery_worker, worker_env, faults):
    dossier = _assemble(personas.BTP_SIRET, market_type="travaux", reference="INTEG-BTP-TRAVAUX", worker_env=worker_env)

    assert dossier["status"] == "complete"
    statuses = {key: source["status"] for key, source in dossier["sources"].items()}
    assert {key: statuses.get(key) for key in BTP_SOURCES} == {key: "ok" for key in BTP_SOURCES}
    assert statuses["insee_etablissement"] == statuses["urssaf_attestation_vigilance"] == "ok"
    assert dossier["company"]["raison_sociale"] == "EXEMPLE BATIMENT ET TRAVAUX PUBLICS"
    documents = {(document["source"], document["kind"]): document for document in dossier["documents"]}
    assert {
        ("probtp_attestation", "attestation_probtp"),
        ("cibtp_attestation", "attestation_conges_payes"),
        ("cnetp_attestation", "attestation_conges_payes"),
        ("fntp_carte_pro", "carte_pro_tp"),
        ("qualibat", "qualibat"),
    } <= set(documents)
    assert all(document["content_type"] == "application/pdf" for document in documents.values())
    assert documents[("qualibat", "qualibat")]["valid_until"] == "2024-02-02"
    called = {call["path"] for call in faults.calls()}
    assert (
        f"/v3/cibtp/etablissements/{personas.BTP_SIRET}/attestation_cotisations_conges_payes_chomage_intemperies"
        in (called)
    )


def test_services_market_dossier_never_calls_the_btp_sources(celery_worker, worker_env, faults):
    dossier = _assemble(
        personas.BTP_SIRET, market_type="services", reference="INTEG-BTP-SERVICES", worker_env=worker_env
    )

    assert dossier["status"] == "complete"
    assert not set(BTP_SOURCES) & set(dossier["sources"])
    assert dossier["sources"]["insee_etablissement"]["status"] == "ok"
    paths = [call["path"] for call in faults.calls()]
    assert any(personas.BTP_SIRET in path for path in paths)
    assert [path for path in paths if any(part in path for part in BTP_PATHS)] == []


def test_btp_company_not_up_to_date_is_refused_by_cibtp_and_probtp(celery_worker, faults):
    organisation, _ = services.organisation_get_or_create(siret=demo.DEMO_BUYER_SIRET, name="Acheteur test")
    consultation = services.consultation_get_or_create(
        organisation=organisation, reference="INTEG-BTP-NON-A-JOUR", market_type="travaux"
    )
    candidature, _ = services.candidature_start(
        consultation=consultation, siret=personas.BTP_NON_A_JOUR_SIRET, requested_by="test"
    )

    (dossier,) = wait_complete(candidature)

    sources = dossier["sources"]
    assert (sources["cibtp_attestation"]["status"], sources["cibtp_attestation"]["attempts"]) == ("refused", 1)
    assert sources["probtp_conformite"]["status"] == "refused"
    assert sources["probtp_attestation"]["status"] == "not_found"
    assert sources["cnetp_attestation"]["status"] == "not_found"
    assert not {"attestation_conges_payes", "attestation_probtp"} & {d["kind"] for d in dossier["documents"]}
    cibtp_call = UpstreamCall.objects.get(source="cibtp_attestation", siret=personas.BTP_NON_A_JOUR_SIRET)
    assert (cibtp_call.http_status, cibtp_call.error_code) == (404, "38422")


def _start_with_pieces(siret: str, *, reference: str, pieces: list[str]) -> Candidature:
    """A consultation asking exactly these optional pieces (the always-required ones are implied)."""
    organisation, _ = services.organisation_get_or_create(siret=demo.DEMO_BUYER_SIRET, name="Acheteur test")
    consultation = services.consultation_get_or_create(organisation=organisation, reference=reference)
    consultation.required_pieces = pieces
    consultation.save(update_fields=["required_pieces"])
    candidature, _ = services.candidature_start(consultation=consultation, siret=siret, requested_by="test")
    return candidature


def test_engineering_company_has_its_opqibi_qualification_and_qualiopi_certification(celery_worker, faults):
    candidature = _start_with_pieces(
        personas.INGENIERIE_SIRET,
        reference="INTEG-INGENIERIE",
        pieces=["qualification_opqibi", "certification_qualiopi"],
    )

    (dossier,) = wait_complete(candidature)

    statuses = {key: source["status"] for key, source in dossier["sources"].items()}
    assert statuses == {
        "insee_etablissement": "ok",
        "insee_unite_legale": "ok",
        "inpi_rne_extrait": "not_found",
        "urssaf_attestation_vigilance": "ok",
        "dgfip_attestation_fiscale": "ok",
        "opqibi": "ok",
        "carif_oref": "ok",
        "bodacc": "ok",
    }
    assert dossier["company"]["raison_sociale"] == "EXEMPLE INGENIERIE ET FORMATION"
    assert dossier["company"]["ess"] is False
    stored = selectors.stored_results(candidature=candidature, sources=("opqibi", "carif_oref"))
    assert stored["opqibi"].date_validite_qualifications.isoformat() == "2025-02-21"
    assert [qualification.code for qualification in stored["opqibi"].qualifications] == ["1331"]
    assert stored["carif_oref"].siret == personas.INGENIERIE_SIRET
    assert [declaration.qualiopi for declaration in stored["carif_oref"].declarations] == [("action_formation",)]
    # Links and data only: neither source downloads anything.
    assert not {"opqibi", "carif_oref"} & {document["source"] for document in dossier["documents"]}
    called = {call["path"] for call in faults.calls()}
    assert f"/v3/opqibi/unites_legales/{personas.INGENIERIE_SIREN}/certification_ingenierie" in called
    assert (
        f"/v3/carif_oref/etablissements/{personas.INGENIERIE_SIRET}/certifications_qualiopi_france_competences"
        in called
    )


def test_qualifelec_image_and_inpi_bilans_are_stored_and_msa_unknown_is_not_found(celery_worker, faults):
    candidature = _start_with_pieces(
        personas.DEMO_SIRET,
        reference="INTEG-CERTIFICATS",
        pieces=["capacite_economique", "certificat_qualifelec", "conformite_msa"],
    )

    (dossier,) = wait_complete(candidature)

    sources = dossier["sources"]
    assert (sources["qualifelec"]["status"], sources["inpi_actes_bilans"]["status"]) == ("ok", "ok")
    assert (sources["msa_conformite"]["status"], sources["msa_conformite"]["http_status"]) == ("not_found", 404)
    documents = {(document["source"], document["kind"]): document for document in dossier["documents"]}
    qualifelec_file = documents[("qualifelec", "qualifelec")]
    assert qualifelec_file["content_type"] == "image/jpeg"
    assert qualifelec_file["valid_until"] == "2024-01-31"
    assert documents[("inpi_actes_bilans", "bilan")]["content_type"] == "application/pdf"
    bilans = selectors.stored_results(candidature=candidature, sources=("inpi_actes_bilans",))["inpi_actes_bilans"]
    assert [bilan.date_cloture.year for bilan in bilans.bilans] == [2022, 2021, 2020]
    downloads = [call["path"] for call in faults.calls() if call["path"].startswith("/files/")]
    # The staging gives the three bilans one link: downloaded once, stored once.
    assert sum("exemple-bilan-inpi.pdf" in path for path in downloads) == 1


def test_construction_company_has_its_rge_certificates_from_ademe(celery_worker, faults):
    candidature = _start_with_pieces(personas.BTP_SIRET, reference="INTEG-RGE", pieces=["certification_rge"])

    (dossier,) = wait_complete(candidature)

    assert dossier["sources"]["ademe_rge"]["status"] == "ok"
    rge = selectors.stored_results(candidature=candidature, sources=("ademe_rge",))["ademe_rge"]
    assert rge.certificats and all(certificat.date_expiration for certificat in rge.certificats)
    called = {call["path"] for call in faults.calls()}
    assert f"/v3/ademe/etablissements/{personas.BTP_SIRET}/certification_rge" in called
    assert not any("/qualibat/" in path for path in called)  # not asked: not called
