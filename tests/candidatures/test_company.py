"""The company's journey through the views: real HTTP to the sandbox, fetch tasks run in the test process."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from candidatures import dossiers, pieces, services
from candidatures.models import Candidature, Consultation, ExclusionFlag, Lot, OrganisationMember
from candidatures.tasks import fetch_source
from connectors.sandbox import personas

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def published(consultation):
    consultation.published_at = timezone.now()
    consultation.deadline = timezone.now() + timedelta(days=10)
    consultation.save()
    Lot.objects.create(consultation=consultation, number=1, title="Gros œuvre")
    Lot.objects.create(consultation=consultation, number=2, title="Menuiseries")
    return consultation


def make_user(email: str):
    return get_user_model().objects.create_user(username=email, email=email, password="x-secret-123")


@pytest.fixture
def company(client):
    user = make_user("dirigeante@entreprise.test")
    client.force_login(user)
    return user


def open_candidature(client, consultation, siret, enqueued, capture) -> Candidature:
    with capture(execute=True):
        response = client.post(reverse("consultation_public", args=[consultation.reference]), {"siret": siret})
    assert response.status_code == 302, response.content.decode()[:2000]
    candidature = Candidature.objects.get(consultation=consultation, siret=siret)
    assert response.url == reverse("candidature", args=[candidature.pk])
    return candidature


def run_fetches(enqueued: list[int]) -> None:
    while enqueued:
        fetch_source.apply(args=[enqueued.pop(0)])


@pytest.fixture
def assembled(client, published, company, upstream, enqueued, django_capture_on_commit_callbacks):
    candidature = open_candidature(client, published, personas.DEMO_SIRET, enqueued, django_capture_on_commit_callbacks)
    run_fetches(enqueued)
    candidature.refresh_from_db()
    assert candidature.status == Candidature.Status.COMPLETE
    return candidature


def test_the_public_page_shows_the_consultation_to_anyone(client, published):
    response = client.get(reverse("consultation_public", args=[published.reference]))

    content = response.content.decode()
    assert response.status_code == 200
    assert published.title in content and "DINUM" in content and "Menuiseries" in content
    assert "Attestation de vigilance (URSSAF)" in content  # the pieces asked


def test_an_unpublished_consultation_has_no_public_page(client, consultation):
    assert client.get(reverse("consultation_public", args=[consultation.reference])).status_code == 404


def test_applying_needs_an_account(client, published):
    response = client.post(reverse("consultation_public", args=[published.reference]), {"siret": personas.DEMO_SIRET})

    assert response.status_code == 302 and reverse("account_login") in response.url
    assert not Candidature.objects.exists()


@pytest.mark.parametrize(
    ("siret", "message"),
    [
        ("1234", "Le SIRET doit comporter 14 chiffres (4 saisis)."),
        ("55204944776278", "sa clé de contrôle est incorrecte"),
        ("5520494477627A", "ne doit contenir que des chiffres"),
    ],
)
def test_an_invalid_siret_gets_a_french_message_and_no_candidature(client, published, company, siret, message):
    response = client.post(reverse("consultation_public", args=[published.reference]), {"siret": siret})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Candidature.objects.exists()


def test_coming_back_resumes_the_same_candidature(
    client, published, company, enqueued, django_capture_on_commit_callbacks
):
    first = open_candidature(client, published, personas.DEMO_SIRET, enqueued, django_capture_on_commit_callbacks)
    enqueued.clear()
    second = open_candidature(client, published, personas.DEMO_SIRET, enqueued, django_capture_on_commit_callbacks)

    assert first.pk == second.pk and enqueued == []


def test_another_account_cannot_take_a_siret_already_applying(
    client, published, company, enqueued, django_capture_on_commit_callbacks
):
    open_candidature(client, published, personas.DEMO_SIRET, enqueued, django_capture_on_commit_callbacks)
    client.force_login(make_user("autre@entreprise.test"))

    response = client.post(reverse("consultation_public", args=[published.reference]), {"siret": personas.DEMO_SIRET})

    assert response.status_code == 200
    assert "ouverte par un autre compte" in response.content.decode()


def test_a_candidature_created_by_the_platform_is_claimed_by_the_first_company_account(client, published, company):
    candidature, _ = services.candidature_start(consultation=published, siret=personas.DEMO_SIRET)

    response = client.post(reverse("consultation_public", args=[published.reference]), {"siret": personas.DEMO_SIRET})

    assert response.status_code == 302
    candidature.refresh_from_db()
    assert candidature.owner == company


def test_progress_polls_while_sources_answer_and_never_reloads_under_the_user(
    client, published, company, upstream, enqueued, django_capture_on_commit_callbacks
):
    candidature = open_candidature(client, published, personas.DEMO_SIRET, enqueued, django_capture_on_commit_callbacks)
    url = reverse("candidature_progress", args=[candidature.pk])
    htmx = {"HX-Request": "true"}

    pending = client.get(url, {"done": "0", "identity": "pending"}, headers=htmx).content.decode()
    assert 'hx-trigger="every 2s"' in pending
    total = candidature.fetches.count()
    assert "0 source(s) sur" not in pending  # nothing answered since the page was drawn: the live region is left alone
    assert 'id="dossier"' not in pending
    page = client.get(reverse("candidature", args=[candidature.pk])).content.decode()
    assert '<meta http-equiv="refresh"' in page  # without JavaScript, the page refreshes itself

    run_fetches(enqueued)

    # The identity arrived since the page was drawn (no form on it yet): reload once.
    assert client.get(url, {"done": "0", "identity": "pending"}, headers=htmx)["HX-Refresh"] == "true"
    # Drawn with the identity known: the dossier section is swapped out of band, the page is not reloaded.
    later = client.get(url, {"done": "3", "identity": "known"}, headers=htmx)
    assert "HX-Refresh" not in later
    assert 'id="dossier" hx-swap-oob="true"' in later.content.decode()
    assert "hx-trigger" not in later.content.decode()  # every source answered: polling stops
    assert f"Toutes les sources ont répondu ({total} sur {total})" in later.content.decode()
    unchanged = client.get(url, {"done": str(total), "identity": "known"}, headers=htmx).content.decode()
    assert "hx-swap-oob" not in unchanged


def test_the_prefilled_dossier_shows_each_value_with_its_source(client, assembled):
    content = client.get(reverse("candidature", args=[assembled.pk])).content.decode()

    today = timezone.localdate().strftime("%d/%m/%Y")
    assert f"Récupéré automatiquement — INSEE, le {today}" in content
    assert assembled.company.raison_sociale in content
    # Pieces without a source yet for travaux (Qualibat, FNTP…) can be uploaded by hand.
    assert reverse("piece_upload", args=[assembled.pk, "carte_pro_tp"]) in content


def test_a_value_from_the_state_cannot_be_changed_by_the_company(client, assembled):
    original = assembled.company.raison_sociale
    url = reverse("candidature_declare", args=[assembled.pk])

    form_page = client.get(reverse("candidature", args=[assembled.pk])).content.decode()
    response = client.post(url, {"contact_email": "contact@entreprise.test", "raison_sociale": "Autre nom SA"})

    assert 'name="raison_sociale"' not in form_page
    assert response.status_code == 302
    assembled.refresh_from_db()
    assert assembled.company.raison_sociale == original
    assert "raison_sociale" not in assembled.declared
    assert "contact_email" not in assembled.declared  # refused as a whole, nothing half-saved
    with pytest.raises(dossiers.StateValueLocked):
        dossiers.candidature_declare(candidature=assembled, values={"raison_sociale": "Autre nom SA"})


def test_the_company_declares_its_contact_and_lots(client, assembled):
    response = client.post(
        reverse("candidature_declare", args=[assembled.pk]),
        {"contact_nom": "Ada Martin", "contact_email": "ada@entreprise.test", "lots": ["2"]},
    )

    assert response.status_code == 302
    assembled.refresh_from_db()
    assert assembled.declared == {"contact_nom": "Ada Martin", "contact_email": "ada@entreprise.test", "lots": [2]}


def test_a_declared_value_shows_its_badge_when_the_state_gave_none(assembled):
    from candidatures.dossier_view import candidature_for_view, dossier_view

    assembled.company.provenance.pop("adresse")
    assembled.company.adresse = ""
    assembled.company.save()
    dossiers.candidature_declare(candidature=assembled, values={"adresse": "1 rue de la Paix, Paris"})

    view = dossier_view(candidature=candidature_for_view(pk=assembled.pk))

    row = next(row for row in view.values if row.name == "adresse")
    assert (row.value, row.origin) == ("1 rue de la Paix, Paris", "declared")


def test_a_missing_piece_is_uploaded_checked_by_its_content(client, assembled):
    url = reverse("piece_upload", args=[assembled.pk, "carte_pro_tp"])

    fake = client.post(url, {"file": SimpleUploadedFile("carte.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})
    assert fake.status_code == 302
    assert not assembled.documents.filter(kind="carte_pro_tp").exists()
    messages = [str(m) for m in fake.wsgi_request._messages]
    assert any("ni un PDF, ni une image" in m for m in messages)

    client.post(url, {"file": SimpleUploadedFile("../../etc/carte pro.pdf", PDF, "application/octet-stream")})

    document = assembled.documents.get(kind="carte_pro_tp")
    assert (document.origin, document.content_type, document.original_name) == (
        "uploaded",
        "application/pdf",
        "carte_pro.pdf",
    )
    assert document.file.name.startswith("uploads/") and ".." not in document.file.name
    download = client.get(reverse("candidature_document", args=[assembled.pk, document.pk]))
    assert b"".join(download.streaming_content) == PDF


def test_an_oversized_upload_is_refused(client, assembled, settings):
    settings.UPLOAD_MAX_BYTES = 1024

    response = client.post(
        reverse("piece_upload", args=[assembled.pk, "carte_pro_tp"]),
        {"file": SimpleUploadedFile("big.pdf", PDF + b"0" * 2048, "application/pdf")},
        follow=True,
    )

    assert "dépasse la taille autorisée (1\N{NO-BREAK SPACE}Ko)" in html.unescape(response.content.decode())
    assert not assembled.documents.filter(kind="carte_pro_tp").exists()


def test_a_piece_not_asked_cannot_be_uploaded(client, assembled):
    client.post(
        reverse("piece_upload", args=[assembled.pk, "certification_qualiopi"]),
        {"file": SimpleUploadedFile("q.pdf", PDF, "application/pdf")},
    )

    assert not assembled.documents.filter(kind="certification_qualiopi").exists()


def test_a_failed_source_can_be_fetched_again(client, assembled, enqueued, django_capture_on_commit_callbacks):
    fetch = assembled.fetches.get(source="urssaf_attestation_vigilance")
    fetch.status = "error"
    fetch.save()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("candidature_refetch", args=[assembled.pk, "urssaf_attestation_vigilance"]))

    fetch.refresh_from_db()
    assert fetch.status == "pending" and enqueued == [fetch.pk]
    run_fetches(enqueued)
    fetch.refresh_from_db()
    assert fetch.status == "ok"


def liquidation_candidature(client, published, enqueued, capture) -> Candidature:
    candidature = open_candidature(client, published, personas.LIQUIDATION_SIRET, enqueued, capture)
    run_fetches(enqueued)
    return candidature


def test_a_flag_is_shown_with_its_evidence_and_can_be_contested(
    client, published, company, upstream, enqueued, django_capture_on_commit_callbacks
):
    candidature = liquidation_candidature(client, published, enqueued, django_capture_on_commit_callbacks)
    flag = candidature.exclusion_flags.get(code="liquidation_judiciaire")

    page = client.get(reverse("candidature_exclusions", args=[candidature.pk])).content.decode()
    assert "Liquidation judiciaire" in page and "L2141-3 1°" in page
    assert flag.evidence["tribunal"] in page
    assert "Voir l’annonce au BODACC" in page

    client.post(
        reverse("flag_contest", args=[candidature.pk, flag.pk]),
        {"text": "Jugement infirmé par la cour d'appel.", "files": [SimpleUploadedFile("arret.pdf", PDF)]},
    )

    contestation = candidature.contestations.get()
    assert (contestation.flag_code, contestation.text) == (
        "liquidation_judiciaire",
        "Jugement infirmé par la cour d'appel.",
    )
    assert contestation.attachments.get().original_name == "arret.pdf"
    assert "Jugement infirmé" in client.get(reverse("candidature_exclusions", args=[candidature.pk])).content.decode()


def test_a_contestation_survives_a_refresh_of_its_source(
    client, published, company, upstream, enqueued, django_capture_on_commit_callbacks
):
    candidature = liquidation_candidature(client, published, enqueued, django_capture_on_commit_callbacks)
    flag = candidature.exclusion_flags.get(code="liquidation_judiciaire")
    dossiers.contestation_save(candidature=candidature, flag=flag, text="Appel en cours.", files=[], user=company)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("candidature_refetch", args=[candidature.pk, "bodacc"]))
    run_fetches(enqueued)

    assert candidature.exclusion_flags.get(code="liquidation_judiciaire").pk == flag.pk
    assert candidature.contestations.get().text == "Appel en cours."


def sign_and_declare(client, candidature) -> None:
    client.post(
        reverse("candidature_declare", args=[candidature.pk]),
        {"contact_email": "ada@entreprise.test", "lots": ["1"]},
    )
    client.post(
        reverse("candidature_exclusions", args=[candidature.pk]), {"accept": "on", "signatory": "Ada Martin, gérante"}
    )


def test_submission_is_refused_until_the_declaration_is_signed(client, assembled):
    response = client.post(reverse("candidature_submit", args=[assembled.pk]))

    assert response.status_code == 200
    page = html.unescape(response.content.decode()).replace("'", "’")
    assert "Signez la déclaration sur l’honneur." in page
    assembled.refresh_from_db()
    assert not assembled.is_submitted


def test_submission_freezes_the_dossier_and_gives_a_receipt(client, assembled):
    sign_and_declare(client, assembled)

    response = client.post(reverse("candidature_submit", args=[assembled.pk]))

    assert response.status_code == 302
    assembled.refresh_from_db()
    assert assembled.is_submitted
    assert assembled.frozen_sha256 == dossiers.dossier_sha256(assembled.frozen_dossier)
    assert {d["sha256"] for d in assembled.frozen_dossier["dossier"]["documents"]} == set(
        assembled.documents.values_list("sha256", flat=True)
    )
    receipt = client.get(reverse("candidature_receipt", args=[assembled.pk]))
    assert receipt.status_code == 200 and b"".join(receipt.streaming_content).startswith(b"%PDF")
    summary = client.get(reverse("candidature_submit", args=[assembled.pk])).content.decode()
    assert assembled.frozen_sha256 in summary

    # Frozen: nothing changes any more, whatever is posted.
    client.post(reverse("candidature_declare", args=[assembled.pk]), {"contact_email": "autre@entreprise.test"})
    client.post(
        reverse("piece_upload", args=[assembled.pk, "carte_pro_tp"]),
        {"file": SimpleUploadedFile("c.pdf", PDF, "application/pdf")},
    )
    client.post(reverse("candidature_refetch", args=[assembled.pk, "urssaf_attestation_vigilance"]))
    assembled.refresh_from_db()
    assert assembled.declared["contact_email"] == "ada@entreprise.test"
    assert not assembled.documents.filter(kind="carte_pro_tp").exists()
    assert assembled.fetches.get(source="urssaf_attestation_vigilance").status == "ok"
    with pytest.raises(dossiers.DossierError):
        dossiers.candidature_submit(candidature=assembled, user=assembled.owner)


def test_no_submission_after_the_deadline(client, assembled):
    sign_and_declare(client, assembled)
    Consultation.objects.filter(pk=assembled.consultation_id).update(deadline=timezone.now() - timedelta(minutes=1))

    response = client.post(reverse("candidature_submit", args=[assembled.pk]))

    assert "La date limite de remise des candidatures est dépassée." in response.content.decode()
    assembled.refresh_from_db()
    assert not assembled.is_submitted


@pytest.mark.parametrize(
    ("siret", "alert", "blocker"),
    [
        (personas.UNKNOWN_SIRET, "SIRET inconnu", "inconnu du répertoire SIRENE"),
        (personas.CLOSED_SIRET, "Établissement fermé", "Cet établissement est fermé"),
    ],
)
def test_an_unknown_or_closed_establishment_is_explained_and_cannot_be_submitted(
    client, published, company, upstream, enqueued, django_capture_on_commit_callbacks, siret, alert, blocker
):
    candidature = open_candidature(client, published, siret, enqueued, django_capture_on_commit_callbacks)
    run_fetches(enqueued)

    page = client.get(reverse("candidature", args=[candidature.pk])).content.decode()

    assert alert in page
    assert any(blocker in reason for reason in dossiers.submission_blockers(candidature=candidature))


def test_the_dashboard_lists_only_the_company_own_candidatures(client, assembled, published):
    other, _ = services.candidature_start(consultation=published, siret=personas.URSSAF_REFUSED_SIRET)

    content = client.get(reverse("company_dashboard")).content.decode()

    assert reverse("candidature", args=[assembled.pk]) in content
    assert reverse("candidature", args=[other.pk]) not in content


def test_another_company_sees_nothing_of_a_candidature(client, assembled):
    document = assembled.documents.first()
    flag_url = reverse("candidature_exclusions", args=[assembled.pk])
    client.force_login(make_user("intrus@ailleurs.test"))

    urls = [
        reverse("candidature", args=[assembled.pk]),
        reverse("candidature_progress", args=[assembled.pk]),
        flag_url,
        reverse("candidature_submit", args=[assembled.pk]),
        reverse("candidature_receipt", args=[assembled.pk]),
        reverse("candidature_document", args=[assembled.pk, document.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 404, url
        assert assembled.siret not in response.content.decode()
    posts = [
        reverse("candidature_declare", args=[assembled.pk]),
        reverse("candidature_refetch", args=[assembled.pk, "bodacc"]),
        reverse("piece_upload", args=[assembled.pk, "carte_pro_tp"]),
    ]
    for url in posts:
        assert client.post(url, {"contact_email": "x@y.test"}).status_code == 404, url


def test_a_buyer_account_cannot_apply(client, published, buyer):
    user = make_user("agent@ville.test")
    OrganisationMember.objects.create(user=user, organisation=buyer)
    client.force_login(user)

    response = client.post(reverse("consultation_public", args=[published.reference]), {"siret": personas.DEMO_SIRET})

    assert response.status_code == 200
    assert not Candidature.objects.exists()


def test_pieces_by_market_type_decide_the_sources():
    travaux = pieces.sources_for(keys=pieces.default_pieces(market_type="travaux"))
    no_capacity = pieces.sources_for(keys=[])

    assert "dgfip_chiffres_affaires" in travaux
    assert "dgfip_chiffres_affaires" not in no_capacity
    assert {"insee_etablissement", "bodacc", "urssaf_attestation_vigilance", "dgfip_attestation_fiscale"} <= set(
        no_capacity
    )


def test_a_flag_the_source_no_longer_raises_is_dropped(candidature):
    flag = ExclusionFlag.objects.create(
        candidature=candidature, code="urssaf_refus", severity="exclusion", ground="L2141-2", source="x", evidence={}
    )
    services._exclusion_flags_refresh(candidature=candidature, source="x", flags=[])

    assert not ExclusionFlag.objects.filter(pk=flag.pk).exists()


def test_applying_after_the_deadline_is_refused_and_creates_nothing(
    client, published, company, enqueued, django_capture_on_commit_callbacks
):
    Consultation.objects.filter(pk=published.pk).update(deadline=timezone.now() - timedelta(minutes=1))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("consultation_public", args=[published.reference]), {"siret": personas.DEMO_SIRET}
        )

    assert "La date limite est dépassée : aucune candidature n’est plus acceptée." in html.unescape(
        response.content.decode()
    )
    assert not Candidature.objects.filter(consultation=published).exists()
    assert enqueued == []


def test_a_receipt_that_fails_to_render_loses_nothing(client, assembled, monkeypatch):
    from candidatures import receipt

    sign_and_declare(client, assembled)
    with monkeypatch.context() as patched:
        patched.setattr(receipt, "receipt_pdf", lambda **kwargs: (_ for _ in ()).throw(OSError("pango")))
        response = client.post(reverse("candidature_submit", args=[assembled.pk]))

    assert response.status_code == 302
    assembled.refresh_from_db()
    assert assembled.is_submitted and not assembled.receipt
    download = client.get(reverse("candidature_receipt", args=[assembled.pk]))
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    assembled.refresh_from_db()
    assert assembled.receipt.name == f"receipts/{assembled.frozen_sha256[:2]}/{assembled.frozen_sha256}.pdf"


# --- Review findings: refused contestation, live progress, upload forms, header, upload limits, failure branches ---


def test_a_contestation_whose_file_is_refused_keeps_its_text_and_names_the_file(
    client, published, company, upstream, enqueued, django_capture_on_commit_callbacks
):
    candidature = liquidation_candidature(client, published, enqueued, django_capture_on_commit_callbacks)
    flag = candidature.exclusion_flags.get(code="liquidation_judiciaire")
    text = ("Le jugement a été infirmé par la cour d’appel de Paris, arrêt du 3 mars 2026. " * 6)[:460]

    response = client.post(
        reverse("flag_contest", args=[candidature.pk, flag.pk]),
        {"text": text, "files": [SimpleUploadedFile("notes.txt", b"ceci n'est pas un PDF", "application/pdf")]},
    )

    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    textarea = re.search(rf'<textarea[^>]*id="contest-text-{flag.pk}"[^>]*>(.*?)</textarea>', page, re.S)
    assert textarea and textarea.group(1) == text
    error = re.search(
        rf'<div class="fr-messages-group" id="contest-files-{flag.pk}-messages"[^>]*>(.*?)</div>', page, re.S
    )
    assert error and "« notes.txt »" in error.group(1) and "ni un PDF, ni une image" in error.group(1)
    assert "fr-message--error" in error.group(1)
    assert re.search(
        rf'<input[^>]*id="contest-files-{flag.pk}"[^>]*aria-describedby="contest-files-{flag.pk}-messages"', page
    )
    assert "fr-upload-group--error" in page
    assert not candidature.contestations.exists()


def test_a_contestation_with_one_bad_file_among_several_names_that_one_and_stores_nothing(
    client, published, company, upstream, enqueued, django_capture_on_commit_callbacks
):
    candidature = liquidation_candidature(client, published, enqueued, django_capture_on_commit_callbacks)
    flag = candidature.exclusion_flags.get(code="liquidation_judiciaire")

    response = client.post(
        reverse("flag_contest", args=[candidature.pk, flag.pk]),
        {
            "text": "Plan de redressement adopté.",
            "files": [SimpleUploadedFile("arret.pdf", PDF), SimpleUploadedFile("photo.gif", b"GIF89a....")],
        },
    )

    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "« photo.gif »" in page and "« arret.pdf »" not in page
    assert not candidature.contestations.exists()


def test_a_contestation_without_text_is_refused_at_its_field(
    client, published, company, upstream, enqueued, django_capture_on_commit_callbacks
):
    candidature = liquidation_candidature(client, published, enqueued, django_capture_on_commit_callbacks)
    flag = candidature.exclusion_flags.get(code="liquidation_judiciaire")

    response = client.post(reverse("flag_contest", args=[candidature.pk, flag.pk]), {"text": "   "})

    assert response.status_code == 400
    page = response.content.decode()
    assert "fr-input-group--error" in page
    assert re.search(rf'<textarea[^>]*aria-describedby="contest-text-{flag.pk}-messages"', page)
    assert f'id="contest-text-{flag.pk}-messages"' in page
    assert not candidature.contestations.exists()


def test_progress_keeps_one_live_region_and_updates_only_its_text_when_the_count_changes(
    client, published, company, upstream, enqueued, django_capture_on_commit_callbacks
):
    candidature = open_candidature(client, published, personas.DEMO_SIRET, enqueued, django_capture_on_commit_callbacks)
    total = candidature.fetches.count()
    url = reverse("candidature_progress", args=[candidature.pk])
    htmx = {"HX-Request": "true"}

    page = client.get(reverse("candidature", args=[candidature.pk])).content.decode()
    live = '<p id="progression-resume" role="status" aria-live="polite">'
    assert page.count('id="progression-resume"') == 1 and live in page
    assert page.index(live) < page.index('<div id="progression"')  # outside the element the polling replaces
    assert f"0 source(s) sur {total} ont répondu" in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page

    unchanged = client.get(url, {"done": "0", "identity": "pending"}, headers=htmx).content.decode()
    assert 'hx-get="' in unchanged and "progression-resume" not in unchanged.replace(
        'aria-labelledby="progression-resume"', ""
    )
    assert 'role="status"' not in unchanged and "aria-live" not in unchanged

    run_fetches(enqueued)
    changed = client.get(url, {"done": "3", "identity": "known"}, headers=htmx).content.decode()
    oob = re.search(r'<p id="progression-resume" hx-swap-oob="innerHTML">(.*?)</p>', changed, re.S)
    assert oob and f"Toutes les sources ont répondu ({total} sur {total})." in oob.group(1)
    assert 'role="status"' not in changed  # the region itself is never sent again: only its text

    finished = client.get(reverse("candidature", args=[candidature.pk])).content.decode()
    assert live in finished and "Toutes les sources ont répondu" in finished


def test_upload_forms_survive_the_out_of_band_refresh_of_the_dossier(client, assembled):
    form = 'id="upload-form-carte_pro_tp" hx-preserve="true"'
    page = client.get(reverse("candidature", args=[assembled.pk])).content.decode()
    fragment = client.get(
        reverse("candidature_progress", args=[assembled.pk]),
        {"done": "3", "identity": "known"},
        headers={"HX-Request": "true"},
    ).content.decode()

    assert form in page
    assert 'id="dossier" hx-swap-oob="true"' in fragment and form in fragment
    assert page.count('hx-preserve="true"') == len(re.findall(r'id="upload-form-[a-z_]+"', page)) > 0


def test_the_header_names_the_identity_while_it_is_pending(
    client, published, company, enqueued, django_capture_on_commit_callbacks
):
    candidature = open_candidature(client, published, personas.DEMO_SIRET, enqueued, django_capture_on_commit_callbacks)

    page = client.get(reverse("candidature", args=[candidature.pk])).content.decode()

    assert "<strong></strong>" not in page
    assert "Candidature de <em>Identité en cours</em>" in page


def test_the_header_names_the_company_once_known(client, assembled):
    page = client.get(reverse("candidature_exclusions", args=[assembled.pk])).content.decode()

    assert f"Candidature de <strong>{assembled.company.raison_sociale}</strong>" in page


def test_upload_help_texts_follow_the_configured_limit(
    client, published, company, upstream, enqueued, django_capture_on_commit_callbacks, settings
):
    from candidatures.forms import ContestationForm, PieceUploadForm, upload_help_text

    settings.UPLOAD_MAX_BYTES = 5 * 1024 * 1024
    candidature = liquidation_candidature(client, published, enqueued, django_capture_on_commit_callbacks)

    assert upload_help_text() == "PDF, JPEG ou PNG ; 5\N{NO-BREAK SPACE}Mo au plus."
    assert PieceUploadForm().fields["file"].help_text == upload_help_text()
    assert (
        ContestationForm().fields["files"].help_text == "PDF, JPEG ou PNG ; 5\N{NO-BREAK SPACE}Mo au plus par fichier."
    )
    dossier_page = client.get(reverse("candidature", args=[candidature.pk]))
    assert upload_help_text() in dossier_page.content.decode() and "10 Mo" not in dossier_page.content.decode()
    assert "upload_form" not in dossier_page.context  # the hand-written inputs do not need an unused form
    exclusions = client.get(reverse("candidature_exclusions", args=[candidature.pk])).content.decode()
    assert "5\N{NO-BREAK SPACE}Mo au plus par fichier." in exclusions and "10 Mo" not in exclusions


def test_the_contestation_inputs_take_their_limits_from_the_form(
    client, published, company, upstream, enqueued, django_capture_on_commit_callbacks, monkeypatch
):
    from candidatures.forms import ContestationForm

    candidature = liquidation_candidature(client, published, enqueued, django_capture_on_commit_callbacks)
    monkeypatch.setattr(ContestationForm.base_fields["text"], "max_length", 1234)
    monkeypatch.setitem(ContestationForm.base_fields["files"].widget.attrs, "accept", "application/pdf")

    page = client.get(reverse("candidature_exclusions", args=[candidature.pk])).content.decode()

    assert 'maxlength="1234"' in page and 'maxlength="5000"' not in page
    assert 'name="files" accept="application/pdf"' in page


def test_upload_sizes_read_as_the_french_write_them():
    from candidatures.storage import upload_size_label

    assert upload_size_label(10 * 1024 * 1024) == "10\N{NO-BREAK SPACE}Mo"
    assert upload_size_label(3 * 512 * 1024) == "1,5\N{NO-BREAK SPACE}Mo"
    assert upload_size_label(512 * 1024) == "512\N{NO-BREAK SPACE}Ko"


def test_an_invalid_declaration_is_shown_again_with_status_400(client, assembled):
    response = client.post(reverse("candidature_declare", args=[assembled.pk]), {"contact_email": "pas-une-adresse"})

    assert response.status_code == 400
    assert "Le formulaire contient des erreurs" in response.content.decode()
    assembled.refresh_from_db()
    assert "contact_email" not in assembled.declared


def test_uploading_an_unknown_piece_is_a_404(client, assembled):
    response = client.post(
        reverse("piece_upload", args=[assembled.pk, "piece_inconnue"]),
        {"file": SimpleUploadedFile("c.pdf", PDF, "application/pdf")},
    )

    assert response.status_code == 404
    assert not assembled.documents.filter(origin="uploaded").exists()


def test_an_upload_without_a_file_asks_for_one(client, assembled):
    response = client.post(reverse("piece_upload", args=[assembled.pk, "carte_pro_tp"]), {})

    assert response.status_code == 302
    assert response.url == reverse("candidature", args=[assembled.pk]) + "#piece-carte_pro_tp"
    assert "Choisissez un fichier à déposer." in [str(m) for m in response.wsgi_request._messages]
    assert not assembled.documents.filter(kind="carte_pro_tp").exists()


@pytest.fixture
def buyer_user(client, buyer):
    user = make_user("agent@ville.test")
    OrganisationMember.objects.create(user=user, organisation=buyer)
    client.force_login(user)
    return user


def test_a_buyer_is_sent_from_the_company_dashboard_to_its_own(client, buyer_user):
    response = client.get(reverse("company_dashboard"))

    assert response.status_code == 302 and response.url == reverse("buyer_dashboard")


def test_the_common_dashboard_sends_a_buyer_to_its_consultations(client, buyer_user):
    response = client.get(reverse("dashboard"))

    assert response.status_code == 302 and response.url == reverse("buyer_dashboard")


def test_the_common_dashboard_sends_a_company_to_its_candidatures(client, company):
    response = client.get(reverse("dashboard"))

    assert response.status_code == 302 and response.url == reverse("company_dashboard")
