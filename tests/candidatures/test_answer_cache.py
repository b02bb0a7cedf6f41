"""The cache of upstream answers shared by every candidature (candidatures/answer_cache.py): its freshness rules,
the task served from it, the refresh that bypasses it, and the coalescing of identical calls."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis
import requests
from celery.exceptions import MaxRetriesExceededError, Retry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from candidatures import answer_cache, demo, dossiers, selectors, services
from candidatures.models import Candidature, CompanyIdentity, ExclusionFlag, SourceFetch, UpstreamCall
from candidatures.tasks import fetch_source
from connectors import errors, registry
from connectors.registry import Freshness
from connectors.sandbox import personas
from tests.connectors.payloads import load_case

pytestmark = pytest.mark.django_db

SIRET = "55204944776279"
OTHER_SIRET_SAME_SIREN = "55204944700006"
URSSAF_URL = "https://entreprise.api.gouv.fr/v4/urssaf/unites_legales/552049447/attestation_vigilance"
INSEE_URL = "https://entreprise.api.gouv.fr/v4/insee/sirene/etablissements/{siret}"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PARIS = ZoneInfo("Europe/Paris")


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


# --- The freshness rules ----------------------------------------------------------------------------------


def test_every_source_has_its_rule_in_the_registry():
    rules = {key: source.freshness for key, source in registry.SOURCES.items()}

    assert {key for key, rule in rules.items() if rule is Freshness.DAY} == {
        "insee_etablissement",
        "insee_unite_legale",
        "inpi_rne_extrait",
        "inpi_actes_bilans",
        "dgfip_chiffres_affaires",
        "bodacc",
    }
    assert rules["urssaf_attestation_vigilance"] is rules["dgfip_attestation_fiscale"] is Freshness.ATTESTATION
    assert rules["qualibat"] is rules["opqibi"] is rules["ademe_rge"] is Freshness.ATTESTATION


@pytest.mark.parametrize(
    ("fetched_at", "valid_until", "expected"),
    [
        pytest.param(paris(2026, 3, 10, 15, 0), None, paris(2026, 3, 11, 8, 0), id="afternoon: the next 8 a.m."),
        pytest.param(paris(2026, 3, 10, 7, 0), None, paris(2026, 3, 10, 8, 0), id="before 8 a.m.: that same 8 a.m."),
        pytest.param(paris(2026, 3, 10, 8, 0), None, paris(2026, 3, 11, 8, 0), id="at 8 a.m.: the next one"),
        pytest.param(
            paris(2026, 3, 10, 15, 0), date(2026, 9, 30), paris(2026, 3, 11, 8, 0), id="valid for months: 8 a.m."
        ),
        pytest.param(
            paris(2026, 3, 10, 2, 0), date(2026, 3, 10), paris(2026, 3, 10, 8, 0), id="ends today: 8 a.m. first"
        ),
        pytest.param(
            paris(2026, 3, 10, 9, 0), date(2026, 3, 10), paris(2026, 3, 11, 0, 0), id="ends today: midnight first"
        ),
        pytest.param(
            paris(2026, 3, 10, 15, 0), date(2023, 7, 31), paris(2026, 3, 11, 8, 0), id="expired when fetched: 8 a.m."
        ),
        pytest.param(paris(2026, 3, 28, 15, 0), None, paris(2026, 3, 29, 8, 0), id="over the change to summer time"),
    ],
)
def test_an_attestation_stays_fresh_until_its_end_of_validity_or_the_providers_8_am_whichever_first(
    fetched_at, valid_until, expected
):
    assert answer_cache.expires_at(freshness=Freshness.ATTESTATION, fetched_at=fetched_at, valid_until=valid_until) == (
        expected
    )
    assert expected - fetched_at <= answer_cache.MAX_AGE


def test_identity_turnover_and_bodacc_stay_fresh_a_day_whatever_the_hour():
    fetched_at = paris(2026, 3, 10, 15, 0)

    expires = answer_cache.expires_at(freshness=Freshness.DAY, fetched_at=fetched_at, valid_until=date(2026, 3, 10))

    assert expires == paris(2026, 3, 11, 15, 0)
    assert answer_cache.is_fresh(freshness=Freshness.DAY, fetched_at=fetched_at, now=expires - timedelta(seconds=1))
    assert not answer_cache.is_fresh(freshness=Freshness.DAY, fetched_at=fetched_at, now=expires)


def test_an_answer_from_the_future_is_not_fresh():
    """A clock gone wrong must not keep an answer for good."""
    now = paris(2026, 3, 10, 15, 0)

    assert not answer_cache.is_fresh(freshness=Freshness.DAY, fetched_at=now + timedelta(hours=2), now=now)


# --- The task served from the cache -----------------------------------------------------------------------


@pytest.fixture
def second_consultation(buyer):
    return services.consultation_get_or_create(organisation=buyer, reference="MARCHE-2026-02", market_type="travaux")


@pytest.fixture
def start(enqueued, django_capture_on_commit_callbacks):
    def start(consultation, siret=SIRET):
        with django_capture_on_commit_callbacks(execute=True):
            candidature, _ = services.candidature_start(consultation=consultation, siret=siret)
        return candidature

    return start


def run(candidature, source: str) -> SourceFetch:
    fetch = candidature.fetches.get(source=source)
    fetch_source.apply(args=[fetch.pk])
    fetch.refresh_from_db()
    return fetch


def urssaf_answers(api, case: str = "attestation_delivree.yaml") -> None:
    _, body = load_case("api_entreprise_v4_acoss_attestations_sociales", case)
    api.get(URSSAF_URL, json=body, status=200)
    if body["data"].get("document_url"):
        api.get(body["data"]["document_url"], body=PDF, status=200, content_type="application/pdf")


def test_a_fresh_answer_serves_the_next_candidature_without_any_call(api, consultation, second_consultation, start):
    urssaf_answers(api)
    first = run(start(consultation), "urssaf_attestation_vigilance")
    calls, audit = len(api.calls), UpstreamCall.objects.count()

    second_candidature = start(second_consultation)
    second = run(second_candidature, "urssaf_attestation_vigilance")

    assert (len(api.calls), UpstreamCall.objects.count()) == (calls, audit), "nothing was asked upstream"
    assert (second.status, second.http_status, second.payload) == ("ok", 200, first.payload)
    assert second.fetched_at == first.fetched_at, "when the State gave it, not when it was served"
    assert second.cached_from_id == first.pk
    (document,) = second_candidature.documents.all()
    (original,) = first.candidature.documents.all()
    assert document.pk != original.pk
    assert (document.file.name, document.sha256, document.valid_until, document.fetch_id) == (
        original.file.name,
        original.sha256,
        original.valid_until,
        second.pk,
    )
    with document.file.open("rb") as stored:
        assert stored.read() == PDF
    assert second_candidature.status == "in_progress", "the other sources are still to come"


def test_an_answer_from_the_cache_derives_the_identity_like_a_call(api, consultation, second_consultation, start):
    _, body = load_case("api_entreprise_v4_insee_etablissements", "personne_morale.yaml")
    api.get(INSEE_URL.format(siret=SIRET), json=body, status=200)
    run(start(consultation), "insee_etablissement")

    candidature = start(second_consultation)
    run(candidature, "insee_etablissement")

    assert len(api.calls) == 1
    first_identity = CompanyIdentity.objects.exclude(candidature=candidature).get()
    identity = CompanyIdentity.objects.get(candidature=candidature)
    assert identity.raison_sociale and identity.raison_sociale == first_identity.raison_sociale
    assert identity.provenance == first_identity.provenance
    assert selectors.identity_state(candidature=candidature) == "known"


def test_a_refusal_from_the_cache_raises_the_flag_like_a_call(api, consultation, second_consultation, start):
    urssaf_answers(api, "attestation_non_delivree.yaml")
    run(start(consultation), "urssaf_attestation_vigilance")

    candidature = start(second_consultation)
    fetch = run(candidature, "urssaf_attestation_vigilance")

    assert len(api.calls) == 1
    assert fetch.status == "refused"
    assert list(ExclusionFlag.objects.filter(candidature=candidature).values_list("code", flat=True)) == [
        "urssaf_refus"
    ]


def test_a_not_found_answer_is_served_too_but_an_error_is_not(api, consultation, second_consultation, start):
    def error_body(code):
        return {"errors": [{"code": code, "title": "t", "detail": "d", "source": None, "meta": {}}]}

    api.get(URSSAF_URL, json=error_body("04003"), status=404)
    api.get(INSEE_URL.format(siret=SIRET), json=error_body("00211"), status=422)
    first_candidature = start(consultation)
    first = run(first_candidature, "urssaf_attestation_vigilance")
    assert run(first_candidature, "insee_etablissement").status == "error"

    candidature = start(second_consultation)
    not_found = run(candidature, "urssaf_attestation_vigilance")
    error = run(candidature, "insee_etablissement")

    assert (not_found.status, not_found.http_status, not_found.error_code) == ("not_found", 404, "04003")
    assert (not_found.fetched_at, not_found.cached_from_id) == (first.fetched_at, first.pk)
    assert (error.status, error.cached_from_id) == ("error", None)
    assert [call.request.url.split("?")[0] for call in api.calls] == [
        URSSAF_URL,
        INSEE_URL.format(siret=SIRET),
        INSEE_URL.format(siret=SIRET),
    ]


def test_a_stale_answer_costs_a_call(api, consultation, second_consultation, start):
    urssaf_answers(api)
    first = run(start(consultation), "urssaf_attestation_vigilance")
    SourceFetch.objects.filter(pk=first.pk).update(fetched_at=timezone.now() - timedelta(days=1, minutes=1))

    second = run(start(second_consultation), "urssaf_attestation_vigilance")

    assert second.cached_from_id is None
    assert second.fetched_at > first.fetched_at
    assert UpstreamCall.objects.filter(fetch=second, provider="api_entreprise").count() == 1


def test_an_answer_served_from_the_cache_points_at_the_call_that_gave_it(api, buyer, start):
    urssaf_answers(api)
    candidatures = [
        start(services.consultation_get_or_create(organisation=buyer, reference=f"MARCHE-{n}")) for n in range(3)
    ]
    first, second, third = (run(candidature, "urssaf_attestation_vigilance") for candidature in candidatures)

    assert (second.cached_from_id, third.cached_from_id) == (first.pk, first.pk)
    assert len(api.calls) == 2  # the JSON answer and its PDF, once


def test_a_siren_keyed_source_serves_every_establishment_of_the_company(api, consultation, second_consultation, start):
    urssaf_answers(api)
    _, body = load_case("api_entreprise_v4_insee_etablissements", "personne_morale.yaml")
    api.get(INSEE_URL.format(siret=SIRET), json=body, status=200)
    api.get(INSEE_URL.format(siret=OTHER_SIRET_SAME_SIREN), json=body, status=200)
    first = start(consultation)
    run(first, "urssaf_attestation_vigilance")
    run(first, "insee_etablissement")

    other_establishment = start(second_consultation, siret=OTHER_SIRET_SAME_SIREN)
    urssaf = run(other_establishment, "urssaf_attestation_vigilance")
    insee = run(other_establishment, "insee_etablissement")

    assert urssaf.cached_from_id is not None, "the URSSAF attestation is the company's (SIREN)"
    assert insee.cached_from_id is None, "the establishment is another one (SIRET)"
    assert INSEE_URL.format(siret=OTHER_SIRET_SAME_SIREN) in [call.request.url.split("?")[0] for call in api.calls]


def test_a_source_the_buyer_is_no_longer_habilitated_for_is_never_served_from_the_cache(
    api, consultation, other_org, start
):
    urssaf_answers(api)
    run(start(consultation), "urssaf_attestation_vigilance")
    other_consultation = services.consultation_get_or_create(organisation=other_org, reference="PARIS-1")
    candidature = start(other_consultation)
    yesterday = timezone.localdate() - timedelta(days=1)
    other_org.habilitations.update(ends_on=yesterday, starts_on=yesterday - timedelta(days=30))

    fetch = run(candidature, "urssaf_attestation_vigilance")

    assert (fetch.status, fetch.cached_from_id, fetch.payload) == ("unauthorized", None, None)
    assert not candidature.documents.exists()


def test_another_organisation_is_served_the_same_answer(api, consultation, other_org, start):
    """API Entreprise's answer does not depend on the recipient: only the habilitation does, checked first."""
    urssaf_answers(api)
    first = run(start(consultation), "urssaf_attestation_vigilance")

    other = start(services.consultation_get_or_create(organisation=other_org, reference="PARIS-1"))

    assert run(other, "urssaf_attestation_vigilance").cached_from_id == first.pk


# --- The refresh bypasses it ------------------------------------------------------------------------------


def test_a_refresh_bypasses_the_cache_and_asks_the_provider_for_a_new_answer(
    api, consultation, second_consultation, start, enqueued, django_capture_on_commit_callbacks
):
    urssaf_answers(api)
    run(start(consultation), "urssaf_attestation_vigilance")
    candidature = start(second_consultation)
    served = run(candidature, "urssaf_attestation_vigilance")
    assert served.cached_from_id is not None
    enqueued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        dossiers.fetch_restart(fetch=served, requested_by="acheteur@example.fr")
    assert enqueued == [served.pk]
    refreshed = run(candidature, "urssaf_attestation_vigilance")

    json_calls = [call for call in api.calls if call.request.url.startswith(URSSAF_URL)]
    assert [call.request.headers.get("Cache-Control") for call in json_calls] == [None, "no-cache"]
    assert (refreshed.status, refreshed.cached_from_id, refreshed.bypass_cache) == ("ok", None, False)
    assert refreshed.fetched_at > served.fetched_at
    assert UpstreamCall.objects.filter(fetch=refreshed, provider="api_entreprise").count() == 1


def test_a_refresh_still_bypasses_the_cache_on_its_retries(
    api, consultation, second_consultation, start, settings, django_capture_on_commit_callbacks
):
    settings.FETCH_MAX_ATTEMPTS = 2
    urssaf_answers(api)
    run(start(consultation), "urssaf_attestation_vigilance")
    served = run(start(second_consultation), "urssaf_attestation_vigilance")
    api.replace("GET", URSSAF_URL, json={"errors": [{"code": "04999"}]}, status=502)

    with django_capture_on_commit_callbacks(execute=True):
        dossiers.fetch_restart(fetch=served)
    fetch = run(served.candidature, "urssaf_attestation_vigilance")

    assert (fetch.status, fetch.attempts, fetch.cached_from_id) == ("error", 2, None)
    assert fetch.bypass_cache, "still asked: a scheduled retry would call the provider too"
    assert UpstreamCall.objects.filter(fetch=fetch, http_status=502).count() == 2


# --- Coalescing -------------------------------------------------------------------------------------------


def test_a_task_finding_the_same_call_under_way_comes_back_later_without_counting_an_attempt(api, consultation, start):
    fetch = start(consultation).fetches.get(source="urssaf_attestation_vigilance")
    key = answer_cache.coalescing_key(source="urssaf_attestation_vigilance", identifier="552049447")
    assert selectors.fetch_call_key(fetch=fetch) == key

    with answer_cache.upstream_lock(key) as granted:
        assert granted
        with pytest.raises(Retry):
            fetch_source(fetch.pk)

    fetch.refresh_from_db()
    assert (fetch.status, fetch.attempts, fetch.task_id) == ("pending", 0, "")
    assert len(api.calls) == 0


def test_a_task_served_from_the_cache_does_not_wait_for_the_lock(api, consultation, second_consultation, start):
    urssaf_answers(api)
    run(start(consultation), "urssaf_attestation_vigilance")
    fetch = start(second_consultation).fetches.get(source="urssaf_attestation_vigilance")
    key = answer_cache.coalescing_key(source="urssaf_attestation_vigilance", identifier="552049447")

    with answer_cache.upstream_lock(key):
        assert fetch_source(fetch.pk) == "ok"


def test_a_task_served_from_the_cache_looks_it_up_once_and_loads_the_fetch_twice(
    api, consultation, second_consultation, start
):
    """The lookup before the lock serves the answer: no second lookup, no third load of the fetch."""
    urssaf_answers(api)
    run(start(consultation), "urssaf_attestation_vigilance")
    fetch = start(second_consultation).fetches.get(source="urssaf_attestation_vigilance")

    with CaptureQueriesContext(connection) as captured:
        assert fetch_source(fetch.pk) == "ok"

    queries = [query["sql"] for query in captured.captured_queries if "SAVEPOINT" not in query["sql"]]
    lookups = [sql for sql in queries if '"status" IN' in sql and "fetched_at" in sql]
    loads = [sql for sql in queries if 'INNER JOIN "candidatures_consultation"' in sql and "LIMIT 1" in sql]
    assert (len(lookups), len(loads)) == (1, 2)
    assert len(queries) <= 14, "\n".join(queries)


def test_redis_down_the_lock_raises_a_transient_error(settings, dead_redis_url):
    settings.REDIS_URL = dead_redis_url

    with pytest.raises(errors.StateUnavailable), answer_cache.upstream_lock("passemarche:test-lock:down"):
        pass


def test_run_inline_a_task_finding_the_call_under_way_waits_then_gives_up_without_recursing(
    api, consultation, start, monkeypatch
):
    monkeypatch.setattr(answer_cache, "COALESCING_RETRY_DELAY", 0.0)
    fetch = start(consultation).fetches.get(source="urssaf_attestation_vigilance")
    key = answer_cache.coalescing_key(source="urssaf_attestation_vigilance", identifier="552049447")

    with answer_cache.upstream_lock(key):  # held for good by another process
        result = fetch_source.apply(args=[fetch.pk])

    assert isinstance(result.result, MaxRetriesExceededError)
    fetch.refresh_from_db()
    assert (fetch.status, fetch.attempts) == ("pending", 0)


def test_the_lock_files_are_this_runs_own(settings):
    """Not under var/, shared with `make run` and the other test runs."""
    assert answer_cache.FileLock("k").path.parent == settings.UPSTREAM_STATE_DIR / "locks"


def test_the_lock_is_released_after_the_call_even_when_it_fails(api, consultation, start):
    api.get(URSSAF_URL, json={"errors": [{"code": "04003"}]}, status=404)
    fetch = run(start(consultation), "urssaf_attestation_vigilance")
    key = answer_cache.coalescing_key(source="urssaf_attestation_vigilance", identifier="552049447")

    assert fetch.status == "not_found"
    with answer_cache.upstream_lock(key) as granted:
        assert granted


def test_a_file_lock_is_held_by_one_holder_at_a_time(tmp_path):
    first = answer_cache.FileLock("a", folder=tmp_path)
    second = answer_cache.FileLock("a", folder=tmp_path)

    assert first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


def test_a_redis_lock_is_held_by_one_holder_and_released_only_by_it(redis_url):
    key = f"passemarche:test-lock:{time.monotonic_ns()}"
    first = answer_cache.redis_lock(key, url=redis_url)
    second = answer_cache.redis_lock(key, url=redis_url)

    assert first.acquire()
    assert not second.acquire()
    with pytest.raises(redis.exceptions.LockError):
        second.release()  # not its lock: refused, the lock stays
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


def test_a_redis_lock_expires_when_its_holder_died(redis_url):
    key = f"passemarche:test-lock:{time.monotonic_ns()}"
    assert answer_cache.redis_lock(key, url=redis_url, ttl=0.001).acquire()
    deadline = time.monotonic() + 5
    while not answer_cache.redis_lock(key, url=redis_url).acquire():
        assert time.monotonic() < deadline, "the lock of a dead holder never expired"
        time.sleep(0.01)


def test_upstream_lock_uses_redis_when_redis_url_is_set(redis_url, settings):
    settings.REDIS_URL = redis_url
    key = f"passemarche:test-lock:{time.monotonic_ns()}"

    with answer_cache.upstream_lock(key) as granted:
        assert granted
        assert not answer_cache.redis_lock(key, url=redis_url).acquire()
    assert answer_cache.redis_lock(key, url=redis_url).acquire()


# --- With a real worker and the sandbox ----------------------------------------------------------------------


def _start_in(reference: str, siret: str, only_sources=None):
    organisation, _ = services.organisation_get_or_create(siret=demo.DEMO_BUYER_SIRET, name="Acheteur test")
    consultation = services.consultation_get_or_create(organisation=organisation, reference=reference)
    candidature, _ = services.candidature_start(
        consultation=consultation, siret=siret, requested_by="test", only_sources=only_sources
    )
    return candidature


def _wait_complete(*candidatures, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    pks = [candidature.pk for candidature in candidatures]
    while set(Candidature.objects.filter(pk__in=pks).values_list("status", flat=True)) != {"complete"}:
        assert time.monotonic() < deadline, list(
            SourceFetch.objects.filter(candidature__in=pks).values_list("source", "status", "error_code")
        )
        time.sleep(0.1)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_second_tender_of_a_company_costs_no_upstream_call_and_completes(celery_worker, faults):
    first = _start_in("CACHE-1", personas.DEMO_SIRET)
    _wait_complete(first)
    calls = len(faults.calls())
    assert calls > 0

    second = _start_in("CACHE-2", personas.DEMO_SIRET)
    _wait_complete(second)

    assert len(faults.calls()) == calls, "the second dossier was assembled from the cache"
    fetches = SourceFetch.objects.filter(candidature=second)
    assert {fetch.status for fetch in fetches} == {"ok"}
    assert all(fetch.cached_from is not None for fetch in fetches)
    assert sorted(second.documents.values_list("kind", "sha256")) == sorted(
        first.documents.values_list("kind", "sha256")
    )
    assert not UpstreamCall.objects.filter(fetch__candidature=second).exists()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_two_tenders_of_a_company_started_at_once_make_each_upstream_call_once(celery_worker, faults, sandbox):
    # Slow answers, so that the two tasks of a source run at the same time (cleared by `faults` after the test).
    requests.post(
        f"{sandbox.base_url}/__sandbox__/latency", json={"path": "/insee/|/urssaf/", "ms": 800}, timeout=5
    ).raise_for_status()
    sources = {"insee_etablissement", "urssaf_attestation_vigilance"}

    candidatures = [_start_in(f"COALESCE-{n}", personas.DEMO_SIRET, only_sources=sources) for n in range(2)]
    _wait_complete(*candidatures)

    paths = Counter(call["path"] for call in faults.calls())
    assert len(paths) == 3 and max(paths.values()) == 1, paths  # two JSON answers and one PDF, each asked once
    fetches = SourceFetch.objects.filter(candidature__in=candidatures, source__in=sources)
    assert set(fetches.values_list("status", flat=True)) == {"ok"}
    assert sorted(fetches.filter(cached_from__isnull=False).values_list("source", flat=True)) == sorted(sources)
