"""Virus scanning of uploads by a real clamd (the `clamd` fixture: one EICAR signature), and its failure branches.

Every refusal must leave nothing behind: no row, no file under the test's MEDIA_ROOT.
"""

from __future__ import annotations

import html
import logging
import socket
import threading
import zlib
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.checks import run_checks
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from candidatures import antivirus, dossiers
from candidatures.models import Contestation, ContestationAttachment, Document, ExclusionFlag
from tests.conftest import Clamd

CLEAN_PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
# Sniffed as a PDF (so only the scan can refuse it): EICAR in the body, and in a compressed stream clamd inflates.
INFECTED_PDF = b"%PDF-1.4\n" + Clamd.EICAR + b"\n%%EOF\n"
DEFLATED_EICAR = zlib.compress(Clamd.EICAR)
INFECTED_STREAM_PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Length "
    + str(len(DEFLATED_EICAR)).encode()
    + b" /Filter /FlateDecode >>\nstream\n"
    + DEFLATED_EICAR
    + b"\nendstream\nendobj\n%%EOF\n"
)
SIGNATURE = "Eicar-Test-Signature.UNOFFICIAL"
VIRUS_MESSAGE = (
    "Ce fichier contient un virus (Eicar-Test-Signature.UNOFFICIAL) : il a été refusé et n'a pas été enregistré."
)
UNAVAILABLE_MESSAGE = "L'analyse antivirus de ce fichier est momentanément impossible : il n'a pas été enregistré."


@pytest.fixture
def scanned(clamd, settings) -> Clamd:
    """CLAMAV_URL on the session's clamd (said here, not only by the suite-wide autouse fixture)."""
    settings.CLAMAV_URL = clamd.url
    return clamd


def stored_files() -> list[Path]:
    return [path for path in Path(django_settings.MEDIA_ROOT).rglob("*") if path.is_file()]


@pytest.fixture
def company_candidature(client, candidature, django_user_model):
    user = django_user_model.objects.create_user(username="c@entreprise.test", email="c@entreprise.test", password="x")
    candidature.owner = user
    candidature.save(update_fields=["owner"])
    client.force_login(user)
    return candidature


def test_a_clean_pdf_is_scanned_and_stored(scanned):
    stored = dossiers.store_uploaded_file(uploaded_file=SimpleUploadedFile("c.pdf", CLEAN_PDF), folder="uploads")

    assert stored.content_type == "application/pdf"
    assert (Path(django_settings.MEDIA_ROOT) / stored.name).read_bytes() == CLEAN_PDF


@pytest.mark.parametrize("content", [INFECTED_PDF, INFECTED_STREAM_PDF], ids=["in-body", "in-deflated-stream"])
def test_an_infected_pdf_is_refused_and_nothing_is_stored(scanned, content, caplog):
    with pytest.raises(dossiers.DossierError) as refused:
        dossiers.store_uploaded_file(uploaded_file=SimpleUploadedFile("virus.pdf", content), folder="uploads")

    assert (refused.value.message, refused.value.field) == (VIRUS_MESSAGE, "file")
    assert stored_files() == []
    [record] = [r for r in caplog.records if r.name == "candidatures.dossiers"]
    assert record.levelno == logging.WARNING and SIGNATURE in record.getMessage()
    assert "virus.pdf" not in record.getMessage()


@pytest.mark.django_db
def test_an_infected_piece_uploaded_on_the_page_is_refused_with_the_message(client, scanned, company_candidature):
    response = client.post(
        reverse("piece_upload", args=[company_candidature.pk, "carte_pro_tp"]),
        {"file": SimpleUploadedFile("carte.pdf", INFECTED_PDF, "application/pdf")},
        follow=True,
    )

    assert response.status_code == 200
    assert VIRUS_MESSAGE in html.unescape(response.content.decode())
    assert not Document.objects.filter(candidature=company_candidature).exists()
    assert stored_files() == []


@pytest.mark.django_db
def test_an_infected_contestation_attachment_is_refused_with_the_message(client, scanned, company_candidature):
    flag = ExclusionFlag.objects.create(
        candidature=company_candidature,
        code="liquidation_judiciaire",
        severity=ExclusionFlag.Severity.EXCLUSION,
        ground="L2141-3 1°",
        source="bodacc",
    )

    response = client.post(
        reverse("flag_contest", args=[company_candidature.pk, flag.pk]),
        {"text": "Jugement infirmé en appel.", "files": [SimpleUploadedFile("arret.pdf", INFECTED_PDF)]},
        follow=True,
    )

    assert response.status_code == 400
    assert VIRUS_MESSAGE in html.unescape(response.content.decode())
    assert not Contestation.objects.exists() and not ContestationAttachment.objects.exists()
    assert stored_files() == []


def test_an_unreachable_clamd_refuses_the_upload(settings, tmp_path, caplog):
    settings.CLAMAV_URL = f"unix://{tmp_path}/no-clamd.ctl"

    with pytest.raises(dossiers.DossierError) as refused:
        dossiers.store_uploaded_file(uploaded_file=SimpleUploadedFile("c.pdf", CLEAN_PDF), folder="uploads")

    assert refused.value.message.startswith(UNAVAILABLE_MESSAGE) and "Réessayez" in refused.value.message
    assert stored_files() == []
    assert any(r.levelno == logging.ERROR and "no-clamd.ctl" in r.getMessage() for r in caplog.records)


def test_the_client_scans_over_tcp(scanned):
    antivirus.scan_bytes(content=CLEAN_PDF, url=scanned.tcp_url)
    with pytest.raises(antivirus.VirusFound) as found:
        antivirus.scan_bytes(content=INFECTED_PDF, url=scanned.tcp_url)

    assert found.value.signature == SIGNATURE


def test_a_stream_above_clamd_limit_fails_closed(scanned):
    # The fixture's clamd has StreamMaxLength 20M: it answers "INSTREAM size limit exceeded. ERROR" and hangs up.
    with pytest.raises(antivirus.ScannerUnavailable, match="size limit exceeded"):
        antivirus.scan_bytes(content=CLEAN_PDF + b"0" * (21 * 1024 * 1024))


def test_a_clamd_that_never_answers_times_out():
    # Listening, never accepting: the kernel completes the connection and takes the bytes, no answer comes.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        host, port = silent.getsockname()
        with pytest.raises(antivirus.ScannerUnavailable, match="stopped answering"):
            antivirus.scan_bytes(content=CLEAN_PDF, url=f"tcp://{host}:{port}", timeout=0.3)


def test_a_clamd_that_hangs_up_gives_no_verdict():
    with socket.create_server(("127.0.0.1", 0)) as rude:
        host, port = rude.getsockname()

        def hang_up():
            # Reads the whole stream (up to its zero-length chunk) so that the close is a clean end, not a reset.
            connection, _address = rude.accept()
            chunk, tail = b"-", b""
            while chunk and tail != b"\0\0\0\0":
                chunk = connection.recv(65536)
                tail = (tail + chunk)[-4:]
            connection.close()

        thread = threading.Thread(target=hang_up, daemon=True)
        thread.start()
        with pytest.raises(antivirus.ScannerUnavailable, match="closed without answering"):
            antivirus.scan_bytes(content=CLEAN_PDF, url=f"tcp://{host}:{port}", timeout=2)
        thread.join(timeout=5)


def test_a_malformed_url_fails_closed_and_fails_the_system_check(settings):
    settings.CLAMAV_URL = "http://127.0.0.1:3310"

    with pytest.raises(antivirus.ScannerUnavailable, match="unix:///"):
        antivirus.scan_bytes(content=CLEAN_PDF)
    assert [e.id for e in run_checks() if e.id.startswith("candidatures.")] == ["candidatures.E002"]


def test_scanning_disabled_without_url_warns_once(settings, caplog):
    settings.CLAMAV_URL = ""
    antivirus._warn_disabled.cache_clear()

    antivirus.scan_bytes(content=INFECTED_PDF)
    antivirus.scan_bytes(content=INFECTED_PDF)

    warnings = [r for r in caplog.records if r.name == "candidatures.antivirus"]
    assert len(warnings) == 1 and "CLAMAV_URL is empty" in warnings[0].getMessage()


def test_the_deploy_check_requires_clamav_url(settings):
    settings.CLAMAV_URL = ""
    assert "candidatures.E001" in [e.id for e in run_checks(include_deployment_checks=True)]
    assert "candidatures.E001" not in [e.id for e in run_checks()]  # development still starts without clamd

    settings.CLAMAV_URL = "unix:///run/clamav/clamd.ctl"
    assert "candidatures.E001" not in [e.id for e in run_checks(include_deployment_checks=True)]
