"""Private files of the dossiers: stored once under their fingerprint, handed out under a clear name."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import formats
from django.utils.text import slugify
from django.utils.translation import gettext

EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
ZIP = "application/zip"


def store_content(*, content: bytes, folder: str, stem: str, extension: str) -> str:
    """Save the bytes as `<folder>/<stem[:2]>/<stem>.<extension>` unless already there (content-addressed:
    the same certificate shared by several candidatures is stored once); return the storage name."""
    name = f"{folder}/{stem[:2]}/{stem}.{extension}"
    if default_storage.exists(name):
        return name
    return default_storage.save(name, ContentFile(content))


def download_name(*parts: str, content_type: str) -> str:
    """A clear, safe file name: `<siret>-attestation-vigilance.pdf`."""
    stem = "-".join(slugify(part) for part in parts if part)
    extension = "zip" if content_type == ZIP else EXTENSIONS.get(content_type, "bin")
    return f"{stem}.{extension}"


def upload_size_label(size: int) -> str:
    """A size as the French read it: "10 Mo", "1,5 Mo", "512 Ko"."""
    mega = 1024 * 1024
    value, unit = (size / mega, gettext("Mo")) if size >= mega else (size / 1024, gettext("Ko"))
    value = round(value, 1)
    number = str(int(value)) if value == int(value) else formats.number_format(value, 1)
    return f"{number}\N{NO-BREAK SPACE}{unit}"
