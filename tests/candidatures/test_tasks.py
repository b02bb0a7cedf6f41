"""The fetch task run eagerly against `responses` on the official payloads: retries, finals, audit."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from candidatures import selectors, services
from candidatures.models import SourceFetch, UpstreamCall
from candidatures.tasks import fetch_source, retry_due_fetches
from connectors import client, registry
from tests.connectors.payloads import load_case

pytestmark = pytest.mark.django_db

URSSAF_URL = "https://entreprise.api.gouv.fr/v4/urssaf/unites_legales/552049447/attestation_vigilance"
INSEE_URL = "https://entreprise.api.gouv.fr/v4/insee/sirene/etablissements/55204944776279"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def urssaf_ok(api):
    _, body = load_case("api_entreprise_v4_acoss_attestations_sociales", "attestation_delivree.yaml")
    api.get(URSSAF_URL, json=body, status=200)
    api.get(body["data"]["document_url"], body=PDF, status=200, content_type="application/pdf")


def run(candidature, source: str) -> SourceFetch:
    fetch = candidature.fetches.get(source=source)
    fetch_source.apply(args=[fetch.pk])
    fetch.refresh_from_db()
    return fetch


def error_body(code: str, **meta) -> dict:
    return {"errors": [{"code": code, "title": "t", "detail": "d", "source": None, "meta": meta}]}


def test_success_stores_the_certificate_with_its_sha256_and_records_every_call(candidature, api):
    urssaf_ok(api)

    fetch = run(candidature, "urssaf_attestation_vigilance")

    assert (fetch.status, fetch.attempts, fetch.http_status) == ("ok", 1, 200)
    document = candidature.documents.get()
    assert document.sha256 == hashlib.sha256(PDF).hexdigest()
    assert document.valid_until.isoformat() == "2023-07-31"
    calls = list(UpstreamCall.objects.order_by("pk").values_list("provider", "http_status", "recipient"))
    assert calls == [("api_entreprise", 200, "13002526500013"), ("document", 200, "")]


def test_502_then_200_is_retried(candidature, api):
    api.get(URSSAF_URL, json=error_body("04999"), status=502)
    urssaf_ok(api)

    fetch = run(candidature, "urssaf_attestation_vigilance")

    assert (fetch.status, fetch.attempts) == ("ok", 2)
    assert list(
        UpstreamCall.objects.filter(provider="api_entreprise").order_by("pk").values_list("http_status", flat=True)
    ) == [502, 200]


def test_429_then_200_is_retried(candidature, api):
    api.get(URSSAF_URL, json=error_body("00429"), status=429, headers={"Retry-After": "1"})
    urssaf_ok(api)

    assert run(candidature, "urssaf_attestation_vigilance").status == "ok"


def test_timeout_then_200_is_retried(candidature, api):
    api.get(URSSAF_URL, body=requests.exceptions.ReadTimeout("slow"))
    urssaf_ok(api)

    fetch = run(candidature, "urssaf_attestation_vigilance")

    assert (fetch.status, fetch.attempts) == ("ok", 2)


def test_a_provider_down_ends_in_error_after_the_attempt_cap(candidature, api, settings):
    settings.FETCH_MAX_ATTEMPTS = 3
    api.get(URSSAF_URL, json=error_body("04002"), status=504)

    fetch = run(candidature, "urssaf_attestation_vigilance")

    assert (fetch.status, fetch.attempts, fetch.http_status, fetch.error_code) == ("error", 3, 504, "04002")
    assert UpstreamCall.objects.filter(provider="api_entreprise").count() == 3


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [(404, "04003", "not_found"), (422, "00211", "error"), (401, "00101", "error"), (403, "00100", "error")],
)
def test_4xx_answers_are_never_retried(candidature, api, status, code, expected):
    api.get(URSSAF_URL, json=error_body(code), status=status)

    fetch = run(candidature, "urssaf_attestation_vigilance")

    assert (fetch.status, fetch.attempts, fetch.http_status, fetch.error_code) == (expected, 1, status, code)


def test_a_retry_in_of_days_becomes_a_scheduled_refresh(candidature, api):
    api.get(URSSAF_URL, json=error_body("04501", retry_in=172800), status=502)

    fetch = run(candidature, "urssaf_attestation_vigilance")

    assert (fetch.status, fetch.attempts, fetch.error_code) == ("error", 1, "04501")
    assert timedelta(days=1, hours=23) < fetch.next_retry_at - timezone.now() <= timedelta(days=2)
    assert retry_due_fetches() == 0, "not due yet"


def test_running_the_task_twice_does_nothing_the_second_time(candidature, api):
    _, body = load_case("api_entreprise_v4_insee_etablissements", "personne_morale.yaml")
    api.get(INSEE_URL, json=body, status=200)

    first = run(candidature, "insee_etablissement")
    second = run(candidature, "insee_etablissement")

    assert (first.status, second.attempts) == ("ok", 1)
    assert UpstreamCall.objects.count() == 1


def test_a_refresh_asked_by_someone_is_recorded_as_theirs_in_the_audit_trail(candidature, api):
    urssaf_ok(api)
    fetch = candidature.fetches.get(source="urssaf_attestation_vigilance")

    fetch_source.apply(args=[fetch.pk, "agent@ville-exemple.fr"])

    assert set(UpstreamCall.objects.values_list("requested_by", flat=True)) == {"agent@ville-exemple.fr"}


def test_an_unexpected_error_of_the_connector_is_retried_then_ends_as_an_internal_error(
    candidature, api, settings, monkeypatch
):
    settings.FETCH_MAX_ATTEMPTS = 2
    source = registry.SOURCES["urssaf_attestation_vigilance"]

    def broken(identifier, *, call):
        raise ValueError("bug in a parser")

    monkeypatch.setitem(registry.SOURCES, source.key, replace(source, fetch=broken))

    fetch = run(candidature, "urssaf_attestation_vigilance")

    assert (fetch.status, fetch.attempts, fetch.error_code) == ("error", 2, "erreur_interne")
    assert fetch.error_detail == "Erreur interne lors de la récupération."
    assert fetch.is_final  # the company is not left waiting for it


def test_a_failure_while_storing_the_answer_never_leaves_the_fetch_pending(candidature, api, settings, monkeypatch):
    settings.FETCH_MAX_ATTEMPTS = 2
    urssaf_ok(api)
    urssaf_ok(api)

    def failing_derive(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(services, "candidature_derive", failing_derive)

    fetch = run(candidature, "urssaf_attestation_vigilance")

    assert (fetch.status, fetch.attempts, fetch.error_code) == ("error", 2, "erreur_interne")
    assert fetch.payload is None  # the failed store was rolled back, not half-saved
    assert not candidature.documents.exists()


# --- Redis down (the coalescing lock, the limiter, the breakers) -------------------------------------------------


def assert_retried_then_scheduled(fetch, settings):
    assert (fetch.status, fetch.attempts, fetch.error_code) == ("error", 2, "etat_partage_indisponible")
    assert fetch.next_retry_at is not None, "retry_due_fetches tries it again"
    due = selectors.fetches_due_for_retry(now=timezone.now() + timedelta(seconds=settings.FETCH_RETRY_MAX_DELAY + 1))
    assert fetch.pk in due
    assert UpstreamCall.objects.count() == 0


def test_redis_down_for_the_lock_the_fetch_is_retried_then_scheduled(candidature, api, settings, dead_redis_url):
    settings.FETCH_MAX_ATTEMPTS = 2
    settings.REDIS_URL = dead_redis_url
    urssaf_ok(api)

    fetch = run(candidature, "urssaf_attestation_vigilance")

    assert_retried_then_scheduled(fetch, settings)
    assert len(api.calls) == 0


def test_redis_down_for_the_limiter_and_breakers_the_fetch_is_retried_then_scheduled(
    candidature, api, settings, monkeypatch, dead_redis_url
):
    """The lock in a file, the limiter and the breakers in a Redis that does not answer."""
    settings.FETCH_MAX_ATTEMPTS = 2
    down = client._state_backends(dead_redis_url, str(settings.UPSTREAM_STATE_DIR), "test-down")
    monkeypatch.setattr(client, "_backends", lambda: down)
    urssaf_ok(api)

    fetch = run(candidature, "urssaf_attestation_vigilance")

    assert_retried_then_scheduled(fetch, settings)
    assert len(api.calls) == 0
