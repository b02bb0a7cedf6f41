"""Each API client has its own request budget (API_THROTTLE_RATE), counted in the shared cache."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from platforms.api.throttling import ApiClientThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def two_requests_a_minute(monkeypatch):
    cache.clear()
    monkeypatch.setattr(ApiClientThrottle, "rate", "2/min", raising=False)
    yield
    cache.clear()


def test_past_its_budget_a_client_gets_a_json_429_with_retry_after(api_http):
    assert [api_http.get("/api/v1/consultations/").status_code for _ in range(2)] == [200, 200]

    response = api_http.get("/api/v1/consultations/")

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert "réessayez dans" in response.json()["message"]
    assert 0 < int(response["Retry-After"]) <= 60


def test_the_budget_is_per_client(api_http, scoped_http):
    for _ in range(2):
        api_http.get("/api/v1/consultations/")
    assert api_http.get("/api/v1/consultations/").status_code == 429

    other = scoped_http(["consultations:read"])
    assert other.get("/api/v1/consultations/").status_code == 200
