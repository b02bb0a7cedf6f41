"""Reads of the platforms' side: what an API client may reach (anything else is a 404)."""

from __future__ import annotations

from django.db.models import QuerySet

from candidatures.models import Candidature, Consultation, Organisation

from .models import ApiClient


def client_organisations(*, client: ApiClient) -> QuerySet[Organisation]:
    return Organisation.objects.filter(api_clients=client)


def client_consultations(*, client: ApiClient) -> QuerySet[Consultation]:
    return Consultation.objects.filter(organisation__api_clients=client).select_related("organisation")


def client_candidatures(*, client: ApiClient) -> QuerySet[Candidature]:
    return Candidature.objects.filter(consultation__organisation__api_clients=client).select_related(
        "consultation__organisation", "company"
    )
