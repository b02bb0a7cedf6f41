"""Private files (certificates, uploads, receipts) go out only through authorised views, never as media."""

from __future__ import annotations

from django.http import FileResponse, Http404

from ..dossiers import candidature_receipt
from ..storage import download_name


def file_response(file_field, *, filename: str, content_type: str, inline: bool = False) -> FileResponse:
    try:
        handle = file_field.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    response = FileResponse(handle, as_attachment=not inline, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def receipt_response(candidature) -> FileResponse:
    """The receipt of a submitted candidature (rendered again from the frozen dossier if it was never stored)."""
    receipt = candidature_receipt(candidature=candidature)
    if receipt is None:
        raise Http404
    return file_response(
        receipt,
        filename=download_name(
            "recepisse", candidature.consultation.reference, candidature.siret, content_type="application/pdf"
        ),
        content_type="application/pdf",
    )
