"""The circuit breaker: its states (injected clock, both stores), the connector seam (`responses`: refused
without HTTP, what counts as a failure) and the fetch task (an open breaker ends the fetch `error`, retried later)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from candidatures.models import SourceFetch, UpstreamCall
from candidatures.tasks import fetch_source, retry_due_fetches
from connectors import client, errors
from connectors.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, FileStore, RedisStore
from tests.connectors.payloads import load_case

from .payloads import API_ENTREPRISE_URL, BODACC_URL
from .test_ratelimit import Clock

INSEE = "/v4/insee/sirene/etablissements/55204944776279"
URSSAF = "/v4/urssaf/unites_legales/552049447/attestation_vigilance"
BODACC_PATH = "/catalog/datasets/annonces-commerciales/records"


@pytest.fixture(params=["file", "redis"])
def store(request, tmp_path):
    if request.param == "file":
        yield FileStore(tmp_path / "state")
        return
    store = RedisStore(request.getfixturevalue("redis_url"), prefix=f"test-breaker-{uuid.uuid4().hex}")
    yield store
    store.clear()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def breaker(store, clock):
    return CircuitBreaker(store=store, threshold=3, window=60.0, cooldown=120.0, trial_timeout=20.0, clock=clock)


def open_it(breaker, provider="p"):
    for _ in range(breaker.threshold):
        breaker.record_failure(provider)


# --- States --------------------------------------------------------------------------------------------------


def test_closed_lets_calls_through_below_the_threshold(breaker):
    breaker.record_failure("p")
    breaker.record_failure("p")

    assert breaker.before_call("p") is False
    assert breaker.state("p") == CLOSED


def test_the_threshold_of_consecutive_failures_opens_it_and_calls_are_refused(breaker, clock):
    open_it(breaker)
    clock.now += 30

    with pytest.raises(errors.ProviderDown) as caught:
        breaker.before_call("p")
    assert caught.value.retry_after == pytest.approx(90.0)
    assert isinstance(caught.value, errors.Transient)
    assert "indisponible" in str(caught.value)
    assert breaker.before_call("other") is False, "one breaker per provider"


def test_a_success_between_failures_starts_the_count_again(breaker):
    breaker.record_failure("p")
    breaker.record_failure("p")
    breaker.record_success("p")
    breaker.record_failure("p")
    breaker.record_failure("p")

    assert breaker.state("p") == CLOSED


def test_failures_further_apart_than_the_window_do_not_add_up(breaker, clock):
    breaker.record_failure("p")
    breaker.record_failure("p")
    clock.now += 61
    breaker.record_failure("p")
    breaker.record_failure("p")

    assert breaker.state("p") == CLOSED
    breaker.record_failure("p")
    assert breaker.state("p") == OPEN


def test_after_the_cooldown_one_trial_goes_and_the_others_wait(breaker, clock):
    open_it(breaker)
    clock.now += 120

    assert breaker.before_call("p") is True
    assert breaker.state("p") == HALF_OPEN
    with pytest.raises(errors.ProviderDown) as caught:
        breaker.before_call("p")
    assert caught.value.retry_after == pytest.approx(20.0)


def test_a_successful_trial_closes_it(breaker, clock):
    open_it(breaker)
    clock.now += 120
    breaker.before_call("p")

    breaker.record_success("p")

    assert breaker.state("p") == CLOSED
    assert breaker.before_call("p") is False


def test_a_failed_trial_opens_it_for_another_cooldown(breaker, clock):
    open_it(breaker)
    clock.now += 120
    breaker.before_call("p")

    breaker.record_failure("p")

    assert breaker.state("p") == OPEN
    with pytest.raises(errors.ProviderDown) as caught:
        breaker.before_call("p")
    assert caught.value.retry_after == pytest.approx(120.0)


def test_a_trial_that_never_answers_lets_another_try_after_its_lease(breaker, clock):
    open_it(breaker)
    clock.now += 120
    breaker.before_call("p")  # that worker was killed
    clock.now += 20

    assert breaker.before_call("p") is True


def test_a_released_trial_lets_the_next_caller_try_at_once(breaker, clock):
    open_it(breaker)
    clock.now += 120
    breaker.before_call("p")

    breaker.release_trial("p")

    assert breaker.before_call("p") is True


def test_redis_down_the_store_raises_a_transient_error_after_its_timeouts(dead_redis_url, clock):
    store = RedisStore(dead_redis_url, prefix="test-breaker-down")
    connection = store.redis.connection_pool.connection_kwargs
    breaker = CircuitBreaker(store=store, threshold=3, window=60.0, cooldown=120.0, trial_timeout=20.0, clock=clock)

    with pytest.raises(errors.StateUnavailable):
        breaker.before_call("p")
    with pytest.raises(errors.StateUnavailable):
        breaker.record_failure("p")
    assert (connection["socket_connect_timeout"], connection["socket_timeout"]) == (2.0, 2.0)


# --- The connector seam (responses) -----------------------------------------------------------------------------


@pytest.fixture
def threshold(settings):
    settings.CIRCUIT_BREAKER_THRESHOLD = 3
    return 3


def error_body(code: str, **meta) -> dict:
    return {"errors": [{"code": code, "title": "t", "detail": "d", "source": None, "meta": meta}]}


def test_repeated_502_open_the_provider_and_the_next_call_sends_nothing(http, call, call_records, threshold):
    http.get(f"{API_ENTREPRISE_URL}{INSEE}", json=error_body("04001"), status=502)
    for _ in range(threshold):
        with pytest.raises(errors.Transient):
            client.api_entreprise_get(INSEE, call=call)

    with pytest.raises(errors.ProviderDown) as caught:
        client.api_entreprise_get(INSEE, call=call)

    assert 0 < caught.value.retry_after <= 120
    assert len(http.calls) == threshold and len(call_records) == threshold, "no request, nothing recorded"
    assert client.circuit_breaker().state("api_entreprise:insee") == OPEN


def test_insee_down_does_not_shut_urssaf(http, call, threshold):
    http.get(f"{API_ENTREPRISE_URL}{INSEE}", json=error_body("04001"), status=502)
    _, body = load_case("api_entreprise_v4_acoss_attestations_sociales", "attestation_delivree.yaml")
    http.get(f"{API_ENTREPRISE_URL}{URSSAF}", json=body, status=200)
    for _ in range(threshold):
        with pytest.raises(errors.Transient):
            client.api_entreprise_get(INSEE, call=call)

    assert client.api_entreprise_get(URSSAF, call=call).http_status == 200


def test_redis_down_after_the_call_keeps_the_answer(http, call, monkeypatch):
    """The answer is in hand: the breaker missing it must not make the call again."""
    _, body = load_case("api_entreprise_v4_acoss_attestations_sociales", "attestation_delivree.yaml")
    http.get(f"{API_ENTREPRISE_URL}{URSSAF}", json=body, status=200)

    def down(self, provider):
        raise errors.StateUnavailable(retry_after=5.0)

    monkeypatch.setattr(CircuitBreaker, "record_success", down)

    assert client.api_entreprise_get(URSSAF, call=call).http_status == 200


def test_timeouts_and_connection_errors_count(http, call, threshold):
    http.get(f"{API_ENTREPRISE_URL}{INSEE}", body=requests.exceptions.ReadTimeout("slow"))
    http.get(f"{API_ENTREPRISE_URL}{INSEE}", body=requests.exceptions.ConnectionError("reset"))
    http.get(f"{API_ENTREPRISE_URL}{INSEE}", body=requests.exceptions.ReadTimeout("slow"))
    for _ in range(threshold):
        with pytest.raises(errors.Transient):
            client.api_entreprise_get(INSEE, call=call)

    with pytest.raises(errors.ProviderDown):
        client.api_entreprise_get(INSEE, call=call)


@pytest.mark.parametrize(("status", "code"), [(404, "04003"), (422, "00211"), (429, "00429")])
def test_answers_below_500_are_not_provider_failures(http, call, threshold, status, code):
    http.get(f"{API_ENTREPRISE_URL}{INSEE}", json=error_body(code), status=status, headers={"Retry-After": "0.01"})
    for _ in range(threshold + 1):
        client.rate_limiter().backend.clear()  # the 429's pause is not the subject here
        with pytest.raises(errors.ConnectorError) as caught:
            client.api_entreprise_get(INSEE, call=call)
        assert not isinstance(caught.value, errors.ProviderDown)

    assert client.circuit_breaker().state("api_entreprise:insee") == CLOSED


def test_a_days_long_retry_in_is_about_the_company_not_an_outage(http, call, threshold):
    # URSSAF's manual check of one company: 502 with retry_in 172800.
    http.get(f"{API_ENTREPRISE_URL}{URSSAF}", json=error_body("04501", retry_in=172800), status=502)
    for _ in range(threshold + 1):
        with pytest.raises(errors.Transient):
            client.api_entreprise_get(URSSAF, call=call)

    assert client.circuit_breaker().state("api_entreprise:urssaf") == CLOSED


def test_bodacc_and_documents_have_their_own_breakers(http, call, threshold):
    http.get(f"{BODACC_URL}{BODACC_PATH}", status=503)
    http.get(f"{API_ENTREPRISE_URL}/files/a.pdf", status=500)
    for _ in range(threshold):
        with pytest.raises(errors.Transient):
            client.bodacc_get(BODACC_PATH, params={}, call=call)
        with pytest.raises(errors.Transient):
            client.download_document(f"{API_ENTREPRISE_URL}/files/a.pdf", kind="attestation_vigilance", call=call)

    with pytest.raises(errors.ProviderDown):
        client.bodacc_get(BODACC_PATH, params={}, call=call)
    with pytest.raises(errors.ProviderDown):
        client.download_document(f"{API_ENTREPRISE_URL}/files/a.pdf", kind="attestation_vigilance", call=call)
    assert client.circuit_breaker().state("api_entreprise:insee") == CLOSED


def test_a_throttled_trial_gives_its_turn_back(http, call, settings, threshold):
    http.get(f"{API_ENTREPRISE_URL}{INSEE}", json=error_body("04001"), status=502)
    settings.CIRCUIT_BREAKER_COOLDOWN = 0.0
    for _ in range(threshold):
        with pytest.raises(errors.Transient):
            client.api_entreprise_get(INSEE, call=call)
    client.rate_limiter().pause("json", 30)

    with pytest.raises(errors.Throttled):
        client.api_entreprise_get(INSEE, call=call)

    assert client.circuit_breaker().before_call("api_entreprise:insee") is True, "the next caller is the trial"


# --- The fetch task ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_open_breaker_ends_the_fetch_error_with_a_scheduled_retry(
    candidature, api, enqueued, settings, django_capture_on_commit_callbacks
):
    breaker = client.circuit_breaker()
    for _ in range(settings.CIRCUIT_BREAKER_THRESHOLD):
        breaker.record_failure("api_entreprise:urssaf")
    fetch = candidature.fetches.get(source="urssaf_attestation_vigilance")
    enqueued.clear()

    fetch_source.apply(args=[fetch.pk])

    fetch.refresh_from_db()
    assert (fetch.status, fetch.attempts, fetch.error_code) == ("error", 0, "fournisseur_indisponible")
    assert "Le fournisseur de données est indisponible" in fetch.error_detail
    assert timedelta(0) < fetch.next_retry_at - timezone.now() <= timedelta(seconds=settings.CIRCUIT_BREAKER_COOLDOWN)
    assert not UpstreamCall.objects.exists() and len(api.calls) == 0
    assert retry_due_fetches() == 0, "not before the cool-down"

    SourceFetch.objects.filter(pk=fetch.pk).update(next_retry_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert retry_due_fetches() == 1
    fetch.refresh_from_db()
    assert (fetch.status, list(enqueued)) == ("pending", [fetch.pk]), "the periodic task enqueued it again"
