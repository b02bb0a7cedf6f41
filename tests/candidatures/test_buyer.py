"""The buyer's pages: consultations, the review table, a dossier and its files; and who may see them."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from candidatures import consultations, dossiers, pieces, services
from candidatures.models import (
    Candidature,
    CompanyIdentity,
    Consultation,
    Document,
    ExclusionFlag,
    SourceFetch,
)
from tests.builders import PDF, add_attachment, add_document, add_flag, finish_fetches, make_user, submit, valid_sirets

pytestmark = pytest.mark.django_db

SIRETS = ["55204944776279", "47846480300319", "35005144700018", "91234567500017"]


# --- Who may see what ----------------------------------------------------------------------------------


@pytest.fixture
def foreign(other_org, start):
    """Another organisation's consultation, candidature, document, attachment and receipt."""
    consultation = services.consultation_get_or_create(organisation=other_org, reference="PARIS-01")
    candidature = start(consultation, SIRETS[1])
    document = add_document(candidature, source="urssaf_attestation_vigilance", kind="attestation_vigilance")
    attachment = add_attachment(candidature, add_flag(candidature))
    submit(candidature)
    return {"consultation": consultation, "candidature": candidature, "document": document, "attachment": attachment}


def buyer_urls(consultation, candidature, document, attachment) -> list[tuple[str, str]]:
    """(method, url) of every buyer page about these objects."""
    c, k = consultation.pk, candidature.pk
    return [
        ("get", reverse("consultation_review", args=[c])),
        ("get", reverse("consultation_edit", args=[c])),
        ("post", reverse("consultation_edit", args=[c])),
        ("post", reverse("consultation_publish", args=[c])),
        ("get", reverse("buyer_candidature", args=[k])),
        ("post", reverse("buyer_refetch", args=[k, "urssaf_attestation_vigilance"])),
        ("get", reverse("buyer_receipt", args=[k])),
        ("get", reverse("buyer_zip", args=[k])),
        ("get", reverse("buyer_document", args=[k, document.pk])),
        ("get", reverse("buyer_contestation_file", args=[k, attachment.pk])),
    ]


def test_another_organisations_objects_are_404(buyer_client, foreign, enqueued):
    enqueued.clear()
    for method, url in buyer_urls(**foreign):
        response = getattr(buyer_client, method)(url)
        assert response.status_code == 404, url
    assert enqueued == []
    assert not Consultation.objects.get(pk=foreign["consultation"].pk).is_published


def test_a_company_user_gets_404_on_every_buyer_page(client, foreign):
    client.force_login(make_user("entreprise"))
    urls = [("get", reverse("buyer_dashboard")), ("get", reverse("consultation_create"))]
    for method, url in urls + buyer_urls(**foreign):
        assert getattr(client, method)(url).status_code == 404, url


def test_anonymous_is_sent_to_the_login_page(client, foreign):
    urls = [("get", reverse("buyer_dashboard")), ("get", reverse("consultation_create"))]
    for method, url in urls + buyer_urls(**foreign):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("account_login")), url


def test_a_document_of_another_candidature_is_404_even_in_the_same_organisation(buyer_client, consultation, start):
    first = start(consultation, SIRETS[0])
    second = start(consultation, SIRETS[1])
    document = add_document(second, source="urssaf_attestation_vigilance", kind="attestation_vigilance")
    attachment = add_attachment(second, add_flag(second))

    assert buyer_client.get(reverse("buyer_document", args=[first.pk, document.pk])).status_code == 404
    assert buyer_client.get(reverse("buyer_contestation_file", args=[first.pk, attachment.pk])).status_code == 404
    response = buyer_client.get(reverse("buyer_document", args=[second.pk, document.pk]))
    assert response.status_code == 200
    response.close()


# --- Consultations -------------------------------------------------------------------------------------


def test_dashboard_lists_only_the_organisations_consultations_with_counts(buyer_client, consultation, foreign, start):
    submit(start(consultation, SIRETS[0]))
    start(consultation, SIRETS[2])

    response = buyer_client.get(reverse("buyer_dashboard"))

    content = response.content.decode()
    assert response.status_code == 200
    assert consultation.reference in content
    assert "PARIS-01" not in content
    assert "1 / 2" in content
    assert "Nouvelle consultation" in content
    assert content.count("<h1") == 1


def test_new_consultation_form_prechecks_the_defaults_of_the_market_type(buyer_client):
    response = buyer_client.get(reverse("consultation_create"), {"market_type": "travaux"})

    form = response.context["form"]
    assert response.status_code == 200
    assert set(form["required_pieces"].value()) == set(pieces.default_pieces(market_type="travaux"))
    content = response.content.decode()
    assert 'value="qualification_qualibat"' in content
    # The always-required pieces are listed, not offered as checkboxes.
    assert "Attestation de vigilance (URSSAF)" in content
    assert 'value="attestation_vigilance"' not in content
    assert 'hx-get="/acheteur/consultations/nouvelle/"' in content


def consultation_post(**overrides):
    day = (timezone.localdate() + timedelta(days=20)).isoformat()
    data = {
        "reference": "MARCHE-2026-07",
        "title": "Entretien des espaces verts",
        "market_type": "services",
        "deadline_date": day,
        "deadline_time": "12:00",
        "lots": "Secteur nord\nSecteur sud\n",
        "required_pieces": ["capacite_economique", "certification_rge"],
    }
    data.update(overrides)
    return data


def test_create_a_consultation(buyer_client, buyer, buyer_user):
    response = buyer_client.post(reverse("consultation_create"), consultation_post())

    consultation = Consultation.objects.get(organisation=buyer, reference="MARCHE-2026-07")
    assert response.status_code == 302
    assert response.url == reverse("consultation_review", args=[consultation.pk])
    assert consultation.required_pieces == ["capacite_economique", "certification_rge"]
    assert [lot.title for lot in consultation.lots.all()] == ["Secteur nord", "Secteur sud"]
    local = timezone.localtime(consultation.deadline)
    assert (local.hour, local.minute, str(local.tzinfo)) == (12, 0, "Europe/Paris")
    assert consultation.created_by == buyer_user
    assert not consultation.is_published


def test_create_errors_name_the_field(buyer_client):
    response = buyer_client.post(
        reverse("consultation_create"), consultation_post(reference="MARCHÉ 2026", deadline_date="2001-01-01")
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert not Consultation.objects.exists()
    assert 'href="#id_reference">Référence</a>' in content
    assert "fr-input-group--error" in content


def test_create_refuses_the_deadline_in_the_past_on_its_field(buyer_client):
    response = buyer_client.post(reverse("consultation_create"), consultation_post(deadline_date="2001-01-01"))

    assert response.status_code == 200
    assert "deadline_date" in response.context["form"].errors
    assert 'href="#id_deadline_date"' in response.content.decode()


def test_edit_a_published_consultation_keeps_its_reference(buyer_client, buyer, buyer_user):
    consultation = consultations.consultation_create(
        organisation=buyer,
        user=buyer_user,
        reference="MARCHE-2026-07",
        title="Titre",
        market_type="services",
        deadline=timezone.now() + timedelta(days=10),
    )
    consultations.consultation_publish(consultation=consultation)

    page = buyer_client.get(reverse("consultation_edit", args=[consultation.pk]))
    response = buyer_client.post(
        reverse("consultation_edit", args=[consultation.pk]),
        consultation_post(reference="CHANGEE", title="Titre corrigé", lots="Unique"),
    )

    assert 'disabled id="id_reference"' in page.content.decode() or "disabled" in str(page.context["form"]["reference"])
    assert response.status_code == 302
    consultation.refresh_from_db()
    assert (consultation.reference, consultation.title) == ("MARCHE-2026-07", "Titre corrigé")
    assert [lot.title for lot in consultation.lots.all()] == ["Unique"]


def test_publish_shows_the_candidate_link(buyer_client, consultation, settings):
    settings.SITE_URL = "https://passe-marche.example.gouv.fr/"

    response = buyer_client.post(reverse("consultation_publish", args=[consultation.pk]), follow=True)

    consultation.refresh_from_db()
    assert consultation.is_published
    content = response.content.decode()
    assert 'value="https://passe-marche.example.gouv.fr/c/MARCHE-2026-01/"' in content
    assert "partagez le lien https://passe-marche.example.gouv.fr/c/MARCHE-2026-01/" in content


def test_publish_conflict_is_a_message_not_an_error(buyer_client, consultation, other_org):
    theirs = services.consultation_get_or_create(organisation=other_org, reference=consultation.reference)
    consultations.consultation_publish(consultation=theirs)

    response = buyer_client.post(reverse("consultation_publish", args=[consultation.pk]), follow=True)

    assert response.status_code == 200
    assert "Une consultation publiée utilise déjà la référence" in response.content.decode()
    consultation.refresh_from_db()
    assert not consultation.is_published


# --- Review table --------------------------------------------------------------------------------------


@pytest.fixture
def reviewed(consultation, start):
    """Four candidatures: fetching; to complete with a warning; submitted with an exclusion; unknown identity."""
    fetching = start(consultation, SIRETS[0])
    CompanyIdentity.objects.create(candidature=fetching, raison_sociale="Bâtiments Durand")

    to_complete = start(consultation, SIRETS[1])
    finish_fetches(to_complete, when=timezone.now() - timedelta(days=2))
    CompanyIdentity.objects.create(candidature=to_complete, raison_sociale="Alpha Couverture")
    add_flag(to_complete, code="etablissement_ferme", severity="warning", source="insee_etablissement")

    submitted = start(consultation, SIRETS[2])
    finish_fetches(submitted)
    CompanyIdentity.objects.create(candidature=submitted, raison_sociale="Zèbre Charpente")
    add_flag(submitted)
    submitted.refresh_from_db()
    submit(submitted)

    unknown = start(consultation, SIRETS[3])
    return {"fetching": fetching, "to_complete": to_complete, "submitted": submitted, "unknown": unknown}


def review(client, consultation, **params):
    response = client.get(reverse("consultation_review", args=[consultation.pk]), params)
    assert response.status_code == 200
    return response


def sirets_of(response) -> list[str]:
    return [row.candidature.siret for row in response.context["rows"]]


def test_review_shows_state_flags_missing_pieces_and_refresh(buyer_client, consultation, reviewed):
    response = review(buyer_client, consultation, tri="siret")

    rows = {row.candidature.siret: row for row in response.context["rows"]}
    assert rows[SIRETS[0]].state_label == "En cours de récupération"
    assert rows[SIRETS[1]].state_label == "À compléter par l'entreprise"
    assert rows[SIRETS[2]].state_label.startswith("Déposée le ")
    assert rows[SIRETS[2]].exclusions == ["Liquidation judiciaire"]
    assert rows[SIRETS[1]].warnings == ["Établissement fermé"]
    assert rows[SIRETS[0]].last_refresh is None
    assert rows[SIRETS[1]].last_refresh is not None
    # All sources answered "ok" without documents: the document pieces are missing.
    assert rows[SIRETS[1]].missing_pieces > 0
    assert rows[SIRETS[0]].pending_pieces > 0
    content = response.content.decode()
    assert "Identité en cours" in content
    assert 'class="fr-badge fr-badge--sm fr-badge--error"' in content
    assert 'class="fr-badge fr-badge--sm fr-badge--warning"' in content
    assert "<caption>" in content and 'scope="row"' in content
    assert content.count("<h1") == 1


def test_review_filters(buyer_client, consultation, reviewed):
    assert sirets_of(review(buyer_client, consultation, etat="recuperation", tri="siret")) == sorted(
        [SIRETS[0], SIRETS[3]]
    )
    assert sirets_of(review(buyer_client, consultation, etat="a_completer")) == [SIRETS[1]]
    assert sirets_of(review(buyer_client, consultation, etat="deposee")) == [SIRETS[2]]
    assert sirets_of(review(buyer_client, consultation, exclusion="1")) == [SIRETS[2]]
    assert sirets_of(review(buyer_client, consultation, attention="1")) == [SIRETS[1]]
    assert sirets_of(review(buyer_client, consultation, q="alpha")) == [SIRETS[1]]
    assert sirets_of(review(buyer_client, consultation, q="478 464")) == [SIRETS[1]]
    # An unknown filter or sort is ignored, not an error: every candidature, in the default order.
    assert sorted(sirets_of(review(buyer_client, consultation, etat="inconnu", tri="nimporte"))) == sorted(
        sirets_of(review(buyer_client, consultation))
    )
    assert len(sirets_of(review(buyer_client, consultation))) == 4


def test_review_sorts(buyer_client, consultation, reviewed):
    assert sirets_of(review(buyer_client, consultation, tri="entreprise")) == [
        SIRETS[1],  # Alpha
        SIRETS[0],  # Bâtiments
        SIRETS[2],  # Zèbre
        SIRETS[3],  # no identity: last
    ]
    assert sirets_of(review(buyer_client, consultation, tri="-siret")) == sorted(SIRETS, reverse=True)
    assert sirets_of(review(buyer_client, consultation, tri="-etat"))[0] == SIRETS[2]
    assert sirets_of(review(buyer_client, consultation, tri="-motifs"))[:2] == [SIRETS[2], SIRETS[1]]
    by_refresh = sirets_of(review(buyer_client, consultation, tri="actualisation"))
    assert by_refresh[:2] == [SIRETS[1], SIRETS[2]]
    content = review(buyer_client, consultation, tri="siret").content.decode()
    assert 'aria-sort="ascending"' in content
    assert "tri=-siret" in content


def test_review_other_consultation_candidatures_are_not_listed(buyer_client, buyer, consultation, reviewed, start):
    other = services.consultation_get_or_create(organisation=buyer, reference="AUTRE-01")
    start(other, valid_sirets(1)[0])

    assert len(review(buyer_client, consultation).context["rows"]) == 4


def populate(consultation, start, count):
    for index, siret in enumerate(valid_sirets(count)):
        candidature = start(consultation, siret)
        CompanyIdentity.objects.create(candidature=candidature, raison_sociale=f"Entreprise {index}")
        if index % 2:
            finish_fetches(candidature)
            add_flag(candidature)
            add_document(candidature, source="urssaf_attestation_vigilance", kind="attestation_vigilance")
        if index % 3 == 0:
            add_flag(candidature, code="etablissement_ferme", severity="warning", source="insee_etablissement")


def count_queries(client, consultation, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        review(client, consultation, **params)
    return len(queries)


def test_review_query_count_does_not_grow_with_the_candidatures(buyer_client, buyer, consultation, start):
    populate(consultation, start, 5)
    other = services.consultation_get_or_create(organisation=buyer, reference="GRANDE-01", market_type="travaux")
    populate(other, start, 60)

    few = count_queries(buyer_client, consultation)
    many = count_queries(buyer_client, other)
    sorted_many = count_queries(buyer_client, other, tri="-actualisation", exclusion="1", q="Entreprise")

    # 12: session, user, membership, consultation, habilitations (protected identity), count, page, 3 prefetches…
    assert few == many == sorted_many == 12


def test_dossier_page_query_count_does_not_grow_with_documents_and_flags(buyer_client, consultation, start):
    def dossier_queries(candidature) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert buyer_client.get(reverse("buyer_candidature", args=[candidature.pk])).status_code == 200
        return len(queries)

    bare = start(consultation, SIRETS[0])
    rich = start(consultation, SIRETS[1])
    for index, kind in enumerate(("attestation_vigilance", "attestation_fiscale", "qualibat", "carte_pro_tp")):
        add_document(rich, source=f"source_{index}", kind=kind, content=PDF + kind.encode())
    add_flag(rich)
    add_flag(rich, code="etablissement_ferme", severity=ExclusionFlag.Severity.WARNING, source="insee_etablissement")

    assert dossier_queries(bare) == dossier_queries(rich)


def test_review_paginates_by_50(buyer_client, consultation, start):
    populate(consultation, start, 55)

    first = review(buyer_client, consultation, tri="siret")
    second = review(buyer_client, consultation, tri="siret", page="2")

    assert len(first.context["rows"]) == 50
    assert len(second.context["rows"]) == 5
    assert not set(sirets_of(first)) & set(sirets_of(second))
    assert "fr-pagination" in first.content.decode()
    assert "tri=siret&amp;page=2" in first.content.decode()


# --- A dossier -----------------------------------------------------------------------------------------


def test_dossier_page_shows_the_header_flags_contestation_and_actions(buyer_client, consultation, start):
    candidature = start(consultation, SIRETS[0])
    finish_fetches(candidature)
    CompanyIdentity.objects.create(candidature=candidature, raison_sociale="Bâtiments Durand")
    document = add_document(candidature, source="urssaf_attestation_vigilance", kind="attestation_vigilance")
    attachment = add_attachment(candidature, add_flag(candidature))
    candidature.refresh_from_db()
    submit(candidature)

    response = buyer_client.get(reverse("buyer_candidature", args=[candidature.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert content.count("<h1") == 1
    assert "Bâtiments Durand" in content and SIRETS[0] in content
    assert candidature.frozen_sha256 in content
    assert "Déposée le " in content
    assert "Liquidation judiciaire" in content and "Jugement infirmé en appel." in content
    assert reverse("buyer_document", args=[candidature.pk, document.pk]) in content
    assert reverse("buyer_contestation_file", args=[candidature.pk, attachment.pk]) in content
    assert reverse("buyer_refetch", args=[candidature.pk, "urssaf_attestation_vigilance"]) in content
    assert reverse("buyer_receipt", args=[candidature.pk]) in content
    assert reverse("buyer_zip", args=[candidature.pk]) in content


def test_dossier_page_of_a_fresh_candidature(buyer_client, consultation, start):
    candidature = start(consultation, SIRETS[0])

    response = buyer_client.get(reverse("buyer_candidature", args=[candidature.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert "Identité en cours" in content
    assert reverse("buyer_receipt", args=[candidature.pk]) not in content


def test_refetch_enqueues_the_source_even_after_submission(
    buyer_client, consultation, start, enqueued, django_capture_on_commit_callbacks
):
    candidature = start(consultation, SIRETS[0])
    finish_fetches(candidature)
    submit(candidature)
    frozen = Candidature.objects.get(pk=candidature.pk).frozen_dossier
    enqueued.clear()
    fetch = candidature.fetches.get(source="urssaf_attestation_vigilance")

    with django_capture_on_commit_callbacks(execute=True):
        response = buyer_client.post(reverse("buyer_refetch", args=[candidature.pk, fetch.source]), follow=True)

    assert enqueued == [fetch.pk]
    assert enqueued.requested_by == [response.wsgi_request.user.email]  # the buyer, in the audit trail
    fetch.refresh_from_db()
    assert fetch.status == SourceFetch.Status.PENDING
    assert response.redirect_chain[-1][0] == reverse("buyer_candidature", args=[candidature.pk]) + "#sources"
    assert "Actualisation demandée" in response.content.decode()
    candidature.refresh_from_db()
    assert candidature.frozen_dossier == frozen and candidature.is_submitted


def test_refetch_of_an_unauthorized_source_is_refused_with_a_message(buyer_client, consultation, start, enqueued):
    candidature = start(consultation, SIRETS[0])
    candidature.fetches.filter(source="bodacc").update(status=SourceFetch.Status.UNAUTHORIZED)
    habilitation = consultation.organisation.habilitations.get()
    habilitation.sources = [key for key in habilitation.sources if key != "bodacc"]
    habilitation.save()
    enqueued.clear()

    response = buyer_client.post(reverse("buyer_refetch", args=[candidature.pk, "bodacc"]), follow=True)

    assert response.status_code == 200
    page = response.content.decode()
    assert "n&#x27;est pas habilitée à recevoir cette donnée" in page  # escaped like any value
    assert enqueued == []
    assert candidature.fetches.get(source="bodacc").status == SourceFetch.Status.UNAUTHORIZED


def test_refetch_of_a_source_habilitated_since_goes_through(
    buyer_client, consultation, start, enqueued, django_capture_on_commit_callbacks
):
    candidature = start(consultation, SIRETS[0])
    fetch = candidature.fetches.get(source="bodacc")
    SourceFetch.objects.filter(pk=fetch.pk).update(status=SourceFetch.Status.UNAUTHORIZED)
    enqueued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        buyer_client.post(reverse("buyer_refetch", args=[candidature.pk, "bodacc"]))

    assert enqueued == [fetch.pk]
    assert candidature.fetches.get(source="bodacc").status == SourceFetch.Status.PENDING


def test_refetch_of_an_unknown_source_is_404_and_get_is_refused(buyer_client, consultation, start):
    candidature = start(consultation, SIRETS[0])

    assert buyer_client.post(reverse("buyer_refetch", args=[candidature.pk, "inconnue"])).status_code == 404
    assert buyer_client.get(reverse("buyer_refetch", args=[candidature.pk, "bodacc"])).status_code == 405


def test_receipt_only_when_submitted_with_a_receipt(buyer_client, consultation, start):
    candidature = start(consultation, SIRETS[0])
    url = reverse("buyer_receipt", args=[candidature.pk])
    assert buyer_client.get(url).status_code == 404

    # Submitted, but the receipt was never stored (rendering failed at submission): rendered from the frozen dossier.
    submit(candidature, receipt=None)
    rendered = buyer_client.get(url)
    assert rendered.status_code == 200 and b"".join(rendered.streaming_content).startswith(b"%PDF")
    candidature.refresh_from_db()
    assert candidature.receipt.name.startswith("receipts/")
    candidature.receipt = ""

    submit(candidature, receipt=b"%PDF-1.4 recepisse\n")
    response = buyer_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == b"%PDF-1.4 recepisse\n"
    assert f"recepisse-{consultation.reference.lower()}-{SIRETS[0]}.pdf" in response["Content-Disposition"]


def test_document_download(buyer_client, consultation, start):
    candidature = start(consultation, SIRETS[0])
    document = add_document(candidature, source="urssaf_attestation_vigilance", kind="attestation_vigilance")

    response = buyer_client.get(reverse("buyer_document", args=[candidature.pk, document.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Cache-Control"] == "private, no-store"
    assert f"attestation_vigilance-{SIRETS[0]}.pdf" in response["Content-Disposition"]


def test_zip_holds_every_file_with_clear_names(buyer_client, consultation, start):
    candidature = start(consultation, SIRETS[0])
    add_document(candidature, source="dgfip_attestation_fiscale", kind="attestation_fiscale", content=b"%PDF fiscale")
    add_document(
        candidature, source="urssaf_attestation_vigilance", kind="attestation_vigilance", content=b"%PDF vigilance"
    )
    add_document(
        candidature,
        source=Document.UPLOAD_SOURCE,
        kind="attestation_probtp",
        content=b"%PDF probtp",
        origin=Document.Origin.UPLOADED,
        name="probtp.pdf",
    )
    add_attachment(candidature, add_flag(candidature), content=b"%PDF appel", name="Arrêt appel.pdf")
    candidature.refresh_from_db()
    submit(candidature, receipt=b"%PDF recepisse")

    response = buyer_client.get(reverse("buyer_zip", args=[candidature.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f"dossier-{SIRETS[0]}-marche-2026-01.zip" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    siret = SIRETS[0]
    assert archive.namelist() == [
        f"00-recepisse-{siret}.pdf",
        f"00-dossier-depose-{siret}.json",
        f"01-attestation_vigilance-{siret}.pdf",
        f"02-attestation_fiscale-{siret}.pdf",
        f"03-depose-attestation_probtp-{siret}.pdf",
        "04-contestation-liquidation_judiciaire-arret-appel.pdf",
    ]
    assert archive.read(f"00-recepisse-{siret}.pdf") == b"%PDF recepisse"
    assert archive.read(f"01-attestation_vigilance-{siret}.pdf") == b"%PDF vigilance"
    assert archive.read(f"02-attestation_fiscale-{siret}.pdf") == b"%PDF fiscale"
    assert archive.read(f"03-depose-attestation_probtp-{siret}.pdf") == b"%PDF probtp"
    assert archive.read("04-contestation-liquidation_judiciaire-arret-appel.pdf") == b"%PDF appel"


def test_zip_frozen_dossier_matches_the_fingerprint(buyer_client, consultation, start):
    """The JSON in the ZIP hashes to the fingerprint stored at submission (non-ASCII values included)."""
    candidature = start(consultation, SIRETS[0])
    dossiers.candidature_declare(
        candidature=candidature, values={"contact_nom": "Hélène Arrêt-Çédille", "contact_email": "h@exemple.fr"}
    )
    dossiers.declaration_sign(candidature=candidature, signatory="Hélène Arrêt-Çédille")
    frozen = dossiers.frozen_dossier_as_dict(candidature=candidature, submitted_at=timezone.now())
    Candidature.objects.filter(pk=candidature.pk).update(
        frozen_dossier=frozen, frozen_sha256=dossiers.dossier_sha256(frozen), submitted_at=timezone.now()
    )
    stored_fingerprint = Candidature.objects.get(pk=candidature.pk).frozen_sha256

    response = buyer_client.get(reverse("buyer_zip", args=[candidature.pk]))

    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    content = archive.read(f"00-dossier-depose-{SIRETS[0]}.json")
    assert "Hélène Arrêt-Çédille" in content.decode()
    assert hashlib.sha256(content).hexdigest() == stored_fingerprint


def test_zip_lists_a_file_missing_from_storage_instead_of_failing(buyer_client, consultation, start):
    candidature = start(consultation, SIRETS[0])
    document = add_document(candidature, source="urssaf_attestation_vigilance", kind="attestation_vigilance")
    document.file.storage.delete(document.file.name)

    response = buyer_client.get(reverse("buyer_zip", args=[candidature.pk]))

    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == ["LISEZMOI-fichiers-manquants.txt"]
    assert f"01-attestation_vigilance-{SIRETS[0]}.pdf" in archive.read("LISEZMOI-fichiers-manquants.txt").decode()


def test_a_document_missing_from_storage_is_a_404_not_a_server_error(buyer_client, consultation, start):
    candidature = start(consultation, SIRETS[0])
    document = add_document(candidature, source="urssaf_attestation_vigilance", kind="attestation_vigilance")
    document.file.storage.delete(document.file.name)

    response = buyer_client.get(reverse("buyer_document", args=[candidature.pk, document.pk]))

    assert response.status_code == 404


def test_create_reports_every_invalid_field_at_once(buyer_client):
    response = buyer_client.post(
        reverse("consultation_create"), consultation_post(reference="MARCHÉ 2026", deadline_date="2001-01-01")
    )

    assert set(response.context["form"].errors) == {"reference", "deadline_date"}


def test_edit_keeps_an_unchanged_past_deadline(buyer_client, consultation):
    past = timezone.now() - timedelta(days=3, seconds=17)
    Consultation.objects.filter(pk=consultation.pk).update(deadline=past)
    local = timezone.localtime(past)

    response = buyer_client.post(
        reverse("consultation_edit", args=[consultation.pk]),
        consultation_post(
            reference=consultation.reference,
            market_type=consultation.market_type,
            deadline_date=local.date().isoformat(),
            deadline_time=local.strftime("%H:%M"),
            title="Titre corrigé",
        ),
    )

    assert response.status_code == 302
    consultation.refresh_from_db()
    assert consultation.title == "Titre corrigé"
    assert consultation.deadline == past


def test_review_says_when_the_identity_will_not_come(buyer_client, consultation, start):
    candidature = start(consultation, SIRETS[0])
    candidature.fetches.filter(source="insee_etablissement").update(status=SourceFetch.Status.NOT_FOUND)

    content = review(buyer_client, consultation).content.decode()

    assert "SIRET inconnu du répertoire SIRENE" in content
    assert "Identité en cours" not in content


def test_a_receipt_that_cannot_be_rendered_is_a_clear_503_and_listed_as_missing_in_the_zip(
    buyer_client, consultation, start, monkeypatch
):
    from candidatures import receipt

    candidature = submit(start(consultation, SIRETS[0]), receipt=None)
    monkeypatch.setattr(receipt, "receipt_pdf", lambda **kwargs: (_ for _ in ()).throw(OSError("pango")))

    download = buyer_client.get(reverse("buyer_receipt", args=[candidature.pk]))
    response = buyer_client.get(reverse("buyer_zip", args=[candidature.pk]))

    assert download.status_code == 503
    assert "réessayez dans quelques minutes" in download.content.decode()
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert f"00-dossier-depose-{SIRETS[0]}.json" in archive.namelist()
    assert f"00-recepisse-{SIRETS[0]}.pdf" in archive.read("LISEZMOI-fichiers-manquants.txt").decode()


def test_every_link_of_the_error_summary_targets_an_element_of_the_page(buyer_client):
    response = buyer_client.post(reverse("consultation_create"), {"reference": "", "title": ""})

    content = response.content.decode()
    anchors = [anchor for anchor, _label, _message in response.context["form"].error_summary() if anchor]
    assert "id_market_type_0" in anchors
    for anchor in anchors:
        assert f'href="#{anchor}"' in content and f'id="{anchor}"' in content, anchor


def test_the_filter_form_shows_what_the_table_applied(buyer_client, consultation, reviewed):
    response = buyer_client.get(
        reverse("consultation_review", args=[consultation.pk]),
        {"etat": "inconnu", "q": "x" * 120, "exclusion": "oui", "attention": "1"},
    )
    form = response.context["filter_form"]

    assert not form.is_bound and not form.errors  # an ignored value is not reported as an error
    assert form.initial == {"q": "x" * 100, "etat": "", "exclusion": False, "attention": True}
    page = response.content.decode()
    assert "Sélectionnez un choix valide" not in page
