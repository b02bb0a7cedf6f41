"""The receipt PDF: rendered from the frozen dossier only, readable, the same each time."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from pypdf import PdfReader

from candidatures import dossiers, services
from candidatures.models import Candidature, Contestation
from candidatures.receipt import _RefusingFetcher, receipt_pdf
from connectors import errors, registry, urssaf
from tests.candidatures.test_services import official_result
from tests.connectors.payloads import load_case

pytestmark = pytest.mark.django_db

SUBMITTED_AT = datetime(2026, 11, 23, 13, 5, tzinfo=UTC)
UPLOADED_PDF = b"%PDF-1.4\n% attestation\n"


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def feed_official_answers(candidature: Candidature, *, urssaf_withheld: bool = False) -> None:
    """Every source answers as the official payloads do; BODACC finds nothing."""
    for fetch in candidature.fetches.all():
        source = fetch.source
        if official_result(source) is None:
            services.fetch_store_failure(fetch=fetch, error=errors.NotFound("absent"))
        elif source == "urssaf_attestation_vigilance" and urssaf_withheld:
            _, body = load_case("api_entreprise_v4_acoss_attestations_sociales", "attestation_non_delivree.yaml")
            services.fetch_store_result(fetch=fetch, result=urssaf.parse_attestation_vigilance(body))
        else:
            services.fetch_store_result(fetch=fetch, result=official_result(source))


def freeze(candidature: Candidature) -> Candidature:
    """What `candidature_submit` stores, at a fixed submission time."""
    frozen = dossiers.frozen_dossier_as_dict(candidature=candidature, submitted_at=SUBMITTED_AT)
    candidature.frozen_dossier = frozen
    candidature.frozen_sha256 = dossiers.dossier_sha256(frozen)
    candidature.submitted_at = SUBMITTED_AT
    candidature.save(update_fields=["frozen_dossier", "frozen_sha256", "submitted_at"])
    return candidature


@pytest.fixture
def company_user(db):
    return get_user_model().objects.create_user(username="marie", email="marie@example.test", password="x")


@pytest.fixture
def published(consultation):
    consultation.published_at = timezone.now()
    consultation.save(update_fields=["published_at"])
    return consultation


@pytest.fixture
def frozen_candidature(candidature, published, company_user):
    feed_official_answers(candidature, urssaf_withheld=True)
    flag = candidature.exclusion_flags.get(code="urssaf_refus")
    dossiers.candidature_declare(
        candidature=candidature, values={"contact_nom": "Marie Curie", "contact_email": "marie@example.test"}
    )
    dossiers.contestation_save(
        candidature=candidature,
        flag=flag,
        text="Un échéancier de paiement a été accordé par l'URSSAF.",
        files=[],
        user=company_user,
    )
    dossiers.piece_upload(
        candidature=candidature,
        piece_key="attestation_fiscale",
        uploaded_file=SimpleUploadedFile("attestation.pdf", UPLOADED_PDF, content_type="application/pdf"),
        user=company_user,
    )
    dossiers.declaration_sign(candidature=candidature, signatory="Marie Curie")
    return freeze(Candidature.objects.get(pk=candidature.pk))


def test_the_receipt_shows_the_dossier_as_submitted(frozen_candidature):
    content = receipt_pdf(candidature=frozen_candidature)

    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    assert "55204944776279" in text
    assert "SOCIETE NATIONALE SNCF" in text
    assert frozen_candidature.frozen_sha256 in compact(text)
    assert "MARCHE-2026-01" in text
    assert "DINUM" in text and "13002526500013" in text
    assert "Marie Curie" in text
    assert "marie@example.test" in text
    assert "23 novembre 2026 à 14 h 05" in text, "the submission time is in Paris time"
    assert "L.\u00a02141-1 à L.\u00a02141-5" in text  # non-breaking: an article number never starts a line
    assert registry.SOURCES["dgfip_chiffres_affaires"].label in text
    assert "Récupéré" in text and "Non trouvé" in text
    assert "900\u202f001" in text or "900 001" in text
    assert "Un échéancier de paiement a été accordé" in text, "the contestation is beside its flag"
    assert "Déposéparl'entreprise" in compact(text)
    assert hashlib.sha256(UPLOADED_PDF).hexdigest() in compact(text), "each document is listed by its fingerprint"
    assert "elle permet de vérifier que le dossier n'a pas été modifié" in text


def test_the_receipt_has_a_title(frozen_candidature):
    reader = PdfReader(io.BytesIO(receipt_pdf(candidature=frozen_candidature)))

    assert reader.metadata.title.startswith("Récépissé de dépôt de candidature")
    assert "MARCHE-2026-01" in reader.metadata.title


def test_the_receipt_reads_only_the_frozen_dossier(frozen_candidature):
    first = pdf_text(receipt_pdf(candidature=frozen_candidature))
    Contestation.objects.all().update(text="Changé après le dépôt.")
    frozen_candidature.company.raison_sociale = "AUTRE NOM"
    frozen_candidature.company.save()

    again = pdf_text(receipt_pdf(candidature=Candidature.objects.get(pk=frozen_candidature.pk)))

    assert again == first


def test_a_dossier_without_company_identity_still_renders(candidature):
    dossiers.declaration_sign(candidature=candidature, signatory="Jean Dupont")
    frozen = freeze(candidature)
    assert frozen.frozen_dossier["dossier"]["company"] is None

    text = pdf_text(receipt_pdf(candidature=frozen))

    assert "55204944776279" in text
    assert "Jean Dupont" in text
    assert frozen.frozen_sha256 in compact(text)
    assert "En attente" in text
    assert "Aucun justificatif" in text


def test_an_unsubmitted_candidature_has_no_receipt(candidature):
    with pytest.raises(ValueError, match="not submitted"):
        receipt_pdf(candidature=candidature)


@pytest.mark.parametrize("url", ["https://example.test/style.css", "file:///etc/passwd", "data:text/css,p{}"])
def test_the_receipt_fetches_nothing(url):
    with pytest.raises(ValueError, match="fetches nothing"):
        _RefusingFetcher().fetch(url)


def test_submitting_stores_the_receipt_with_the_fingerprint(candidature, published, company_user):
    feed_official_answers(candidature)
    dossiers.candidature_declare(candidature=candidature, values={"contact_email": "marie@example.test"})
    dossiers.declaration_sign(candidature=candidature, signatory="Marie Curie")
    candidature = Candidature.objects.get(pk=candidature.pk)
    assert dossiers.submission_blockers(candidature=candidature) == []

    submitted = dossiers.candidature_submit(candidature=candidature, user=company_user)

    stored = Candidature.objects.get(pk=submitted.pk)
    assert stored.frozen_sha256 and stored.receipt.name
    with default_storage.open(stored.receipt.name, "rb") as receipt_file:
        content = receipt_file.read()
    assert content.startswith(b"%PDF")
    assert stored.frozen_sha256 in compact(pdf_text(content))


def test_the_receipt_is_a_tagged_pdf_for_screen_readers(frozen_candidature):
    reader = PdfReader(io.BytesIO(receipt_pdf(candidature=frozen_candidature)))

    catalog = reader.trailer["/Root"]
    assert "/StructTreeRoot" in catalog
    assert bool(catalog["/MarkInfo"]["/Marked"])
    assert catalog["/Lang"] == "fr"
