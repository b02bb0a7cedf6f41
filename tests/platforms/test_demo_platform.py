"""The demo buyer platform (`python -m platforms.demo_platform`): its webhook receiver refuses what the documented
verification refuses, it fails with a French message and exit code 1, and it runs end to end on the live stack."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import responses

from candidatures import demo, services
from candidatures.management.commands.load_demo import demo_platform_load
from connectors.sandbox import personas
from platforms import demo_platform
from platforms.models import WebhookEndpoint
from platforms.webhook_verification import sign

SECRET = "secret-du-test"
PORTAL = "http://portal.test"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def event(kind: str = demo_platform.DOSSIER_COMPLETE, candidature: int = 7) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": kind,
        "created_at": "2026-11-23T08:00:00+00:00",
        "data": {"candidature": {"id": candidature, "siret": personas.DEMO_SIRET}},
    }


def post_webhook(port: int, payload: dict, *, secret: str = SECRET, timestamp: int | None = None, delivery=None):
    """POST a webhook as the portal sends it; (status, body)."""
    body = json.dumps(payload).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(
            "POST",
            "/webhooks/",
            body=body,
            headers={
                "Content-Type": "application/json",
                "X-Passemarche-Timestamp": str(timestamp),
                "X-Signature-SHA256": sign(secret=secret, body=body, timestamp=timestamp),
                "X-Passemarche-Event": payload["type"],
                "X-Passemarche-Delivery": delivery or payload["id"],
            },
        )
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@pytest.fixture
def receiver():
    inbox = demo_platform.Inbox()
    server = demo_platform.start_receiver(port=0, secret=SECRET, inbox=inbox)
    yield server.server_address[1], inbox
    server.shutdown()
    server.server_close()


def test_a_signed_webhook_is_answered_204_and_received(receiver, capsys):
    port, inbox = receiver
    payload = event()

    assert post_webhook(port, payload) == (204, "")

    assert inbox.events == [payload]
    assert "Webhook vérifié : candidature.dossier_complete — candidature 7" in capsys.readouterr().out


def test_a_webhook_signed_with_another_secret_is_answered_401(receiver):
    port, inbox = receiver

    assert post_webhook(port, event(), secret="un-autre-secret") == (401, "signature_mismatch")
    assert inbox.events == []


def test_a_replayed_webhook_with_an_old_timestamp_is_answered_401(receiver):
    port, inbox = receiver

    status = post_webhook(port, event(), timestamp=int(time.time()) - 301)

    assert status == (401, "timestamp_too_old")
    assert inbox.events == []


def raw_post(port: int, path: str, headers: dict[str, str], body: bytes = b"") -> int:
    """A POST as written, without the Content-Length http.client would add; its status."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.putrequest("POST", path)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(body or None)
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_webhook_to_another_path_is_answered_404(receiver):
    port, inbox = receiver

    assert raw_post(port, "/ailleurs/", {"Content-Length": "2"}, b"{}") == 404
    assert inbox.events == []


def test_a_webhook_without_its_length_is_answered_411(receiver):
    port, inbox = receiver

    assert raw_post(port, "/webhooks/", {}) == 411
    assert inbox.events == []


def test_a_webhook_too_large_is_answered_413_unread(receiver):
    port, inbox = receiver

    assert raw_post(port, "/webhooks/", {"Content-Length": str(demo_platform.MAX_BODY_BYTES + 1)}) == 413
    assert inbox.events == []


def test_a_signed_webhook_that_is_not_json_is_answered_400(receiver):
    port, inbox = receiver
    body, timestamp = b"pas du json", int(time.time())

    status = raw_post(
        port,
        "/webhooks/",
        {
            "Content-Length": str(len(body)),
            "X-Passemarche-Timestamp": str(timestamp),
            "X-Signature-SHA256": sign(secret=SECRET, body=body, timestamp=timestamp),
        },
        body,
    )

    assert status == 400
    assert inbox.events == []


def test_a_webhook_delivered_twice_is_received_once(receiver, capsys):
    port, inbox = receiver
    payload = event()

    assert post_webhook(port, payload)[0] == 204
    assert post_webhook(port, payload)[0] == 204

    assert inbox.events == [payload]
    assert f"Webhook déjà reçu, ignoré (livraison {payload['id']})" in capsys.readouterr().out


def test_the_summary_names_a_protected_identity_without_revealing_it():
    dossier = {
        "siret": personas.NON_DIFFUSIBLE_SIRET,
        "status": "complete",
        "company": {"raison_sociale": None, "identite_protegee": True},
        "sources": {"insee_etablissement": {"status": "ok"}, "urssaf_attestation_vigilance": {"status": "refused"}},
        "documents": [],
        "exclusion_flags": [{"code": "urssaf_refus", "severity": "exclusion", "source": "urssaf"}],
    }

    lines = demo_platform.summary(dossier)

    assert "  raison sociale : (identité protégée : entreprise non diffusible)" in lines
    assert "  sources : 1/2 ok (urssaf_attestation_vigilance : refused)" in lines
    assert "    - [exclusion] urssaf_refus (urssaf)" in lines


def test_the_help_is_in_french_and_describes_every_option(capsys):
    with pytest.raises(SystemExit) as exited:
        demo_platform.main(["--help"])

    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert out.startswith("utilisation : python -m platforms.demo_platform")
    assert "-h, --help            afficher cette aide et quitter" in out
    assert "usage:" not in out and "show this help" not in out
    options = [action for action in demo_platform.build_parser()._actions if action.option_strings]
    assert [action.dest for action in options if not action.help] == []


def run_main(*arguments: str) -> int:
    return demo_platform.main(["--port", str(free_port()), "--wait", "0.5", "--timeout", "0.5", *arguments])


def test_an_unreachable_portal_ends_with_code_1_and_a_french_message(capsys):
    code = run_main("--once", "--portal", f"http://127.0.0.1:{free_port()}")

    assert code == 1
    err = capsys.readouterr().err
    assert "Erreur : Le portail ne répond pas à http://127.0.0.1:" in err
    assert "(connexion refusée) : est-il lancé (make run) ?" in err


def test_a_port_already_taken_ends_with_code_1(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code = demo_platform.main(["--once", "--port", str(taken.getsockname()[1]), "--portal", PORTAL])

    assert code == 1
    assert "(port déjà utilisé) : choisissez --port." in capsys.readouterr().err


@pytest.fixture
def portal_api():
    """The portal's API answered by `responses` (the receiver's own loopback traffic is not requests')."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, f"{PORTAL}/api/oauth/token/", status=405)
        mock.add(
            responses.POST,
            f"{PORTAL}/api/oauth/token/",
            json={"access_token": "jeton", "token_type": "Bearer", "expires_in": 3600, "scope": "consultations:read"},
        )
        yield mock


CONSULTATION = {"id": 3, "reference": demo_platform.REFERENCE, "candidate_link": f"{PORTAL}/c/DEMO-PLATEFORME-001/"}


def candidature(status: str) -> dict:
    return {
        "id": 7,
        "siret": personas.DEMO_SIRET,
        "state": "recuperation",
        "status": status,
        "company_link": f"{PORTAL}/c/DEMO-PLATEFORME-001/?siret={personas.DEMO_SIRET}",
    }


def test_refused_credentials_end_with_code_1(portal_api, capsys):
    portal_api.replace(responses.POST, f"{PORTAL}/api/oauth/token/", status=401, json={"error": "invalid_client"})

    assert run_main("--once", "--portal", PORTAL) == 1
    assert "Erreur : Jeton refusé par le portail (invalid_client)" in capsys.readouterr().err


def test_no_dossier_complete_webhook_before_the_deadline_ends_with_code_1(portal_api, capsys):
    portal_api.add(responses.POST, f"{PORTAL}/api/v1/consultations/", status=201, json=CONSULTATION)
    portal_api.add(
        responses.POST, f"{PORTAL}/api/v1/consultations/3/candidatures/", status=201, json=candidature("in_progress")
    )

    assert run_main("--once", "--portal", PORTAL) == 1
    assert "Erreur : Aucun webhook candidature.dossier_complete pour la candidature 7" in capsys.readouterr().err


def test_a_second_run_finds_its_consultation_on_a_later_page():
    taken = {"code": "validation_error", "message": "…", "fields": {"reference": ["Cette référence existe déjà."]}}
    first_page = f"{PORTAL}/api/v1/consultations/?organisation={demo.DEMO_BUYER_SIRET}"
    second_page = f"{first_page}&page=2"
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, f"{PORTAL}/api/v1/consultations/", status=400, json=taken)
        mock.add(
            responses.GET,
            first_page,
            match=[responses.matchers.query_param_matcher({"organisation": demo.DEMO_BUYER_SIRET})],
            json={"count": 2, "next": second_page, "previous": None, "results": [{"id": 1, "reference": "AUTRE"}]},
        )
        mock.add(
            responses.GET,
            second_page,
            match=[responses.matchers.query_param_matcher({"organisation": demo.DEMO_BUYER_SIRET, "page": "2"})],
            json={"count": 2, "next": None, "previous": first_page, "results": [CONSULTATION]},
        )
        portal = demo_platform.Portal(base_url=PORTAL, client_id="id", client_secret="secret")
        portal.token = "jeton"

        found, created = demo_platform.consultation_find_or_create(portal, buyer_siret=demo.DEMO_BUYER_SIRET)

    assert (found, created) == (CONSULTATION, False)


def test_a_dossier_already_complete_is_refreshed_and_its_new_webhook_awaited(portal_api, capsys):
    port = free_port()
    portal_api.add(
        responses.POST, f"{PORTAL}/api/v1/consultations/", status=400, json={"fields": {"reference": ["prise"]}}
    )
    portal_api.add(
        responses.GET,
        f"{PORTAL}/api/v1/consultations/",
        json={"count": 1, "next": None, "previous": None, "results": [CONSULTATION]},
    )
    portal_api.add(
        responses.POST, f"{PORTAL}/api/v1/consultations/3/candidatures/", status=200, json=candidature("complete")
    )

    def refreshed(request):
        # The portal fetches the source again, then the worker sends the webhook.
        threading.Thread(
            target=post_webhook, args=(port, event()), kwargs={"secret": demo.DEMO_PLATFORM_WEBHOOK_SECRET}
        ).start()
        return 202, {}, json.dumps({"source": "insee_etablissement", "status": "pending"})

    portal_api.add_callback(responses.POST, f"{PORTAL}/api/v1/candidatures/7/refresh/", callback=refreshed)
    portal_api.add(
        responses.GET,
        f"{PORTAL}/api/v1/candidatures/7/dossier/",
        json={
            "siret": personas.DEMO_SIRET,
            "status": "complete",
            "company": {"raison_sociale": "SOCIETE NATIONALE SNCF"},
            "sources": {"insee_etablissement": {"status": "ok"}},
            "documents": [],
            "exclusion_flags": [],
        },
    )

    code = demo_platform.main(["--once", "--portal", PORTAL, "--port", str(port), "--timeout", "10"])

    out = capsys.readouterr().out
    assert code == 0, out
    (refresh,) = [call for call in portal_api.calls if call.request.url.endswith("/refresh/")]
    assert json.loads(refresh.request.body) == {"source": "insee_etablissement"}
    assert "Dossier déjà complet : nouvelle récupération de la source insee_etablissement demandée." in out
    assert "Webhook vérifié : candidature.dossier_complete — candidature 7" in out
    assert "  raison sociale : SOCIETE NATIONALE SNCF" in out


def test_listening_renews_an_expired_token_and_reads_the_dossier(capsys):
    class OneEvent(demo_platform.Inbox):
        """Ends the endless listening (as Ctrl-C does) once its events are read."""

        def wait_for(self, predicate, *, timeout, start=0):
            if start >= len(self.events):
                raise KeyboardInterrupt
            return super().wait_for(predicate, timeout=0, start=start)

    inbox = OneEvent()
    inbox.add(delivery="d-1", event=event())
    portal = demo_platform.Portal(base_url=PORTAL, client_id="id", client_secret="secret")
    portal.token = "jeton-expire"
    dossier_url = f"{PORTAL}/api/v1/candidatures/7/dossier/"
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, dossier_url, status=401, json={"code": "invalid_token"})
        mock.add(responses.POST, f"{PORTAL}/api/oauth/token/", json={"access_token": "jeton-neuf", "expires_in": 3600})
        mock.add(
            responses.GET,
            dossier_url,
            match=[responses.matchers.header_matcher({"Authorization": "Bearer jeton-neuf"})],
            json={"siret": personas.DEMO_SIRET, "status": "complete", "company": {"raison_sociale": "SNCF"}},
        )

        with pytest.raises(KeyboardInterrupt):
            demo_platform.listen(portal, inbox, start=0)

        assert [call.request.method for call in mock.calls] == ["GET", "POST", "GET"]
    assert portal.token == "jeton-neuf"
    assert "  raison sociale : SNCF" in capsys.readouterr().out


# --- On the live stack ----------------------------------------------------------------------------------------


@pytest.mark.integration
def test_the_demo_platform_integrates_end_to_end(transactional_db, live_server, settings, sandbox, celery_worker):
    settings.SITE_URL = live_server.url
    settings.API_ENTREPRISE_BASE_URL = sandbox.base_url
    settings.BODACC_BASE_URL = f"{sandbox.base_url}/bodacc/api/explore/v2.1"
    # The demo client and its webhook, as `load_demo` creates them (not the whole command: the groups it uses were
    # created by a migration, and an earlier transactional test may have flushed them).
    organisation, _ = services.organisation_get_or_create(siret=demo.DEMO_BUYER_SIRET, name=demo.DEMO_BUYER_NAME)
    demo_platform_load(organisation=organisation)
    port = free_port()
    WebhookEndpoint.objects.filter(url=demo.DEMO_PLATFORM_WEBHOOK_URL).update(url=f"http://127.0.0.1:{port}/webhooks/")

    completed = subprocess.run(  # noqa: S603 (this interpreter, our module)
        [sys.executable, "-m", "platforms.demo_platform", "--once", "--portal", live_server.url, "--port", str(port)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    assert "Consultation DEMO-PLATEFORME-001 créée" in out
    assert "Webhook vérifié : consultation.published — consultation DEMO-PLATEFORME-001" in out
    assert "Webhook vérifié : candidature.dossier_complete — candidature" in out
    assert "  raison sociale : SOCIETE NATIONALE SNCF" in out
    ok, total = re.search(r"  sources : (\d+)/(\d+) ok", out).groups()
    assert ok == total and int(total) > 0
    assert "  motifs signalés : aucun" in out
