"""Writes of the candidacy in the portal: what the company declares, uploads, contests, signs and submits,
and the re-fetch of a source. Every refusal is a `DossierError` whose message is shown to the user as is.

A submitted dossier is frozen: every write here refuses it, whatever the form showed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from connectors.client import sniff_content_type

from . import antivirus, pieces, selectors, services, signals, storage
from .errors import PortalError
from .models import (
    Candidature,
    Consultation,
    Contestation,
    ContestationAttachment,
    Document,
    ExclusionFlag,
    SourceFetch,
)

logger = logging.getLogger(__name__)


class DossierError(PortalError):
    """A refusal of a company's write (or of a re-fetch)."""


class StateValueLocked(DossierError):
    """The company tried to change a value that comes from the State."""


@dataclass(frozen=True)
class DeclarableField:
    name: str
    label: str
    # The identity field that, when known from a source, locks this one; "" = always the company's to declare.
    state_field: str = ""


DECLARABLE_FIELDS: dict[str, DeclarableField] = {
    field.name: field
    for field in (
        DeclarableField("contact_nom", gettext_lazy("Nom et prénom du contact")),
        DeclarableField("contact_email", gettext_lazy("Adresse électronique du contact")),
        DeclarableField("contact_telephone", gettext_lazy("Téléphone du contact")),
        DeclarableField("raison_sociale", gettext_lazy("Raison sociale"), state_field="raison_sociale"),
        DeclarableField("adresse", gettext_lazy("Adresse"), state_field="adresse"),
        DeclarableField("forme_juridique", gettext_lazy("Forme juridique"), state_field="forme_juridique"),
        DeclarableField("activite_libelle", gettext_lazy("Activité principale"), state_field="activite_libelle"),
        DeclarableField(
            "chiffre_affaires", gettext_lazy("Chiffre d'affaires du dernier exercice (€)"), state_field="turnover"
        ),
    )
}


def declared_rows(declared: dict) -> list[tuple[str, str]]:
    """(label, value) of what the company declared, in the order of its form (lots apart)."""
    return [(str(field.label), str(declared[name])) for name, field in DECLARABLE_FIELDS.items() if declared.get(name)]


def _ensure_editable(candidature: Candidature) -> None:
    if candidature.is_submitted:
        raise DossierError(_("Cette candidature a été déposée : elle ne peut plus être modifiée."))


def locked_fields(*, candidature: Candidature) -> set[str]:
    """Declarable fields whose value the State already gave: the company cannot change them."""
    company = getattr(candidature, "company", None)
    provenance = company.provenance if company is not None else {}
    has_turnover = candidature.turnovers.exists()
    return {
        field.name
        for field in DECLARABLE_FIELDS.values()
        if field.state_field and ((field.state_field == "turnover" and has_turnover) or field.state_field in provenance)
    }


def candidature_open_check(*, consultation: Consultation, siret: str) -> None:
    """Whether this SIRET may open (or resume) a candidature on this consultation, for a company or a platform.

    Raises DossierError with `code` "consultation_not_published", or "deadline_passed" once the deadline is over
    unless the SIRET already has its candidature there (resuming it stays possible).
    """
    if not consultation.is_published:
        raise DossierError(_("Cette consultation n'est pas publiée."), code="consultation_not_published")
    if consultation.is_closed and not consultation.candidatures.filter(siret=siret).exists():
        raise DossierError(_("La date limite de remise des candidatures est dépassée."), code="deadline_passed")


def candidature_open(*, consultation: Consultation, siret: str, user) -> tuple[Candidature, bool]:
    """The company's candidature for this consultation and SIRET: created (sources fetched) or resumed.

    Raises DossierError when the consultation is not open (`candidature_open_check`), or when another account holds
    that SIRET's candidature (without saying whose). The SIRET itself is checked by `validate_siret`
    (InvalidIdentifier).
    """
    candidature_open_check(consultation=consultation, siret=siret)
    existing = Candidature.objects.filter(consultation=consultation, siret=siret).first()
    if existing is not None:
        if existing.owner_id in (None, user.pk):
            if existing.owner_id is None:
                # Created by the buyer's platform (API) for this company: the first account to open it takes it.
                Candidature.objects.filter(pk=existing.pk, owner__isnull=True).update(owner=user)
                existing.refresh_from_db(fields=["owner"])
            if existing.owner_id == user.pk:
                return existing, False
        raise DossierError(
            _(
                "Une candidature existe déjà pour ce SIRET sur cette consultation, ouverte par un autre compte. "
                "Demandez à la personne qui l'a ouverte de la compléter."
            ),
            field="siret",
        )
    return services.candidature_start(
        consultation=consultation, siret=siret, owner=user, requested_by=getattr(user, "email", "")
    )


def candidature_declare(*, candidature: Candidature, values: dict[str, str]) -> Candidature:
    """Store what the company declares. A value the State gave cannot be declared (enforced here)."""
    _ensure_editable(candidature)
    unknown = set(values) - set(DECLARABLE_FIELDS) - {"lots"}
    if unknown:
        raise DossierError(_("Champ inconnu : %(field)s.") % {"field": sorted(unknown)[0]})
    locked = locked_fields(candidature=candidature) & set(values)
    if locked:
        field = sorted(locked)[0]
        raise StateValueLocked(
            _("« %(label)s » provient d'une source de l'État et ne peut pas être modifié.")
            % {"label": DECLARABLE_FIELDS[field].label},
            field=field,
        )
    lots = values.get("lots")
    if lots is not None:
        valid_lots = set(candidature.consultation.lots.values_list("number", flat=True))
        if not set(lots) <= valid_lots:
            raise DossierError(_("Lot inconnu pour cette consultation."), field="lots")
    with transaction.atomic():
        candidature = Candidature.objects.select_for_update().get(pk=candidature.pk)
        _ensure_editable(candidature)
        declared = dict(candidature.declared)
        for name, value in values.items():
            if value in ("", None, []):
                declared.pop(name, None)
            else:
                declared[name] = value
        candidature.declared = declared
        candidature.save(update_fields=["declared"])
    return candidature


@dataclass(frozen=True)
class StoredFile:
    name: str
    sha256: str
    size: int
    content_type: str


def store_uploaded_file(*, uploaded_file, folder: str, pdf_only: bool = False) -> StoredFile:
    """Check an upload by its bytes and its size, and store it under its fingerprint (never its own name)."""
    if uploaded_file.size > settings.UPLOAD_MAX_BYTES:
        raise DossierError(
            _("Le fichier dépasse la taille autorisée (%(max)s).")
            % {"max": storage.upload_size_label(settings.UPLOAD_MAX_BYTES)},
            field="file",
        )
    content = uploaded_file.read(settings.UPLOAD_MAX_BYTES + 1)
    if len(content) > settings.UPLOAD_MAX_BYTES:
        raise DossierError(_("Le fichier dépasse la taille autorisée."), field="file")
    if not content:
        raise DossierError(_("Le fichier est vide."), field="file")
    content_type = sniff_content_type(content)
    if content_type is None:
        raise DossierError(
            _("Ce fichier n'est ni un PDF, ni une image JPEG ou PNG (son contenu a été vérifié)."), field="file"
        )
    if pdf_only and content_type != "application/pdf":
        raise DossierError(_("Ce fichier n'est pas un PDF (son contenu a été vérifié)."), field="file")
    sha256 = hashlib.sha256(content).hexdigest()
    _scan_for_viruses(content=content, folder=folder, sha256=sha256)
    name = storage.store_content(
        content=content, folder=folder, stem=sha256, extension=storage.EXTENSIONS[content_type]
    )
    return StoredFile(name=name, sha256=sha256, size=len(content), content_type=content_type)


def _scan_for_viruses(*, content: bytes, folder: str, sha256: str) -> None:
    """Refuse infected bytes before anything is stored; refuse too while clamd gives no verdict (fail closed).

    Logged without the file's name or its candidature (no personal data): the fingerprint finds it again.
    """
    try:
        antivirus.scan_bytes(content=content)
    except antivirus.VirusFound as found:
        logger.warning(
            "Upload refused: virus %s found (folder=%s, sha256=%s, size=%d).",
            found.signature,
            folder,
            sha256,
            len(content),
        )
        raise DossierError(
            _("Ce fichier contient un virus (%(signature)s) : il a été refusé et n'a pas été enregistré.")
            % {"signature": found.signature},
            field="file",
        ) from found
    except antivirus.ScannerUnavailable as unavailable:
        logger.error("Upload refused: the virus scan is unavailable (%s; folder=%s).", unavailable.reason, folder)
        raise DossierError(
            _(
                "L'analyse antivirus de ce fichier est momentanément impossible : il n'a pas été enregistré. "
                "Réessayez dans quelques minutes."
            ),
            field="file",
        ) from unavailable


def _original_name(uploaded_file) -> str:
    return get_valid_filename(uploaded_file.name or "fichier")[:255] if uploaded_file.name else "fichier"


def piece_upload(*, candidature: Candidature, piece_key: str, uploaded_file, user) -> Document:
    """The company uploads a piece by hand (replacing its earlier upload of that piece)."""
    _ensure_editable(candidature)
    required = {piece.key: piece for piece in pieces.required_pieces(keys=candidature.consultation.required_pieces)}
    piece = required.get(piece_key)
    if piece is None or not piece.uploadable:
        raise DossierError(_("Cette pièce n'est pas demandée pour cette consultation."), field="piece")
    if _provided_by_the_state(candidature=candidature, piece_key=piece_key):
        # The page offers no upload then; a hand-made POST must not put a company's file beside the State's.
        raise StateValueLocked(
            _("Cette pièce a été récupérée auprès de l'État : elle ne peut pas être remplacée par un fichier déposé."),
            field="file",
        )
    stored = store_uploaded_file(uploaded_file=uploaded_file, folder="uploads")
    with transaction.atomic():
        candidature = Candidature.objects.select_for_update().get(pk=candidature.pk)
        _ensure_editable(candidature)
        document, _created = Document.objects.update_or_create(
            candidature=candidature,
            source=Document.UPLOAD_SOURCE,
            kind=piece_key,
            defaults={
                "origin": Document.Origin.UPLOADED,
                "fetch": None,
                "file": stored.name,
                "sha256": stored.sha256,
                "size": stored.size,
                "content_type": stored.content_type,
                "original_name": _original_name(uploaded_file),
                "uploaded_by": user,
                "source_url": "",
                "valid_from": None,
                "valid_until": None,
                "fetched_at": timezone.now(),
            },
        )
    return document


def _provided_by_the_state(*, candidature: Candidature, piece_key: str) -> bool:
    from .dossier_view import piece_states

    states = piece_states(
        required_keys=[piece_key],
        fetches=candidature.fetches.defer("payload"),
        documents=candidature.documents.all(),
        today=timezone.localdate(),
    )
    return any(state.piece.key == piece_key and state.status == "ok" for state in states)


def piece_upload_remove(*, candidature: Candidature, piece_key: str) -> None:
    _ensure_editable(candidature)
    candidature.documents.filter(source=Document.UPLOAD_SOURCE, kind=piece_key).delete()


def fetch_restart(*, fetch: SourceFetch, requested_by: str = "", by_company: bool = False) -> SourceFetch:
    """Fetch a source again now (the company before submitting, the buyer at any time).

    A source the organisation is not habilitated for today is refused with the reason (a habilitation granted
    since makes it fetchable); a fetch already under way is left alone.
    """
    if by_company:
        _ensure_editable(fetch.candidature)
    refusal = selectors.habilitation_refusal(
        organisation=fetch.candidature.consultation.organisation, source=fetch.source
    )
    if refusal:
        raise DossierError(refusal)
    with transaction.atomic():
        fetch = SourceFetch.objects.select_for_update().get(pk=fetch.pk)
        if fetch.status == SourceFetch.Status.PENDING:
            return fetch
        services.fetch_back_to_pending(fetch=fetch, requested_by=requested_by, fresh=True)
    return fetch


def contestation_save(*, candidature: Candidature, flag: ExclusionFlag, text: str, files: list, user) -> Contestation:
    """The company contests a flag: its explanation (replaced on each save) and files (added)."""
    _ensure_editable(candidature)
    if flag.candidature_id != candidature.pk:
        raise DossierError(_("Motif inconnu."))
    text = text.strip()
    if not text:
        raise DossierError(_("Expliquez pourquoi ce motif ne s'applique pas."), field="text")
    stored = [(upload, store_uploaded_file(uploaded_file=upload, folder="contestations")) for upload in files]
    with transaction.atomic():
        contestation, _created = Contestation.objects.update_or_create(
            candidature=candidature,
            flag_code=flag.code,
            flag_source=flag.source,
            defaults={"text": text, "author": user},
        )
        ContestationAttachment.objects.bulk_create(
            ContestationAttachment(
                contestation=contestation,
                file=item.name,
                original_name=_original_name(upload),
                sha256=item.sha256,
                size=item.size,
                content_type=item.content_type,
            )
            for upload, item in stored
        )
    return contestation


def declaration_sign(*, candidature: Candidature, signatory: str) -> Candidature:
    """The declaration on honour that no exclusion ground of L2141-1 to L2141-5 applies."""
    _ensure_editable(candidature)
    signatory = signatory.strip()
    if not signatory:
        raise DossierError(_("Indiquez le nom de la personne qui signe la déclaration."), field="signatory")
    candidature.declaration_signed_at = timezone.now()
    candidature.declaration_signed_by = signatory[:255]
    candidature.save(update_fields=["declaration_signed_at", "declaration_signed_by"])
    return candidature


def submission_blockers(*, candidature: Candidature) -> list[str]:
    """Why the candidature cannot be submitted yet (empty when it can)."""
    blockers: list[str] = []
    if candidature.is_submitted:
        return [_("La candidature est déjà déposée.")]
    if candidature.consultation.is_closed:
        blockers.append(_("La date limite de remise des candidatures est dépassée."))
    if candidature.status != Candidature.Status.COMPLETE:
        blockers.append(_("Des informations sont encore en cours de récupération."))
    identity = selectors.identity_state(candidature=candidature)
    if identity == "unknown":
        blockers.append(_("Ce SIRET est inconnu du répertoire SIRENE : la candidature ne peut pas être déposée."))
    elif identity == "closed":
        blockers.append(
            _("Cet établissement est fermé : déposez la candidature avec le SIRET d'un établissement actif.")
        )
    if not candidature.declared.get("contact_email"):
        blockers.append(_("Indiquez l'adresse électronique du contact."))
    if candidature.consultation.lots.exists() and not candidature.declared.get("lots"):
        blockers.append(_("Choisissez au moins un lot."))
    if candidature.declaration_signed_at is None:
        blockers.append(_("Signez la déclaration sur l'honneur."))
    return blockers


def frozen_dossier_as_dict(*, candidature: Candidature, submitted_at) -> dict:
    """Everything the company submits, as one canonical document (documents by their sha256)."""
    candidature = selectors.candidature_for_dossier(pk=candidature.pk)
    consultation = candidature.consultation
    return {
        "dossier": selectors.dossier_as_dict(candidature=candidature),
        "consultation": {
            "reference": consultation.reference,
            "title": consultation.title,
            "organisation": consultation.organisation.name,
            "organisation_siret": consultation.organisation.siret,
            "required_pieces": [piece.key for piece in pieces.required_pieces(keys=consultation.required_pieces)],
        },
        "declared": candidature.declared,
        "declaration": {
            "signed_at": candidature.declaration_signed_at.isoformat(),
            "signed_by": candidature.declaration_signed_by,
        },
        "contestations": [
            {
                "code": contestation.flag_code,
                "source": contestation.flag_source,
                "text": contestation.text,
                "attachments": [
                    {"name": attachment.original_name, "sha256": attachment.sha256, "size": attachment.size}
                    for attachment in contestation.attachments.order_by("pk")
                ],
            }
            for contestation in candidature.contestations.order_by("flag_code", "flag_source")
        ],
        "submitted_at": submitted_at.isoformat(),
    }


def canonical_json(frozen: dict) -> bytes:
    """The one serialisation of a frozen dossier: what its fingerprint is computed on."""
    return json.dumps(frozen, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def dossier_sha256(frozen: dict) -> str:
    return hashlib.sha256(canonical_json(frozen)).hexdigest()


def candidature_submit(*, candidature: Candidature, user) -> Candidature:
    """Freeze the dossier (no change after), store its fingerprint and produce the receipt PDF."""
    with transaction.atomic():
        candidature = Candidature.objects.select_for_update().select_related("consultation").get(pk=candidature.pk)
        blockers = submission_blockers(candidature=candidature)
        if blockers:
            raise DossierError(" ".join(blockers))
        now = timezone.now()
        frozen = frozen_dossier_as_dict(candidature=candidature, submitted_at=now)
        candidature.frozen_dossier = frozen
        candidature.frozen_sha256 = dossier_sha256(frozen)
        candidature.submitted_at = now
        candidature.submitted_by = user
        candidature.save(update_fields=["frozen_dossier", "frozen_sha256", "submitted_at", "submitted_by"])
        signals.candidature_submitted.send(sender=Candidature, candidature=candidature)
    try:
        candidature_receipt(candidature=candidature)
    except Exception:
        # The submission stands; the receipt is rendered again from the frozen dossier when first downloaded.
        logger.exception("Receipt of candidature %s not rendered at submission", candidature.pk)
    return candidature


def candidature_receipt(*, candidature: Candidature):
    """The receipt file of a submitted candidature, rendered from its frozen dossier if not stored yet."""
    from .receipt import receipt_pdf

    if not candidature.is_submitted:
        return None
    if not candidature.receipt:
        content = receipt_pdf(candidature=candidature)
        name = storage.store_content(
            content=content, folder="receipts", stem=candidature.frozen_sha256, extension="pdf"
        )
        Candidature.objects.filter(pk=candidature.pk).update(receipt=name)
        candidature.receipt.name = name
    return candidature.receipt
