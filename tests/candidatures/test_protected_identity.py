"""The identity of a non-diffusible company: the company and habilitated buyers see it; no other buyer, no public
page, no log, no audit row. Real HTTP to the sandbox, whose persona answers as INSEE's staging case does."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from candidatures import dossiers
from candidatures.models import Candidature, CompanyIdentity, OrganisationMember, UpstreamCall
from candidatures.tasks import fetch_source
from connectors.sandbox import personas

pytestmark = pytest.mark.django_db


def make_user(email: str):
    return get_user_model().objects.create_user(username=email, email=email, password="x-secret-123")


@pytest.fixture
def company_user(db):
    return make_user("entrepreneur@exemple.test")


@pytest.fixture
def buyer_client(client, buyer):
    user = make_user("acheteur@exemple.gouv.fr")
    OrganisationMember.objects.create(user=user, organisation=buyer)
    client.force_login(user)
    return client


def grant_protected_data(organisation, granted: bool) -> None:
    organisation.habilitations.update(protected_data=granted)


@pytest.fixture
def assembled(published, company_user, upstream, enqueued, django_capture_on_commit_callbacks, caplog):
    """The non-diffusible persona's candidature, opened by the company through the page and fetched for real."""
    caplog.set_level(logging.DEBUG)
    client = Client()
    client.force_login(company_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("consultation_public", args=[published.reference]), {"siret": personas.NON_DIFFUSIBLE_SIRET}
        )
    while enqueued:
        fetch_source.apply(args=[enqueued.pop(0)])
    candidature = Candidature.objects.get(consultation=published, siret=personas.NON_DIFFUSIBLE_SIRET)
    assert candidature.status == Candidature.Status.COMPLETE
    return candidature


@pytest.fixture
def identity(assembled) -> list[str]:
    """The protected values the sandbox gave (read back, not guessed): name and address."""
    company = CompanyIdentity.objects.get(candidature=assembled)
    assert company.diffusible is False
    assert company.raison_sociale and company.adresse
    return [company.raison_sociale, company.adresse]


def submit(candidature: Candidature) -> Candidature:
    candidature = dossiers.declaration_sign(candidature=candidature, signatory="Aurélie Moreau")
    frozen = dossiers.frozen_dossier_as_dict(candidature=candidature, submitted_at=timezone.now())
    Candidature.objects.filter(pk=candidature.pk).update(
        frozen_dossier=frozen, frozen_sha256=dossiers.dossier_sha256(frozen), submitted_at=timezone.now()
    )
    return Candidature.objects.get(pk=candidature.pk)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def zip_texts(content: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {
            name: pdf_text(archive.read(name)) if name.endswith(".pdf") else archive.read(name).decode()
            for name in archive.namelist()
            if name.endswith((".pdf", ".json", ".txt"))
        }


def test_a_buyer_without_the_habilitation_sees_neither_name_nor_address(buyer, buyer_client, assembled, identity):
    grant_protected_data(buyer, False)

    page = buyer_client.get(reverse("buyer_candidature", args=[assembled.pk])).content.decode()
    table = buyer_client.get(reverse("consultation_review", args=[assembled.consultation_id])).content.decode()

    for value in identity:
        assert value not in page
        assert value not in table
    assert "entreprise non diffusible" in page and personas.NON_DIFFUSIBLE_SIRET in page
    assert "Identité protégée" in table


def test_a_buyer_without_the_habilitation_cannot_find_the_name_by_searching(buyer, buyer_client, assembled, identity):
    grant_protected_data(buyer, False)
    url = reverse("consultation_review", args=[assembled.consultation_id])
    word = identity[0].split()[0]

    hidden = buyer_client.get(url, {"q": word}).content.decode()
    grant_protected_data(buyer, True)
    shown = buyer_client.get(url, {"q": word}).content.decode()

    assert personas.NON_DIFFUSIBLE_SIRET not in hidden
    assert personas.NON_DIFFUSIBLE_SIRET in shown


def test_a_habilitated_buyer_sees_the_identity(buyer, buyer_client, assembled, identity):
    grant_protected_data(buyer, True)

    page = buyer_client.get(reverse("buyer_candidature", args=[assembled.pk])).content.decode()
    table = buyer_client.get(reverse("consultation_review", args=[assembled.consultation_id])).content.decode()

    assert identity[0] in page and identity[1] in page
    assert identity[0] in table


def test_an_ended_habilitation_hides_the_identity_again(buyer, buyer_client, assembled, identity):
    grant_protected_data(buyer, True)
    buyer.habilitations.update(ends_on=timezone.localdate() - timedelta(days=1))

    page = buyer_client.get(reverse("buyer_candidature", args=[assembled.pk])).content.decode()

    assert identity[0] not in page


def test_the_company_sees_its_own_identity(client, company_user, assembled, identity):
    client.force_login(company_user)

    page = client.get(reverse("candidature", args=[assembled.pk])).content.decode()

    assert identity[0] in page


def test_the_receipt_and_the_zip_of_a_non_habilitated_buyer_hold_no_identity(buyer, buyer_client, assembled, identity):
    grant_protected_data(buyer, False)
    candidature = submit(assembled)
    stored = dossiers.candidature_receipt(candidature=candidature)  # the company's, rendered at submission
    with stored.open("rb") as handle:
        stored_bytes = handle.read()

    receipt = buyer_client.get(reverse("buyer_receipt", args=[candidature.pk]))
    archive = buyer_client.get(reverse("buyer_zip", args=[candidature.pk]))

    receipt_text = pdf_text(b"".join(receipt.streaming_content))
    texts = zip_texts(b"".join(archive.streaming_content))
    assert candidature.siret in receipt_text and "non diffusible" in receipt_text
    assert candidature.frozen_sha256 in receipt_text.replace("\n", "")
    masked_json = next(text for name, text in texts.items() if name.endswith("identite-masquee.json"))
    assert json.loads(masked_json)["dossier"]["company"]["identite_protegee"] is True
    assert any("LISEZMOI" in name for name in texts)
    for value in identity:
        assert value not in receipt_text
        for name, text in texts.items():
            assert value not in text, name
    # The company's own receipt, stored, is untouched by the buyer's masked copies: it shows its name.
    after = Candidature.objects.get(pk=candidature.pk).receipt
    assert after.name == stored.name
    with after.open("rb") as handle:
        assert handle.read() == stored_bytes
    assert identity[0] in pdf_text(stored_bytes)


def test_the_zip_of_a_habilitated_buyer_holds_the_dossier_as_submitted(buyer, buyer_client, assembled, identity):
    grant_protected_data(buyer, True)
    candidature = submit(assembled)

    texts = zip_texts(b"".join(buyer_client.get(reverse("buyer_zip", args=[candidature.pk])).streaming_content))

    dossier = next(text for name, text in texts.items() if name.endswith(f"depose-{candidature.siret}.json"))
    assert json.loads(dossier)["dossier"]["company"]["raison_sociale"] == identity[0]


def test_no_public_page_shows_the_identity(client, assembled, identity):
    page = client.get(reverse("consultation_public", args=[assembled.consultation.reference])).content.decode()

    assert identity[0] not in page


def test_the_identity_reaches_neither_the_logs_nor_the_audit_trail(buyer, buyer_client, assembled, identity, caplog):
    grant_protected_data(buyer, True)
    buyer_client.get(reverse("buyer_candidature", args=[assembled.pk]))

    records = caplog.get_records("setup") + caplog.records  # the fetches ran while `assembled` was set up
    logged = "\n".join(record.getMessage() for record in records)
    excerpts = "\n".join(UpstreamCall.objects.filter(siret=assembled.siret).values_list("response_excerpt", flat=True))
    assert len(records) > 20, "the fetches log their calls: the check below is not vacuous"
    assert UpstreamCall.objects.filter(siret=assembled.siret, http_status=200).exists()
    for value in identity:
        assert value not in logged
        assert value not in excerpts
