"""The Django admin pages of the domain render, and the audit trail cannot be edited there."""

from __future__ import annotations

import pytest
from django.urls import reverse

from candidatures import services
from candidatures.models import SourceFetch, UpstreamCall
from connectors.types import CallRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded_call(candidature):
    fetch = candidature.fetches.get(source="insee_etablissement")
    return services.upstream_call_record(
        fetch=fetch,
        record=CallRecord(
            provider="api_entreprise",
            url="https://entreprise.api.gouv.fr/v4/insee/sirene/etablissements/55204944776279",
            params={"recipient": "13002526500013", "context": "Candidature marché public", "object": "R"},
            http_status=200,
            error_code="",
            duration_ms=42,
            response_excerpt="{}",
        ),
    )


@pytest.mark.parametrize(
    "model", ["organisation", "consultation", "candidature", "sourcefetch", "upstreamcall", "document"]
)
def test_changelists_render(admin_client, recorded_call, model):
    response = admin_client.get(reverse(f"admin:candidatures_{model}_changelist"))
    assert response.status_code == 200


def test_candidature_page_shows_its_fetches(admin_client, candidature):
    response = admin_client.get(reverse("admin:candidatures_candidature_change", args=[candidature.pk]))

    assert response.status_code == 200
    assert "insee_etablissement" in response.content.decode()


def test_audit_rows_and_fetches_are_read_only(admin_client, recorded_call):
    fetch = SourceFetch.objects.get(pk=recorded_call.fetch_id)

    assert admin_client.get(reverse("admin:candidatures_upstreamcall_add")).status_code == 403
    assert (
        admin_client.post(
            reverse("admin:candidatures_upstreamcall_delete", args=[recorded_call.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert (
        admin_client.post(
            reverse("admin:candidatures_sourcefetch_delete", args=[fetch.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert UpstreamCall.objects.filter(pk=recorded_call.pk).exists()
