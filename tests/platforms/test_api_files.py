"""Downloads through the API: a document, the receipt, the whole dossier as a ZIP; each one in the audit trail,
the identity of a non-diffusible company left out for an organisation not habilitated for it."""

from __future__ import annotations

import io
import zipfile

import pytest
from pypdf import PdfReader

from candidatures.models import DossierAccess
from tests.builders import PDF, add_document, submit
from tests.platforms.helpers import actor

pytestmark = pytest.mark.django_db

RECEIPT = b"%PDF-1.4 recepisse\n"


@pytest.fixture
def document(candidature):
    return add_document(candidature, source="urssaf_attestation_vigilance", kind="attestation_vigilance")


def content(response) -> bytes:
    return b"".join(response.streaming_content)


# --- Documents ---------------------------------------------------------------------------------------------


def test_a_document_is_downloaded_and_the_download_audited(api_http, platform, candidature, document):
    response = api_http.get(f"/api/v1/candidatures/{candidature.pk}/documents/{document.pk}/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    assert content(response) == PDF
    access = DossierAccess.objects.get()
    assert (access.action, access.user, access.user_email) == ("document", None, actor(platform))
    assert access.detail == response.filename and access.ip_address == "127.0.0.1"


def test_a_client_asking_for_a_pdf_gets_the_file_not_a_406(api_http, candidature, document):
    response = api_http.get(
        f"/api/v1/candidatures/{candidature.pk}/documents/{document.pk}/", HTTP_ACCEPT="application/pdf"
    )

    assert response.status_code == 200
    assert content(response) == PDF


def test_a_document_of_another_candidature_is_a_json_404(api_http, candidature, start, consultation, document):
    other = start(consultation, "73282932000074")

    response = api_http.get(f"/api/v1/candidatures/{other.pk}/documents/{document.pk}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not DossierAccess.objects.exists()


# --- Receipt -----------------------------------------------------------------------------------------------


def test_the_receipt_of_a_submitted_candidature_is_downloaded_and_audited(api_http, platform, candidature):
    submit(candidature, receipt=RECEIPT)

    response = api_http.get(f"/api/v1/candidatures/{candidature.pk}/receipt/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert content(response) == RECEIPT
    access = DossierAccess.objects.get()
    assert (access.action, access.user_email) == ("receipt", actor(platform))


def test_no_receipt_before_the_submission(api_http, candidature):
    response = api_http.get(f"/api/v1/candidatures/{candidature.pk}/receipt/")

    assert response.status_code == 409
    assert response.json()["code"] == "not_submitted"
    assert not DossierAccess.objects.exists()


def test_a_receipt_that_cannot_be_rendered_now_is_a_json_503(api_http, candidature, monkeypatch):
    submit(candidature, receipt=None)

    def failing(*, candidature):
        raise OSError("weasyprint is out of fonts")

    monkeypatch.setattr("candidatures.views.files.candidature_receipt", failing)

    response = api_http.get(f"/api/v1/candidatures/{candidature.pk}/receipt/")

    assert response.status_code == 503
    assert response.json()["code"] == "receipt_unavailable"
    assert not DossierAccess.objects.exists()


def test_an_organisation_without_the_habilitation_gets_a_receipt_without_the_identity(
    api_http, candidature, make_non_diffusible
):
    non_diffusible = make_non_diffusible(candidature).candidature
    submit(non_diffusible, receipt=RECEIPT)

    response = api_http.get(f"/api/v1/candidatures/{non_diffusible.pk}/receipt/")

    body = content(response)
    assert response.status_code == 200
    assert body != RECEIPT and body.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    assert non_diffusible.siret in text.replace(" ", "")
    assert "DISCRÈTE" not in text


def test_a_habilitated_organisation_gets_the_stored_receipt_of_a_non_diffusible_company(
    api_http, buyer, candidature, make_non_diffusible
):
    non_diffusible = make_non_diffusible(candidature).candidature
    submit(non_diffusible, receipt=RECEIPT)
    buyer.habilitations.update(protected_data=True)

    response = api_http.get(f"/api/v1/candidatures/{non_diffusible.pk}/receipt/")

    assert content(response) == RECEIPT


# --- ZIP ---------------------------------------------------------------------------------------------------


def test_the_zip_is_streamed_with_every_file_and_audited(api_http, platform, candidature, document):
    submit(candidature, receipt=RECEIPT)

    response = api_http.get(f"/api/v1/candidatures/{candidature.pk}/zip/")

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(content(response))) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    assert RECEIPT in files.values() and PDF in files.values()
    access = DossierAccess.objects.get()
    assert (access.action, access.user_email) == ("zip", actor(platform))


def test_the_zip_of_a_non_diffusible_company_says_the_identity_is_left_out(api_http, candidature, make_non_diffusible):
    non_diffusible = make_non_diffusible(candidature).candidature
    submit(non_diffusible, receipt=RECEIPT)

    response = api_http.get(f"/api/v1/candidatures/{non_diffusible.pk}/zip/")

    with zipfile.ZipFile(io.BytesIO(content(response))) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    assert "00-LISEZMOI-identite-protegee.txt" in files
    assert RECEIPT not in files.values()  # the company's own receipt names it: a masked one is rendered instead
