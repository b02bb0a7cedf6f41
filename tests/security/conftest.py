"""The world of the forbidden-actions suite: two buyer organisations, two companies, their candidatures and files.

Built from the services and the models (no sandbox, no network): every object a forbidden action could reach
exists, each file's bytes carry a marker, so that a leak would show in a response body.

    organisation X (buyer_x)   consultation_x, published, lots 1 and 2
        cand_a   company_a   open (not submitted)
        cand_b   company_b   open
    organisation Y (buyer_y)   consultation_y, published, no lots; draft_y, not published
        cand_y       company_b   submitted (receipt stored)
        cand_a_done  company_a   submitted: the frozen dossier of company A

Every candidature: its fetches answered (one `unauthorized`), an identity from INSEE (provenance set, so the
State values are locked), a turnover, a fetched certificate, an uploaded piece, an exclusion flag contested
with an attachment, and a declared contact.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from stdnum import luhn

from candidatures import dossiers, services
from candidatures.models import (
    Candidature,
    CompanyIdentity,
    Consultation,
    Contestation,
    ContestationAttachment,
    Document,
    ExclusionFlag,
    Lot,
    OrganisationMember,
    SourceFetch,
    Turnover,
)
from tests.builders import add_document

ANONYMOUS = "anonymous"
REFETCHED_SOURCE = "urssaf_attestation_vigilance"  # answered `ok`: a permitted refresh would set it pending
UNAUTHORIZED_SOURCE = "dgfip_attestation_fiscale"  # the buyer organisation is not habilitated for it
STATE_FIELDS = {
    "raison_sociale": "{label} SAS",
    "adresse": "1 rue de l'État 75007 Paris ({label})",
    "forme_juridique": "Société par actions simplifiée",
    "activite_libelle": "Travaux de maçonnerie générale",
}
RECEIPT = b"%PDF-1.4\n% recepisse SECRET-RECEIPT\n%%EOF\n"
# Audit trails may record an attempt (who tried what, when): they are not the objects a forbidden action
# must leave unchanged.
AUDIT_TRAILS = {"candidatures.DossierAccess"}


def pdf(marker: str) -> bytes:
    return f"%PDF-1.4\n% {marker}\n%%EOF\n".encode()


def valid_siret(index: int) -> str:
    """A Luhn-valid SIRET (with a Luhn-valid SIREN), distinct for each index."""
    siren = f"{42000000 + index:08d}"
    siren += luhn.calc_check_digit(siren)
    body = siren + "0001"
    return body + luhn.calc_check_digit(body)


@dataclass
class World:
    users: dict[str, object]
    org_x: object
    org_y: object
    consultation_x: Consultation
    consultation_y: Consultation
    draft_y: Consultation
    cand_a: Candidature
    cand_b: Candidature
    cand_y: Candidature
    cand_a_done: Candidature
    markers: list[bytes] = field(default_factory=list)

    def document(self, candidature: Candidature, *, origin=Document.Origin.FETCHED) -> Document:
        return candidature.documents.get(origin=origin)

    def attachment(self, candidature: Candidature) -> ContestationAttachment:
        return ContestationAttachment.objects.get(contestation__candidature=candidature)

    def flag(self, candidature: Candidature) -> ExclusionFlag:
        return candidature.exclusion_flags.get()

    def secrets_of(self, candidature: Candidature) -> list[bytes]:
        """What no refused response may contain about this candidature."""
        identity = CompanyIdentity.objects.get(candidature=candidature)
        return [candidature.siret.encode(), identity.raison_sociale.encode(), b"%PDF", *self.markers]


@pytest.fixture
def enqueued(monkeypatch):
    """The fetch ids a service enqueues, recorded instead of sent to Celery."""
    sent: list[int] = []
    monkeypatch.setattr(services, "_enqueue_fetches", lambda fetch_ids, requested_by="": sent.extend(fetch_ids))
    return sent


@pytest.fixture(autouse=True)
def _receipt_without_weasyprint(monkeypatch):
    """The receipt's bytes are not under test here: a fixed PDF instead of a WeasyPrint rendering."""
    from candidatures import receipt

    monkeypatch.setattr(receipt, "receipt_pdf", lambda **kwargs: RECEIPT)


def make_user(email: str):
    return get_user_model().objects.create_user(username=email, email=email, password="x-secret-123")


def _build_candidature(*, consultation, siret, owner, label, capture, enqueued, world_markers) -> Candidature:
    with capture(execute=True):
        candidature, _ = services.candidature_start(consultation=consultation, siret=siret, owner=owner)
    enqueued.clear()
    now = timezone.now()
    assert candidature.fetches.get(source=UNAUTHORIZED_SOURCE).status == SourceFetch.Status.UNAUTHORIZED
    candidature.fetches.exclude(source=UNAUTHORIZED_SOURCE).update(
        status=SourceFetch.Status.OK, fetched_at=now, attempts=1, http_status=200
    )
    Candidature.objects.filter(pk=candidature.pk).update(status=Candidature.Status.COMPLETE, completed_at=now)
    CompanyIdentity.objects.create(
        candidature=candidature,
        etat_administratif="A",
        activite_code="43.99C",
        provenance=dict.fromkeys(STATE_FIELDS, "insee_etablissement"),
        **{name: value.format(label=label) for name, value in STATE_FIELDS.items()},
    )
    Turnover.objects.create(candidature=candidature, montant=1_250_000, date_fin_exercice=now.date() - timedelta(90))

    markers = [f"SECRET-{label}-{kind}" for kind in ("vigilance", "upload", "appel")]
    world_markers.extend(marker.encode() for marker in markers)
    fetched, uploaded, attached = (pdf(marker) for marker in markers)
    add_document(
        candidature,
        content=fetched,
        source=REFETCHED_SOURCE,
        kind="attestation_vigilance",
        fetch=candidature.fetches.get(source=REFETCHED_SOURCE),
    )
    add_document(
        candidature,
        content=uploaded,
        source=Document.UPLOAD_SOURCE,
        kind="carte_pro_tp",
        origin=Document.Origin.UPLOADED,
        name="carte-pro.pdf",
        uploaded_by=owner,
    )
    flag = ExclusionFlag.objects.create(
        candidature=candidature,
        code="liquidation_judiciaire",
        severity=ExclusionFlag.Severity.EXCLUSION,
        ground="L2141-3 1°",
        source="bodacc",
        evidence={"nature": "Jugement d'ouverture de liquidation judiciaire", "tribunal": "TC de Paris"},
    )
    contestation = Contestation.objects.create(
        candidature=candidature, flag_code=flag.code, flag_source=flag.source, text="Jugement infirmé.", author=owner
    )
    attachment = ContestationAttachment(
        contestation=contestation,
        original_name="arret.pdf",
        sha256=hashlib.sha256(attached).hexdigest(),
        size=len(attached),
        content_type="application/pdf",
    )
    attachment.file.save("contestations/arret.pdf", ContentFile(attached), save=False)
    attachment.save()

    declared = {"contact_nom": f"Contact {label}", "contact_email": f"contact@{label.lower()}.test"}
    if consultation.lots.exists():
        declared["lots"] = [2]
    Candidature.objects.filter(pk=candidature.pk).update(declared=declared)
    candidature.refresh_from_db()
    return candidature


def _submit(candidature: Candidature) -> Candidature:
    """Sign and submit through the services, as the company would: the dossier is frozen for real."""
    dossiers.declaration_sign(candidature=candidature, signatory="Jeanne Martin, présidente")
    assert dossiers.submission_blockers(candidature=candidature) == []
    dossiers.candidature_submit(candidature=candidature, user=candidature.owner)
    candidature.refresh_from_db()
    assert candidature.is_submitted and candidature.receipt
    return candidature


@pytest.fixture
def world(db, enqueued, django_capture_on_commit_callbacks) -> World:
    habilitated = set(services.PUBLIC_PROCUREMENT_SOURCES) - {UNAUTHORIZED_SOURCE}
    org_x, _ = services.organisation_get_or_create(siret="13002526500013", name="Organisation X", sources=habilitated)
    org_y, _ = services.organisation_get_or_create(siret="21750001600019", name="Organisation Y", sources=habilitated)
    users = {
        "company_a": make_user("dirigeante@entreprise-a.test"),
        "company_b": make_user("dirigeant@entreprise-b.test"),
        "buyer_x": make_user("agent@organisation-x.gouv.fr"),
        "buyer_y": make_user("agent@organisation-y.gouv.fr"),
    }
    OrganisationMember.objects.create(user=users["buyer_x"], organisation=org_x)
    OrganisationMember.objects.create(user=users["buyer_y"], organisation=org_y)

    deadline = timezone.now() + timedelta(days=10)
    consultation_x = services.consultation_get_or_create(
        organisation=org_x, reference="X-2026-01", market_type="travaux"
    )
    Lot.objects.create(consultation=consultation_x, number=1, title="Gros œuvre")
    Lot.objects.create(consultation=consultation_x, number=2, title="Menuiseries")
    consultation_y = services.consultation_get_or_create(
        organisation=org_y, reference="Y-2026-01", market_type="travaux"
    )
    draft_y = services.consultation_get_or_create(organisation=org_y, reference="Y-2026-02", market_type="travaux")
    Consultation.objects.filter(pk__in=[consultation_x.pk, consultation_y.pk]).update(
        published_at=timezone.now(), deadline=deadline
    )
    Consultation.objects.filter(pk=draft_y.pk).update(deadline=deadline)
    for consultation in (consultation_x, consultation_y, draft_y):
        consultation.refresh_from_db()

    markers: list[bytes] = []

    def build(consultation, index, owner, label):
        return _build_candidature(
            consultation=consultation,
            siret=valid_siret(index),
            owner=users[owner],
            label=label,
            capture=django_capture_on_commit_callbacks,
            enqueued=enqueued,
            world_markers=markers,
        )

    world = World(
        users=users,
        org_x=org_x,
        org_y=org_y,
        consultation_x=consultation_x,
        consultation_y=consultation_y,
        draft_y=draft_y,
        cand_a=build(consultation_x, 1, "company_a", "ALPHA"),
        cand_b=build(consultation_x, 2, "company_b", "BRAVO"),
        cand_y=_submit(build(consultation_y, 3, "company_b", "BRAVO-Y")),
        cand_a_done=_submit(build(consultation_y, 4, "company_a", "ALPHA-DONE")),
        markers=[*markers, b"SECRET-RECEIPT"],
    )
    enqueued.clear()
    return world


@pytest.fixture
def client_for(world):
    """A test client signed in as one actor of the world (or anonymous)."""

    def client_for(actor: str, **kwargs) -> Client:
        client = Client(**kwargs)
        if actor != ANONYMOUS:
            client.force_login(world.users[actor])
        return client

    return client_for


def snapshot(media_root) -> dict:
    """Every row of the domain tables (all their columns), and every stored file: what must not change."""
    state: dict = {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in apps.get_app_config("candidatures").get_models()
        if model._meta.label not in AUDIT_TRAILS
    }
    root = Path(media_root)
    state["files"] = sorted(
        (str(path.relative_to(root)), hashlib.sha256(path.read_bytes()).hexdigest())
        for path in root.rglob("*")
        if path.is_file()
    )
    return state


@pytest.fixture
def unchanged(settings):
    """`with unchanged(): ...` asserts the block left every domain row and every stored file as it found them."""

    @contextmanager
    def unchanged(*, ignore: frozenset[str] = frozenset()):
        before = snapshot(settings.MEDIA_ROOT)
        yield
        after = snapshot(settings.MEDIA_ROOT)
        for label, column in (item.split(":") for item in ignore):
            for state in (before, after):
                for row in state[label]:
                    row.pop(column, None)
        assert after == before

    return unchanged
