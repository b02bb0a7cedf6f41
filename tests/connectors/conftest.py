"""Fixtures of the connector tests.

None is autouse: the sandbox tests below this folder talk real loopback HTTP.
"""

from __future__ import annotations

import pytest
import responses

from connectors.types import CallContext, CallRecord

from .payloads import API_ENTREPRISE_URL, BODACC_URL, BUYER_SIRET


@pytest.fixture
def upstream_settings(settings):
    settings.API_ENTREPRISE_BASE_URL = API_ENTREPRISE_URL
    settings.API_ENTREPRISE_TOKEN = "test-token"
    settings.API_ENTREPRISE_CONTEXT = "Candidature marché public"
    settings.BODACC_BASE_URL = BODACC_URL
    settings.DOCUMENT_MAX_BYTES = 20 * 1024 * 1024
    return settings


@pytest.fixture
def http(upstream_settings):
    """Every request goes to `responses`; an unregistered URL fails as a connection error."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def call_records() -> list[CallRecord]:
    return []


@pytest.fixture
def call(call_records) -> CallContext:
    return CallContext(recipient=BUYER_SIRET, object="Consultation 2026-042", on_call=call_records.append)
