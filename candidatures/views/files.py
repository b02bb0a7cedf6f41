"""Private files (certificates, uploads, receipts) go out only through authorised views, never as media.

The views of both roles find the candidature through their access helper, then answer with these.
"""

from __future__ import annotations

import io
import logging

from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from ..dossiers import candidature_receipt
from ..models import Candidature, ContestationAttachment
from ..receipt import receipt_pdf
from ..review import dossier_zip
from ..storage import ZIP, download_name

logger = logging.getLogger(__name__)


def private_response(handle, *, filename: str, content_type: str, inline: bool = False) -> FileResponse:
    response = FileResponse(handle, as_attachment=not inline, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def file_response(file_field, *, filename: str, content_type: str, inline: bool = False) -> FileResponse:
    try:
        handle = file_field.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    return private_response(handle, filename=filename, content_type=content_type, inline=inline)


def ensure_receipt(candidature: Candidature):
    """The receipt of a submitted candidature, rendered from its frozen dossier if never stored; None if not
    submitted or if rendering fails now (logged: the submission itself is safe)."""
    try:
        return candidature_receipt(candidature=candidature)
    except Exception:
        logger.exception("Receipt of candidature %s could not be rendered", candidature.pk)
        return None


def receipt_response(candidature: Candidature, *, hide_identity: bool = False):
    """The stored receipt; for a reader not habilitated for a non-diffusible company's identity, a copy rendered
    now without it (never stored: the stored receipt is the company's)."""
    if not candidature.is_submitted:
        raise Http404
    if hide_identity:
        return private_response(
            io.BytesIO(receipt_pdf(candidature=candidature, hide_identity=True)),
            filename=_receipt_name(candidature),
            content_type="application/pdf",
        )
    receipt = ensure_receipt(candidature)
    if receipt is None:
        return HttpResponse(
            _("Le récépissé ne peut pas être produit pour le moment : réessayez dans quelques minutes."),
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    return file_response(receipt, filename=_receipt_name(candidature), content_type="application/pdf")


def _receipt_name(candidature: Candidature) -> str:
    return download_name(
        "recepisse", candidature.consultation.reference, candidature.siret, content_type="application/pdf"
    )


def zip_response(candidature: Candidature, *, hide_identity: bool) -> FileResponse:
    """The whole dossier as one streamed ZIP (with the receipt, rendered first if never stored, unless masked)."""
    if not hide_identity:
        ensure_receipt(candidature)
    return private_response(
        dossier_zip(candidature=candidature, hide_identity=hide_identity),
        filename=download_name("dossier", candidature.siret, candidature.consultation.reference, content_type=ZIP),
        content_type=ZIP,
    )


def document_response(candidature: Candidature, document_pk: int) -> FileResponse:
    document = get_object_or_404(candidature.documents, pk=document_pk)
    return file_response(
        document.file,
        filename=download_name(document.kind, candidature.siret, content_type=document.content_type),
        content_type=document.content_type,
        inline=True,
    )


def attachment_response(candidature: Candidature, attachment_pk: int) -> FileResponse:
    attachment = get_object_or_404(ContestationAttachment, pk=attachment_pk, contestation__candidature=candidature)
    stem = attachment.original_name.rsplit(".", 1)[0]
    return file_response(
        attachment.file,
        filename=download_name("contestation", stem, candidature.siret, content_type=attachment.content_type),
        content_type=attachment.content_type,
        inline=True,
    )
