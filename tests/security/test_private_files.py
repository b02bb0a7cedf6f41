"""No address serves the private files: certificates, uploads and receipts leave only through the views that
check who asks (`candidatures/access.py`)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% attestation privee\n%%EOF\n"


def test_a_stored_certificate_has_no_public_address(client):
    name = default_storage.save("documents/ab/abcdef-attestation.pdf", ContentFile(PDF))

    for path in (f"/media/{name}", f"/{name}", f"/static/../var/media/{name}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert PDF not in response.content
