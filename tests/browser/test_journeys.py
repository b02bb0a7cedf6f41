"""The company's and the buyer's journeys in a real headless Chromium: live server, Celery worker, sandbox.

Each main page is checked with axe-core (no serious or critical violation) and saved in docs/screenshots/.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone
from pypdf import PdfReader

from candidatures import services
from candidatures.models import Candidature, Consultation, Lot, OrganisationMember
from connectors.sandbox import personas

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PASSWORD = "Navigateur-2026!"
BUYER_SIRET = "13002526500013"


def make_user(email: str):
    user = get_user_model().objects.create_user(username=email, email=email, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def make_buyer(email: str):
    user = make_user(email)
    organisation, _ = services.organisation_get_or_create(siret=BUYER_SIRET, name="Direction interministérielle")
    OrganisationMember.objects.create(user=user, organisation=organisation)
    return user


def published_consultation(reference: str) -> Consultation:
    organisation, _ = services.organisation_get_or_create(siret=BUYER_SIRET, name="Direction interministérielle")
    consultation = services.consultation_get_or_create(
        organisation=organisation, reference=reference, title="Rénovation de l'école Jules-Ferry", market_type="travaux"
    )
    consultation.published_at = timezone.now()
    consultation.deadline = timezone.now() + timedelta(days=20)
    consultation.save()
    Lot.objects.create(consultation=consultation, number=1, title="Gros œuvre")
    Lot.objects.create(consultation=consultation, number=2, title="Menuiseries")
    return consultation


def sign_in(page, base: str, email: str, *, audit=None) -> None:
    """Through allauth's real form (email and password)."""
    page.goto(f"{base}/comptes/login/")
    if audit is not None:
        audit.check(page, "connexion")
    form = page.locator("form:has(input[name=password])")
    form.locator("input[name=login]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").first.click()
    assert "/comptes/login/" not in page.url, page.locator("main").inner_text()


def test_company_applies_follows_live_progress_signs_submits_and_downloads_receipt(portal, faults, new_page, audit):
    consultation = published_consultation("NAV-ENTREPRISE-01")
    make_user("dirigeante@entreprise.test")
    page = new_page()

    page.goto(portal + "/")
    audit.check(page, "accueil", screenshot="01-accueil")
    sign_in(page, portal, "dirigeante@entreprise.test", audit=audit)

    page.goto(f"{portal}/c/{consultation.reference}/")
    assert consultation.title in page.locator("h1").inner_text()
    audit.check(page, "consultation", screenshot="02-consultation")

    # A SIRET whose check digit is wrong: the French message, no candidature.
    page.get_by_label("SIRET de l'établissement qui candidate").fill("552 049 447 76270")
    page.get_by_role("button", name="Récupérer mes informations").click()
    page.get_by_text("sa clé de contrôle est incorrecte").wait_for()
    audit.check(page, "consultation (SIRET erroné)")
    assert not Candidature.objects.exists()

    # DGFIP is unavailable and asks to come back in 6 s: once the identity is shown, its line changes live, without
    # reload. (A 503 with `retry_in`, not a 429: a 429 pauses every JSON call of the token, identity included.)
    faults.add(path="/chiffres_affaires$", kind="status", status=503, times=1, retry_in=6)
    page.get_by_label("SIRET de l'établissement qui candidate").fill("552 049 447 76279")
    page.get_by_role("button", name="Récupérer mes informations").click()
    page.wait_for_url(re.compile(r"/candidatures/\d+/$"))
    candidature = Candidature.objects.get(consultation=consultation, siret=personas.DEMO_SIRET)
    # The page reloads once, when the identity arrives (if it was not there at the first load).
    page.wait_for_selector("tr#valeur-raison_sociale", timeout=15_000)
    turnover = page.locator("#source-dgfip_chiffres_affaires")
    assert turnover.get_attribute("data-status") == "pending"
    page.evaluate("window.__sansRechargement = true")
    audit.check(page, "progression", screenshot="03-progression")
    page.wait_for_selector("#source-dgfip_chiffres_affaires[data-status=ok]", timeout=20_000)
    assert page.evaluate("window.__sansRechargement === true"), "the page was reloaded instead of updated"
    # The last answer swaps the dossier in place: the turnover appears, polling stops.
    page.get_by_role("heading", name="Chiffres d’affaires").wait_for()
    page.wait_for_selector("#progression:not([hx-get])")
    assert page.locator("#progression li[data-status=pending]").count() == 0
    assert page.evaluate("window.__sansRechargement === true")
    page.reload()
    state_row = page.locator("tr#valeur-raison_sociale")
    assert state_row.get_attribute("data-origin") == "state"
    assert "SOCIETE NATIONALE SNCF" in state_row.text_content()
    assert "Récupéré automatiquement — INSEE" in state_row.text_content()
    assert page.locator("#piece-attestation_vigilance").get_attribute("data-status") == "ok"
    audit.check(page, "dossier", screenshot="04-dossier")

    page.get_by_label("Adresse électronique", exact=False).first.fill("contact@sncf.test")
    page.get_by_text("Lot 1 — Gros œuvre").click()
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.get_by_text("Vos informations sont enregistrées.").wait_for()
    candidature.refresh_from_db()
    assert candidature.declared["contact_email"] == "contact@sncf.test"
    assert candidature.declared["lots"] == [1]

    page.get_by_role("link", name="Continuer : motifs d’exclusion").click()
    page.wait_for_url(f"**/candidatures/{candidature.pk}/motifs/")
    audit.check(page, "motifs", screenshot="05-motifs")
    page.locator("label[for=id_accept]").click()  # the DSFR draws the box on the label
    assert page.locator("input[name=accept]").is_checked()
    page.locator("input[name=signatory]").fill("Camille Martin, directrice générale")
    page.get_by_role("button", name="Signer et continuer").click()
    page.wait_for_url(f"**/candidatures/{candidature.pk}/recapitulatif/")

    page.get_by_role("button", name="Déposer ma candidature").click()
    page.locator("#empreinte").wait_for()
    digest = page.locator("#empreinte").inner_text().strip()
    candidature.refresh_from_db()
    assert candidature.is_submitted
    assert digest == candidature.frozen_sha256
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    audit.check(page, "récapitulatif", screenshot="06-recapitulatif")

    with page.expect_download() as download_info:
        page.locator("#content").get_by_role("link", name="Télécharger le récépissé (PDF)").first.click()
    download = download_info.value
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"%PDF")
    text = "".join(page_.extract_text() for page_ in PdfReader(io.BytesIO(content)).pages)
    assert digest in re.sub(r"\s+", "", text)

    audit.assert_clean()


def company_applies_and_submits(page, portal: str, link: str, siret: str, email: str, audit) -> Candidature:
    """The company's side, quickly: sign in, open the link, type the SIRET (with spaces), complete, sign, submit."""
    sign_in(page, portal, email)
    page.goto(link)
    page.get_by_label("SIRET de l'établissement qui candidate").fill(
        f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"
    )
    page.get_by_role("button", name="Récupérer mes informations").click()
    page.wait_for_url(re.compile(r"/candidatures/\d+/$"))
    page.wait_for_selector("#progression:not([hx-get])", timeout=30_000)
    page.reload()
    page.get_by_label("Adresse électronique", exact=False).first.fill("contact@entreprise.test")
    page.get_by_text("Lot 1 — Gros œuvre").click()
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.get_by_text("Vos informations sont enregistrées.").wait_for()
    page.get_by_role("link", name="Continuer : motifs d’exclusion").click()
    page.locator("[data-flag]").first.wait_for()
    audit.check(page, "motifs (avec un motif à contester)")
    page.locator("label[for=id_accept]").click()
    page.locator("input[name=signatory]").fill("Dominique Durand, président")
    page.get_by_role("button", name="Signer et continuer").click()
    page.get_by_role("button", name="Déposer ma candidature").click()
    page.locator("#empreinte").wait_for()
    return Candidature.objects.get(siret=siret, owner__email=email)


def test_buyer_creates_publishes_reviews_a_liquidation_refreshes_a_source_and_downloads_the_zip(
    portal, sandbox, faults, new_page, audit
):
    make_buyer("acheteuse@dinum.test")
    make_user("gerant@liquidation.test")
    buyer = new_page()

    sign_in(buyer, portal, "acheteuse@dinum.test")
    buyer.wait_for_url("**/acheteur/consultations/")
    audit.check(buyer, "acheteur : consultations (vide)")

    buyer.get_by_role("link", name="Nouvelle consultation").click()
    buyer.wait_for_url("**/acheteur/consultations/nouvelle/")
    audit.check(buyer, "acheteur : nouvelle consultation", screenshot="08-acheteur-consultation-form")
    buyer.locator("input[name=reference]").fill("NAV-ACHETEUR-01")
    buyer.locator("input[name=title]").fill("Restructuration du collège Lucie-Aubrac")
    buyer.locator("label", has_text=re.compile(r"^\s*Travaux\s*$")).click()
    buyer.wait_for_load_state("networkidle")  # htmx re-checks the pieces of the market type
    deadline = timezone.localdate() + timedelta(days=30)
    buyer.locator("input[name=deadline_date]").fill(deadline.isoformat())
    buyer.locator("input[name=deadline_time]").fill("12:00")
    buyer.locator("textarea[name=lots]").fill("Gros œuvre\nMenuiseries extérieures")
    buyer.get_by_role("button", name="Créer la consultation").click()
    buyer.wait_for_url(re.compile(r"/acheteur/consultations/\d+/$"))
    consultation = Consultation.objects.get(reference="NAV-ACHETEUR-01")
    assert consultation.market_type == "travaux"
    assert [lot.title for lot in consultation.lots.all()] == ["Gros œuvre", "Menuiseries extérieures"]
    assert timezone.localtime(consultation.deadline).date() == deadline
    assert not consultation.is_published

    buyer.get_by_role("button", name="Publier").click()
    buyer.locator("#candidate-link").wait_for()
    link = buyer.locator("#candidate-link").input_value()
    assert link == f"{portal}/c/NAV-ACHETEUR-01/"
    # The copy button (static/js/copy-link.js, no inline script under the CSP) copies it and says so.
    buyer.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=portal)
    buyer.get_by_role("button", name="Copier le lien").click()
    buyer.wait_for_function("document.getElementById('copy-status').textContent !== ''")
    assert buyer.locator("#copy-status").text_content() == "Lien copié dans le presse-papiers."
    assert buyer.evaluate("navigator.clipboard.readText()") == link

    # A company in liquidation applies through its own browser context.
    candidature = company_applies_and_submits(
        new_page(), portal, link, personas.LIQUIDATION_SIRET, "gerant@liquidation.test", audit
    )
    assert candidature.is_submitted

    buyer.reload()
    row = buyer.locator("#review-table tbody tr", has_text=personas.LIQUIDATION_SIRET)
    exclusion_badge = row.locator(".fr-badge--error")
    assert exclusion_badge.count() >= 1
    background = exclusion_badge.first.evaluate("badge => getComputedStyle(badge).backgroundColor")
    red, green, blue = map(int, re.findall(r"\d+", background)[:3])
    assert red > green and red > blue, f"the exclusion badge is not red: {background}"
    audit.check(buyer, "acheteur : examen", screenshot="09-acheteur-examen")
    review_url = buyer.url
    buyer.get_by_role("link", name="Mes consultations").first.click()
    buyer.get_by_role("link", name="NAV-ACHETEUR-01").wait_for()
    audit.check(buyer, "acheteur : consultations", screenshot="07-acheteur-consultations")
    buyer.goto(review_url)

    row.get_by_role("link").first.click()
    buyer.wait_for_url(f"**/acheteur/candidatures/{candidature.pk}/")
    flag = buyer.locator("[data-flag=liquidation_judiciaire]")
    evidence = candidature.exclusion_flags.get(code="liquidation_judiciaire").evidence
    assert evidence["tribunal"] and evidence["tribunal"] in flag.text_content()
    assert "Tribunal" in flag.text_content()
    bodacc_link = flag.get_by_role("link", name="Voir l’annonce au BODACC")
    assert "bodacc" in bodacc_link.get_attribute("href")
    audit.check(buyer, "acheteur : dossier", screenshot="10-acheteur-dossier")

    # Refresh URSSAF (slowed down to see it pending): the line comes back "Récupéré" with a new date.
    fetch = candidature.fetches.get(source="urssaf_attestation_vigilance")
    requests.post(
        f"{sandbox.base_url}/__sandbox__/latency", json={"path": "/attestation_vigilance$", "ms": 1000}, timeout=5
    ).raise_for_status()
    source_row = buyer.locator("tr[data-source=urssaf_attestation_vigilance]")
    source_row.get_by_role("button", name=re.compile("Actualiser")).click()
    buyer.get_by_text("Actualisation demandée").wait_for()
    assert "En cours" in source_row.text_content()
    for _ in range(60):
        if "Récupéré" in source_row.text_content():
            break
        buyer.wait_for_timeout(500)
        buyer.reload()
    assert "Récupéré" in source_row.text_content()
    refreshed = candidature.fetches.get(source="urssaf_attestation_vigilance")
    assert refreshed.status == "ok" and refreshed.fetched_at > fetch.fetched_at

    with buyer.expect_download() as download_info:
        buyer.get_by_role("link", name="Télécharger le dossier (ZIP)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(download.path()) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        receipt = next(name for name in names if "recepisse" in name)
        assert archive.read(receipt).startswith(b"%PDF")
    assert any(name.startswith("00-dossier-depose-") for name in names), names
    assert any("attestation_vigilance" in name for name in names), names
    assert any("attestation_fiscale" in name for name in names), names

    audit.assert_clean()
