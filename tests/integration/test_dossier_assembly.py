"""End to end: candidature → Celery group → real worker → sandbox over HTTP → dossier."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from candidatures import demo, selectors, services
from candidatures.models import Candidature, SourceFetch, UpstreamCall
from connectors import registry
from connectors.sandbox import personas

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _start(siret: str, reference: str = "INTEG-001") -> Candidature:
    organisation, _ = services.organisation_get_or_create(siret=demo.DEMO_BUYER_SIRET, name="Acheteur test")
    consultation = services.consultation_get_or_create(organisation=organisation, reference=reference)
    candidature, _ = services.candidature_start(consultation=consultation, siret=siret, requested_by="test")
    return candidature


def _wait_complete(*candidatures: Candidature, timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    pks = [candidature.pk for candidature in candidatures]
    while time.monotonic() < deadline:
        statuses = set(Candidature.objects.filter(pk__in=pks).values_list("status", flat=True))
        if statuses == {Candidature.Status.COMPLETE}:
            break
        time.sleep(0.2)
    dossiers = [selectors.dossier_as_dict(candidature=selectors.candidature_for_dossier(pk=pk)) for pk in pks]
    for dossier in dossiers:
        assert dossier["status"] == "complete", dossier["sources"]
    return dossiers


def test_demo_company_dossier_completes_with_identity_turnover_and_certificates(celery_worker, faults):
    (dossier,) = _wait_complete(_start(personas.DEMO_SIRET))

    assert {key: source["status"] for key, source in dossier["sources"].items()} == {
        key: "ok" for key in registry.SOURCES
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

    (dossier,) = _wait_complete(_start(personas.DEMO_SIRET, reference="INTEG-502"))

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

    (dossier,) = _wait_complete(_start(personas.DEMO_SIRET, reference="INTEG-429"))

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

    (dossier,) = _wait_complete(_start(personas.DEMO_SIRET, reference="INTEG-MALFORMED"))

    source = dossier["sources"]["dgfip_chiffres_affaires"]
    assert (source["status"], source["error_code"], source["attempts"]) == ("error", "malformed", 1)
    assert dossier["chiffres_affaires"] == []
    assert dossier["sources"]["insee_etablissement"]["status"] == "ok"


def test_html_page_instead_of_pdf_is_refused_and_not_stored(celery_worker, faults):
    faults.add(path="attestation_vigilance_test", kind="html_document", times=None)

    (dossier,) = _wait_complete(_start(personas.DEMO_SIRET, reference="INTEG-HTML"))

    source = dossier["sources"]["urssaf_attestation_vigilance"]
    assert (source["status"], source["error_code"]) == ("error", "document_invalide")
    assert "attestation_vigilance" not in {document["kind"] for document in dossier["documents"]}
    assert "attestation_fiscale" in {document["kind"] for document in dossier["documents"]}


def test_unknown_siret_ends_not_found_everywhere_it_is_unknown(celery_worker, faults):
    (dossier,) = _wait_complete(_start(personas.UNKNOWN_SIRET, reference="INTEG-UNKNOWN"))

    assert dossier["sources"]["insee_etablissement"]["status"] == "not_found"
    assert dossier["sources"]["insee_etablissement"]["http_status"] == 404
    assert dossier["company"] is None or dossier["company"]["raison_sociale"] == ""


def test_flags_urssaf_refusal_closed_establishment_and_liquidation(celery_worker, faults):
    refused, closed, liquidation = (
        _start(personas.URSSAF_REFUSED_SIRET, reference="INTEG-FLAGS"),
        _start(personas.CLOSED_SIRET, reference="INTEG-FLAGS"),
        _start(personas.LIQUIDATION_SIRET, reference="INTEG-FLAGS"),
    )

    dossiers = _wait_complete(refused, closed, liquidation)

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

    _wait_complete(*candidatures, timeout=120)

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

    (dossier,) = _wait_complete(_start(personas.DEMO_SIRET, reference="INTEG-TIMEOUT"))

    source = dossier["sources"]["insee_unite_legale"]
    assert (source["status"], source["attempts"]) == ("ok", 2)
    first_call = UpstreamCall.objects.filter(source="insee_unite_legale").order_by("created_at").first()
    assert (first_call.http_status, first_call.error_code) == (None, "timeout")
    assert first_call.duration_ms >= 1400
