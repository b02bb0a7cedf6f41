"""Contract: what the live API answers validates against the OpenAPI schema it serves (/api/schema/).

Real parts only: the live server, a real Celery worker assembling dossiers from the sandbox over HTTP, and
schemathesis reading the served schema. Bounded: a few examples per operation, a handful of candidatures.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from django.conf import settings as django_settings
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings

from candidatures import demo, services
from candidatures.models import ExclusionFlag
from connectors.sandbox import personas
from platforms import services as platform_services
from tests.builders import wait_complete

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Dossiers of every shape: complete and clean, with an exclusion ground, closed, unknown to every source, and
# non-diffusible (its identity masked: the organisation has no protected-data habilitation).
SIRETS = (
    personas.DEMO_SIRET,
    personas.LIQUIDATION_SIRET,
    personas.CLOSED_SIRET,
    personas.UNKNOWN_SIRET,
    personas.NON_DIFFUSIBLE_SIRET,
)


@pytest.fixture
def live_api(live_server, settings, upstream, celery_worker):
    """The live server with an API client, a published consultation and assembled dossiers of every shape."""
    settings.SITE_URL = live_server.url
    organisation, _ = services.organisation_get_or_create(siret=demo.DEMO_BUYER_SIRET, name="Acheteur contrat")
    consultation = services.consultation_get_or_create(
        organisation=organisation, reference="CONTRAT-001", market_type="travaux"
    )
    client, secret = platform_services.api_client_create(
        name="Plateforme contrat", organisations=[organisation], scopes=list(django_settings.API_SCOPES)
    )
    candidatures = [
        services.candidature_start(consultation=consultation, siret=siret, requested_by="contrat")[0]
        for siret in SIRETS
    ]
    wait_complete(*candidatures, timeout=90)
    token = requests.post(
        f"{live_server.url}/api/oauth/token/",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, secret),
        timeout=10,
    ).json()["access_token"]
    return live_server.url, {"Authorization": f"Bearer {token}"}, candidatures


@pytest.fixture
def api_schema(live_api):
    base_url, _headers, _candidatures = live_api
    return schemathesis.openapi.from_url(f"{base_url}/api/schema/")


def test_every_dossier_shape_validates_against_the_served_schema(live_api, api_schema):
    base_url, headers, candidatures = live_api
    assert ExclusionFlag.objects.filter(candidature__in=candidatures).exists(), "no dossier with a flag"
    operation = api_schema["/api/v1/candidatures/{id}/dossier/"]["GET"]
    shapes = set()
    for candidature in candidatures:
        case = operation.Case(path_parameters={"id": candidature.pk})
        response = case.call_and_validate(base_url=base_url, headers=headers)
        dossier = response.json()
        assert dossier["schema"] == "passemarche.dossier/1"
        assert dossier["siret"] == candidature.siret
        shapes.add((dossier["company"] is None, bool(dossier["exclusion_flags"]), dossier["status"]))
        if candidature.siret == personas.NON_DIFFUSIBLE_SIRET:
            assert dossier["company"]["identite_protegee"] is True
            assert dossier["company"]["raison_sociale"] is None
    assert len(shapes) >= 3, shapes


def test_the_candidature_and_list_answers_validate_against_the_served_schema(live_api, api_schema):
    base_url, headers, candidatures = live_api
    consultation_id = candidatures[0].consultation_id
    operation = api_schema["/api/v1/consultations/{id}/candidatures/"]["GET"]
    response = operation.Case(path_parameters={"id": consultation_id}).call_and_validate(
        base_url=base_url, headers=headers
    )
    assert response.json()["count"] == len(SIRETS)
    detail = api_schema["/api/v1/candidatures/{id}/"]["GET"]
    for candidature in candidatures:
        detail.Case(path_parameters={"id": candidature.pk}).call_and_validate(base_url=base_url, headers=headers)


def test_generated_reads_conform_to_the_schema(live_api, api_schema):
    """Schemathesis generates requests for every read operation (bounded: a few examples each); every answer,
    error or not, must be one the schema declares, with the body it declares, and never a server error."""
    base_url, headers, _candidatures = live_api
    operations = [result.ok() for result in api_schema.include(method="GET").get_all_operations()]
    assert len(operations) >= 8

    for operation in operations:

        @hypothesis_settings(
            max_examples=6,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def conforms(case):
            case.call_and_validate(base_url=base_url, headers=headers)

        conforms()
