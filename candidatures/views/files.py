"""Private files (certificates, uploads, receipts) go out only through authorised views, never as media."""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.utils.text import slugify

EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def download_name(*parts: str, content_type: str) -> str:
    """A clear, safe file name: `<siret>-attestation-vigilance.pdf`."""
    stem = "-".join(slugify(part) for part in parts if part)
    return f"{stem}.{EXTENSIONS.get(content_type, 'bin')}"


def file_response(file_field, *, filename: str, content_type: str, inline: bool = False) -> FileResponse:
    try:
        handle = file_field.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    response = FileResponse(handle, as_attachment=not inline, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
