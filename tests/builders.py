"""Plain builders shared by the test modules (no fixtures: those live in the conftest files)."""

from __future__ import annotations

import hashlib
import time

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.utils import timezone
from stdnum import luhn

from candidatures import selectors
from candidatures.models import Candidature, Contestation, ContestationAttachment, Document, ExclusionFlag, SourceFetch

PDF = b"%PDF-1.4\n% attestation de test\n%%EOF\n"


def valid_sirets(count: int) -> list[str]:
    """Distinct Luhn-valid SIRETs (valid SIREN too) for lists longer than the known test SIRETs."""
    sirets = []
    for index in range(count):
        siren = f"{41000000 + index:08d}"
        siren += luhn.calc_check_digit(siren)
        body = siren + "0001"
        sirets.append(body + luhn.calc_check_digit(body))
    return sirets


def make_user(username: str):
    return get_user_model().objects.create_user(username=username, email=f"{username}@example.gouv.fr")


def add_document(candidature, *, source, kind, content=PDF, origin=Document.Origin.FETCHED, name="piece.pdf", **extra):
    """A stored PDF document of the dossier; `extra` sets other fields (fetch, uploaded_by…)."""
    document = Document(
        candidature=candidature,
        origin=origin,
        source=source,
        kind=kind,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        content_type="application/pdf",
        fetched_at=timezone.now(),
        original_name=name if origin == Document.Origin.UPLOADED else "",
        **extra,
    )
    document.file.save(name, ContentFile(content), save=False)
    document.save()
    return document


def add_flag(candidature, code="liquidation_judiciaire", severity=ExclusionFlag.Severity.EXCLUSION, source="bodacc"):
    return ExclusionFlag.objects.create(
        candidature=candidature,
        code=code,
        severity=severity,
        ground="L2141-3 1°" if severity == ExclusionFlag.Severity.EXCLUSION else "",
        source=source,
        evidence={"nature": "Jugement d'ouverture de liquidation judiciaire", "tribunal": "TC de Paris"},
    )


def add_attachment(candidature, flag, content=b"%PDF-1.4 appel\n", name="arret-cour-appel.pdf"):
    contestation = Contestation.objects.create(
        candidature=candidature, flag_code=flag.code, flag_source=flag.source, text="Jugement infirmé en appel."
    )
    attachment = ContestationAttachment(
        contestation=contestation,
        original_name=name,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        content_type="application/pdf",
    )
    attachment.file.save(f"contestations/{name}", ContentFile(content), save=False)
    attachment.save()
    return attachment


def submit(candidature, *, receipt=b"%PDF-1.4 recepisse\n"):
    frozen = {"dossier": {"siret": candidature.siret}, "submitted_at": "2026-01-05T10:00:00+00:00"}
    candidature.submitted_at = timezone.now()
    candidature.frozen_dossier = frozen
    candidature.frozen_sha256 = "ab" * 32
    candidature.declaration_signed_by = "Jeanne Martin"
    candidature.declaration_signed_at = timezone.now()
    if receipt is not None:
        candidature.receipt.save("recepisse.pdf", ContentFile(receipt), save=False)
    candidature.save()
    return candidature


def finish_fetches(candidature, *, when=None):
    candidature.fetches.update(status=SourceFetch.Status.OK, fetched_at=when or timezone.now())
    Candidature.objects.filter(pk=candidature.pk).update(status=Candidature.Status.COMPLETE)


def wait_complete(*candidatures: Candidature, timeout: float = 60) -> list[dict]:
    """Wait for the real worker to assemble these candidatures' dossiers (polling the database); their dossier JSON
    (passemarche.dossier/1), each asserted complete."""
    deadline = time.monotonic() + timeout
    pks = [candidature.pk for candidature in candidatures]
    while time.monotonic() < deadline:
        if not Candidature.objects.filter(pk__in=pks, status=Candidature.Status.IN_PROGRESS).exists():
            break
        time.sleep(0.2)
    dossiers = [selectors.dossier_as_dict(candidature=selectors.candidature_for_dossier(pk=pk)) for pk in pks]
    for dossier in dossiers:
        assert dossier["status"] == Candidature.Status.COMPLETE, dossier["sources"]
    return dossiers
