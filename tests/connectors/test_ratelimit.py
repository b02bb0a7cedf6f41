"""The shared rate limiter: its arithmetic (injected clock), both backends, several processes, the connector seam
(`responses`: Throttled before any request, 429 and RateLimit-* corrections) and the fetch task."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from celery.exceptions import Retry
from django.conf import settings
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured

from candidatures.models import SourceFetch, UpstreamCall
from candidatures.tasks import fetch_source
from connectors import client, errors, ratelimit
from connectors.ratelimit import FileBackend, Limit, RateLimiter, RedisBackend, Slot
from tests.connectors.payloads import load_case

from .payloads import API_ENTREPRISE_URL, BODACC_URL

INSEE = "/v4/insee/sirene/etablissements/55204944776279"
URSSAF_URL = f"{API_ENTREPRISE_URL}/v4/urssaf/unites_legales/552049447/attestation_vigilance"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


class Clock:
    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["file", "redis"])
def make_backend(request, tmp_path):
    """A factory of backends of one kind on one shared state (each with its own clock)."""
    created = []
    if request.param == "file":

        def make(clock):
            return FileBackend(tmp_path / "state", clock=clock)
    else:
        url, prefix = request.getfixturevalue("redis_url"), f"test-limiter-{uuid.uuid4().hex}"

        def make(clock):
            backend = RedisBackend(url, prefix=prefix, clock=clock)
            created.append(backend)
            return backend

    yield make
    for backend in created:
        backend.clear()


# --- Parsing ---------------------------------------------------------------------------------------------------


def test_the_default_spec_is_parsed_per_family():
    assert ratelimit.parse_limits("json=250/60s,documents=50/60s,ip=1000/60s") == {
        "json": Limit(250, 60.0),
        "documents": Limit(50, 60.0),
        "ip": Limit(1000, 60.0),
    }
    assert ratelimit.parse_limits(" json = 20 / 5 , ip=40/2.5s ") == {"json": Limit(20, 5.0), "ip": Limit(40, 2.5)}


@pytest.mark.parametrize("spec", ["json=abc", "json250/60s", "json=0/60s", "json=10/0s", "json=1/60s,json=2/60s"])
def test_a_malformed_spec_is_refused_naming_the_variable(spec):
    with pytest.raises(ImproperlyConfigured, match="API_ENTREPRISE_RATE_LIMITS"):
        ratelimit.parse_limits(spec)


def test_a_malformed_spec_fails_the_system_check(settings):
    settings.API_ENTREPRISE_RATE_LIMITS = "json=250 per minute"

    errors_found = [error for error in run_checks() if error.id == "candidatures.E003"]

    assert len(errors_found) == 1 and "API_ENTREPRISE_RATE_LIMITS" in errors_found[0].msg


def test_the_default_spec_passes_the_system_check():
    assert "candidatures.E003" not in [error.id for error in run_checks()]


# --- The arithmetic (pure functions, injected clock) ------------------------------------------------------------


def test_a_full_window_waits_until_its_oldest_call_leaves():
    limit = Limit(3, 60.0)
    log = [100.0, 110.0, 130.0]

    assert ratelimit.window_wait(log, limit, now=131.0) == 29.0  # 100 leaves at 160
    assert ratelimit.window_prune(log, limit, now=160.0) == [110.0, 130.0]
    assert ratelimit.window_wait(ratelimit.window_prune(log, limit, now=160.0), limit, now=160.0) == 0.0


def test_phantoms_leave_the_window_when_the_upstream_resets():
    limit = Limit(10, 60.0)
    log = [100.0, 101.0]  # we think 8 remain

    phantoms = ratelimit.window_phantoms(log, limit, now=110.0, remaining=5, reset_in=20.0)

    assert phantoms == [70.0] * 3  # 70 + 60 = 130 = now + reset_in
    assert ratelimit.window_phantoms(log, limit, now=110.0, remaining=9, reset_in=20.0) == []


@pytest.mark.parametrize(("value", "expected"), [("1700000030", 30.0), ("12", 12.0), ("", None), ("soon", None)])
def test_reset_is_a_unix_time_or_a_delay(value, expected):
    assert ratelimit.reset_seconds(value, now=1_700_000_000.0) == expected


# --- Both backends, injected clock -------------------------------------------------------------------------------


def test_a_burst_up_to_the_limit_goes_at_once_then_waits(make_backend):
    clock = Clock()
    backend, slot = make_backend(clock), Slot("t:json", Limit(5, 60.0))

    assert [backend.acquire([slot]) for _ in range(5)] == [0.0] * 5
    clock.now += 10
    assert backend.acquire([slot]) == pytest.approx(50.0)
    clock.now += 50
    assert backend.acquire([slot]) == 0.0


def test_a_refused_call_is_not_counted(make_backend):
    clock = Clock()
    backend, slot = make_backend(clock), Slot("t:json", Limit(2, 60.0))
    backend.acquire([slot])
    clock.now += 30
    backend.acquire([slot])

    for _ in range(10):
        assert backend.acquire([slot]) > 0
    clock.now += 30  # the first leaves; the refusals left no trace
    assert backend.acquire([slot]) == 0.0
    assert backend.acquire([slot]) == pytest.approx(30.0)


def test_several_families_are_granted_all_or_nothing(make_backend):
    clock = Clock()
    backend = make_backend(clock)
    json_slot, ip_slot = Slot("t:json", Limit(1, 60.0)), Slot("ip", Limit(2, 60.0))
    backend.acquire([json_slot, ip_slot])

    assert backend.acquire([json_slot, ip_slot]) == pytest.approx(60.0)
    # The refusal above took nothing from `ip`: one call is still left there.
    assert backend.acquire([Slot("u:json", Limit(1, 60.0)), ip_slot]) == 0.0
    assert backend.acquire([ip_slot]) > 0


def test_the_sliding_window_never_grants_more_than_the_limit_in_any_period(make_backend):
    clock = Clock(1000.0)
    backend, limit = make_backend(clock), Limit(4, 10.0)
    granted = []
    for step in range(200):  # irregular arrivals over 60 s
        clock.now = 1000.0 + step * 0.3 + (step % 7) * 0.05
        if backend.acquire([Slot("k", limit)]) == 0.0:
            granted.append(clock.now)

    assert max(sum(1 for t in granted if start <= t < start + 10.0) for start in granted) == 4
    assert len(granted) >= 4 * 5  # the whole budget is used: about 4 per 10 s over 60 s


def test_a_pause_holds_the_family_and_only_moves_later(make_backend):
    clock = Clock()
    backend = make_backend(clock)
    backend.pause("t:json", 30.0)
    backend.pause("t:json", 5.0)

    assert backend.acquire([Slot("t:json", Limit(100, 60.0))]) == pytest.approx(30.0)
    assert backend.acquire([Slot("t:documents", Limit(100, 60.0))]) == 0.0
    # A family without a configured limit honours its pause too.
    backend.pause("bodacc", 12.0)
    assert backend.acquire([Slot("bodacc", None)]) == pytest.approx(12.0)
    clock.now += 30
    assert backend.acquire([Slot("t:json", Limit(100, 60.0))]) == 0.0


def test_a_correction_leaves_only_what_the_upstream_says_remains(make_backend):
    clock = Clock()
    backend, limit = make_backend(clock), Limit(10, 60.0)
    backend.acquire([Slot("t:json", limit)])

    backend.correct("t:json", limit, remaining=2, reset_in=20.0)

    assert [backend.acquire([Slot("t:json", limit)]) for _ in range(2)] == [0.0, 0.0]
    assert backend.acquire([Slot("t:json", limit)]) == pytest.approx(20.0)  # the phantoms leave at the reset
    clock.now += 20
    assert backend.acquire([Slot("t:json", limit)]) == 0.0


def test_a_family_named_twice_costs_two_calls_all_or_nothing(make_backend):
    """A JSON call taking its document's slots: `ip` counts the JSON request and the download."""
    limiter = RateLimiter(
        limits={"json": Limit(5, 60.0), "documents": Limit(5, 60.0), "ip": Limit(3, 60.0)},
        backend=make_backend(Clock()),
        token="t",
    )
    assert limiter.acquire("json", "documents", "ip", "ip") == 0.0
    assert limiter.acquire("json", "documents", "ip", "ip") > 0, "one ip call left, two asked: nothing granted"

    assert limiter.acquire("ip") == 0.0
    assert limiter.acquire("ip") > 0


def test_a_pause_never_lasts_more_than_the_cap(make_backend):
    limiter = RateLimiter(limits={"json": Limit(5, 60.0)}, backend=make_backend(Clock()), token="t")

    limiter.pause("json", 1e12)
    limiter.pause("json", float("inf"))

    assert limiter.acquire("json") == ratelimit.MAX_RESET_SECONDS


def test_redis_down_the_limiter_raises_a_transient_error_after_its_timeouts(dead_redis_url):
    backend = RedisBackend(dead_redis_url, prefix="test-limiter-down")
    connection = backend.redis.connection_pool.connection_kwargs

    with pytest.raises(errors.StateUnavailable) as caught:
        RateLimiter(limits={"json": Limit(5, 60.0)}, backend=backend, token="t").acquire("json")

    assert isinstance(caught.value, errors.Transient) and caught.value.retry_after > 0
    assert (connection["socket_connect_timeout"], connection["socket_timeout"]) == (2.0, 2.0)


def test_clear_forgets_everything(make_backend):
    clock = Clock()
    backend, slot = make_backend(clock), Slot("t:json", Limit(1, 60.0))
    backend.acquire([slot])
    backend.pause("ip", 60.0)

    backend.clear()

    assert backend.acquire([slot, Slot("ip", Limit(5, 60.0))]) == 0.0


def test_redis_uses_its_own_clock_when_none_is_injected(redis_url):
    backend = RedisBackend(redis_url, prefix=f"test-limiter-{uuid.uuid4().hex}")
    try:
        slot = Slot("t:json", Limit(1, 60.0))
        assert backend.acquire([slot]) == 0.0
        assert 59.0 < backend.acquire([slot]) <= 60.0
    finally:
        backend.clear()


# --- Several processes share it ---------------------------------------------------------------------------------

ATTEMPTS_PER_PROCESS = 40
PROCESSES = 4
# A separate Python process (no Django): acquire json + ip as fast as it can once told to go; print the grants.
HAMMER = """
import sys
from connectors.ratelimit import FileBackend, Limit, RateLimiter, RedisBackend
kind, location, token, attempts = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
backend = FileBackend(location) if kind == "file" else RedisBackend(location, prefix="test-limiter-shared")
limiter = RateLimiter(limits={"json": Limit(25, 600.0), "ip": Limit(40, 600.0)}, backend=backend, token=token)
print("ready", flush=True)
sys.stdin.readline()
print(sum(limiter.acquire("json", "ip") == 0.0 for _ in range(attempts)), flush=True)
"""


@pytest.mark.parametrize("kind", ["file", "redis"])
def test_processes_hammering_one_family_never_get_more_than_the_limit(kind, tmp_path, request):
    """4 processes (2 per token) × 40 attempts within one window of 600 s: json 25 per token, ip 40 in all."""
    if kind == "redis":
        location = request.getfixturevalue("redis_url")
        RedisBackend(location, prefix="test-limiter-shared").clear()
    else:
        location = str(tmp_path / "state")
    processes = {
        f"token-{index % 2}-{index}": subprocess.Popen(  # noqa: S603 (our own interpreter and script)
            [sys.executable, "-c", HAMMER, kind, location, f"token-{index % 2}", str(ATTEMPTS_PER_PROCESS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=settings.BASE_DIR,
        )
        for index in range(PROCESSES)
    }
    try:
        for process in processes.values():
            assert process.stdout.readline().strip() == "ready"
        for process in processes.values():  # all at once
            process.stdin.write("go\n")
            process.stdin.flush()
        granted = {name: int(process.communicate(timeout=60)[0]) for name, process in processes.items()}
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
        if kind == "redis":
            RedisBackend(location, prefix="test-limiter-shared").clear()

    per_token = {
        token: sum(count for name, count in granted.items() if name.startswith(token))
        for token in ("token-0", "token-1")
    }
    assert sum(per_token.values()) == 40, f"ip: 40 in the window, however the processes interleave ({granted})"
    assert all(count <= 25 for count in per_token.values()), per_token
    assert all(process.returncode == 0 for process in processes.values())


# --- The connector seam (responses) -----------------------------------------------------------------------------


def insee_ok(http, **headers):
    _, body = load_case("api_entreprise_v4_insee_etablissements", "personne_morale.yaml")
    http.get(f"{API_ENTREPRISE_URL}{INSEE}", json=body, status=200, headers=headers)


def test_over_the_budget_throttled_before_any_request(http, call, call_records, settings):
    settings.API_ENTREPRISE_RATE_LIMITS = "json=2/60s,documents=50/60s,ip=1000/60s"
    insee_ok(http)
    client.api_entreprise_get(INSEE, call=call)
    client.api_entreprise_get(INSEE, call=call)

    with pytest.raises(errors.Throttled) as caught:
        client.api_entreprise_get(INSEE, call=call)

    assert 0 < caught.value.retry_after <= 61
    assert isinstance(caught.value, errors.Transient)
    assert len(http.calls) == 2 and len(call_records) == 2, "no request sent, none recorded"


def test_documents_count_for_the_ip_family_too(http, call, settings):
    settings.API_ENTREPRISE_RATE_LIMITS = "json=250/60s,documents=50/60s,ip=2/60s"
    insee_ok(http)
    http.get(f"{API_ENTREPRISE_URL}/files/a.pdf", body=PDF, status=200, content_type="application/pdf")
    client.api_entreprise_get(INSEE, call=call)
    client.download_document(f"{API_ENTREPRISE_URL}/files/a.pdf", kind="attestation_vigilance", call=call)

    with pytest.raises(errors.Throttled):
        client.api_entreprise_get(INSEE, call=call)
    assert len(http.calls) == 2


def test_a_429_pauses_the_family_until_retry_after(http, call, call_records):
    http.get(
        f"{API_ENTREPRISE_URL}{INSEE}", json={"errors": [{"code": "00429"}]}, status=429, headers={"Retry-After": "30"}
    )
    with pytest.raises(errors.RateLimited):
        client.api_entreprise_get(INSEE, call=call)

    with pytest.raises(errors.Throttled) as caught:
        client.api_entreprise_get(INSEE, call=call)

    assert 29 < caught.value.retry_after <= 37
    assert len(http.calls) == 1 and len(call_records) == 1
    assert client.rate_limiter().acquire("documents") == 0.0, "only the json family waits"


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [
        pytest.param("1e12", ratelimit.MAX_RESET_SECONDS - 1, ratelimit.MAX_RESET_SECONDS + 1, id="years: the cap"),
        pytest.param("inf", 59, 61, id="not a number of seconds: the default"),
    ],
)
def test_a_429_with_an_absurd_retry_after_pauses_the_family_within_bounds(http, call, retry_after, low, high):
    http.get(
        f"{API_ENTREPRISE_URL}{INSEE}",
        json={"errors": [{"code": "00429"}]},
        status=429,
        headers={"Retry-After": retry_after},
    )
    with pytest.raises(errors.RateLimited) as raised:
        client.api_entreprise_get(INSEE, call=call)

    with pytest.raises(errors.Throttled) as caught:
        client.api_entreprise_get(INSEE, call=call)
    assert raised.value.retry_after < high
    assert low < caught.value.retry_after < high


def test_a_429_without_retry_after_pauses_the_family_for_its_retry_in(http, call):
    http.get(f"{API_ENTREPRISE_URL}{INSEE}", json={"errors": [{"code": "00429", "meta": {"retry_in": 30}}]}, status=429)
    with pytest.raises(errors.RateLimited) as raised:
        client.api_entreprise_get(INSEE, call=call)

    with pytest.raises(errors.Throttled) as caught:
        client.api_entreprise_get(INSEE, call=call)
    assert raised.value.retry_after == 30
    assert 29 < caught.value.retry_after <= 37, "the pause and the error say the same wait"


def test_remaining_zero_pauses_the_family_until_the_reset(http, call):
    insee_ok(http, **{"RateLimit-Limit": "250", "RateLimit-Remaining": "0", "RateLimit-Reset": "20"})
    client.api_entreprise_get(INSEE, call=call)

    with pytest.raises(errors.Throttled) as caught:
        client.api_entreprise_get(INSEE, call=call)
    assert 19 < caught.value.retry_after <= 25
    assert len(http.calls) == 1


def test_remaining_lower_than_ours_is_believed(http, call):
    insee_ok(http, **{"RateLimit-Limit": "250", "RateLimit-Remaining": "1", "RateLimit-Reset": "20"})
    client.api_entreprise_get(INSEE, call=call)  # we think 249 remain, the upstream says 1
    client.api_entreprise_get(INSEE, call=call)

    with pytest.raises(errors.Throttled):
        client.api_entreprise_get(INSEE, call=call)
    assert len(http.calls) == 2


def test_a_bodacc_429_pauses_bodacc_only(http, call):
    http.get(f"{BODACC_URL}/catalog/datasets/annonces-commerciales/records", status=429, headers={"Retry-After": "45"})
    with pytest.raises(errors.RateLimited):
        client.bodacc_get("/catalog/datasets/annonces-commerciales/records", params={}, call=call)

    with pytest.raises(errors.Throttled):
        client.bodacc_get("/catalog/datasets/annonces-commerciales/records", params={}, call=call)
    insee_ok(http)
    client.api_entreprise_get(INSEE, call=call)  # API Entreprise's families are not BODACC's
    assert len(http.calls) == 2


def test_a_malformed_setting_fails_the_call_with_its_name(http, call, settings):
    settings.API_ENTREPRISE_RATE_LIMITS = "json=lots"

    with pytest.raises(ImproperlyConfigured, match="API_ENTREPRISE_RATE_LIMITS"):
        client.api_entreprise_get(INSEE, call=call)
    assert len(http.calls) == 0


# --- The fetch task ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_throttled_fetch_stays_pending_without_an_attempt_and_is_retried(candidature, api, monkeypatch):
    _, body = load_case("api_entreprise_v4_acoss_attestations_sociales", "attestation_delivree.yaml")
    api.get(URSSAF_URL, json=body, status=200)
    api.get(body["data"]["document_url"], body=PDF, status=200, content_type="application/pdf")
    fetch = candidature.fetches.get(source="urssaf_attestation_vigilance")
    retries = []
    real_retry = fetch_source.retry

    def retry(*args, **kwargs):
        fetch.refresh_from_db()
        retries.append((kwargs.get("countdown"), fetch.status, fetch.attempts, UpstreamCall.objects.count()))
        return real_retry(*args, **kwargs)

    monkeypatch.setattr(fetch_source, "retry", retry)
    client.rate_limiter().pause("json", 0.05)  # e.g. after a 429 seen by another worker

    fetch_source.apply(args=[fetch.pk])

    ((countdown, status, attempts, calls),) = retries
    assert countdown > 0
    assert (status, attempts, calls) == (SourceFetch.Status.PENDING, 0, 0), "no attempt, no call, still pending"
    fetch.refresh_from_db()
    assert (fetch.status, fetch.attempts) == ("ok", 1)
    assert list(UpstreamCall.objects.values_list("attempt", flat=True)) == [1, 1]


def urssaf_ok(api):
    _, body = load_case("api_entreprise_v4_acoss_attestations_sociales", "attestation_delivree.yaml")
    api.get(URSSAF_URL, json=body, status=200)
    api.get(body["data"]["document_url"], body=PDF, status=200, content_type="application/pdf")


@pytest.mark.django_db
def test_a_source_with_a_document_takes_its_slots_before_the_json_call_never_after(candidature, api, settings):
    """The documents budget spent elsewhere: the fetch waits before its JSON call, instead of making it on every
    retry while its download is refused."""
    settings.API_ENTREPRISE_RATE_LIMITS = "json=100/60s,documents=1/60s,ip=100/60s"
    urssaf_ok(api)
    fetch = candidature.fetches.get(source="urssaf_attestation_vigilance")
    assert client.rate_limiter().acquire("documents") == 0.0  # another dossier's download

    for _ in range(3):
        with pytest.raises(Retry):
            fetch_source(fetch.pk)

    assert len(api.calls) == 0
    fetch.refresh_from_db()
    assert (fetch.status, fetch.attempts) == (SourceFetch.Status.PENDING, 0)


@pytest.mark.django_db
def test_the_download_of_a_document_goes_on_the_slots_its_json_call_took(candidature, api, settings):
    settings.API_ENTREPRISE_RATE_LIMITS = "json=100/60s,documents=1/60s,ip=100/60s"
    urssaf_ok(api)
    fetch = candidature.fetches.get(source="urssaf_attestation_vigilance")

    fetch_source.apply(args=[fetch.pk])

    fetch.refresh_from_db()
    assert (fetch.status, fetch.attempts, len(api.calls)) == ("ok", 1, 2), "one documents slot was enough"
    assert client.rate_limiter().acquire("documents") > 0, "and it was counted"
