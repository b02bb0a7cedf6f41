"""The engine checks the buyer organisation's habilitation before every call: a source not covered that day ends
`unauthorized`, is never called, and says why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from candidatures import dossier_view, selectors, services
from candidatures.models import Habilitation, SourceFetch, UpstreamCall
from candidatures.tasks import fetch_source

pytestmark = pytest.mark.django_db

SIRET = "55204944776279"


def start(consultation, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        candidature, _ = services.candidature_start(consultation=consultation, siret=SIRET)
    return candidature


def test_a_habilitation_ended_after_the_request_stops_the_call(
    api, consultation, enqueued, django_capture_on_commit_callbacks
):
    candidature = start(consultation, django_capture_on_commit_callbacks)
    fetch = candidature.fetches.get(source="urssaf_attestation_vigilance")
    assert fetch.status == SourceFetch.Status.PENDING
    yesterday = timezone.localdate() - timedelta(days=1)
    consultation.organisation.habilitations.update(ends_on=yesterday, starts_on=yesterday - timedelta(days=30))

    # `api` is a RequestsMock with nothing registered: any HTTP call would raise ConnectionError.
    assert fetch_source.apply(args=[fetch.pk]).get() == SourceFetch.Status.UNAUTHORIZED

    fetch.refresh_from_db()
    assert fetch.status == SourceFetch.Status.UNAUTHORIZED
    assert fetch.error_code == services.UNAUTHORIZED_CODE
    assert f"a pris fin le {yesterday:%d/%m/%Y}" in fetch.error_detail
    assert len(api.calls) == 0
    assert not UpstreamCall.objects.filter(fetch=fetch).exists()


def test_sources_outside_the_habilitation_end_unauthorized_at_once(
    consultation, enqueued, django_capture_on_commit_callbacks
):
    habilitation = consultation.organisation.habilitations.get()
    habilitation.sources = [key for key in habilitation.sources if key != "dgfip_attestation_fiscale"]
    habilitation.save()

    candidature = start(consultation, django_capture_on_commit_callbacks)

    fetch = candidature.fetches.get(source="dgfip_attestation_fiscale")
    assert fetch.status == SourceFetch.Status.UNAUTHORIZED
    assert fetch.pk not in enqueued
    assert "n'est pas habilitée" in fetch.error_detail
    # Whoever asks why the piece is missing reads the reason on the page.
    assert "n'est pas habilitée" in str(dossier_view.source_row(fetch).explanation)


def test_a_habilitation_not_yet_in_force_says_when_it_starts(
    consultation, enqueued, django_capture_on_commit_callbacks
):
    starts = timezone.localdate() + timedelta(days=5)
    consultation.organisation.habilitations.update(starts_on=starts)

    candidature = start(consultation, django_capture_on_commit_callbacks)

    assert enqueued == []
    assert set(candidature.fetches.values_list("status", flat=True)) == {SourceFetch.Status.UNAUTHORIZED}
    assert f"ne commence que le {starts:%d/%m/%Y}" in candidature.fetches.first().error_detail
    candidature.refresh_from_db()
    assert candidature.status == candidature.Status.COMPLETE  # nothing left to wait for


def test_a_habilitation_for_aides_publiques_does_not_open_public_procurement(consultation):
    organisation = consultation.organisation
    organisation.habilitations.update(use_case=Habilitation.UseCase.AIDES_PUBLIQUES)

    assert selectors.habilitated_sources(organisation=organisation) == set()


def test_habilitated_sources_on_a_given_day(consultation):
    organisation = consultation.organisation
    today = timezone.localdate()
    organisation.habilitations.update(starts_on=today - timedelta(days=10), ends_on=today)

    assert "bodacc" in selectors.habilitated_sources(organisation=organisation, on=today)
    assert selectors.habilitated_sources(organisation=organisation, on=today + timedelta(days=1)) == set()
    assert selectors.habilitated_sources(organisation=organisation, on=today - timedelta(days=11)) == set()


def test_the_default_habilitation_cannot_hold_data_closed_to_public_procurement(db):
    with pytest.raises(ValueError, match="Banque de France"):
        services.organisation_get_or_create(siret="21750001600019", sources=["bodacc", "bdf_bilans_entreprise"])


def test_the_protected_data_habilitation_is_read_on_the_day(consultation):
    organisation = consultation.organisation
    assert selectors.may_see_protected_identity(organisation=organisation) is False
    organisation.habilitations.update(protected_data=True)
    assert selectors.may_see_protected_identity(organisation=organisation) is True
    organisation.habilitations.update(ends_on=timezone.localdate() - timedelta(days=1))
    assert selectors.may_see_protected_identity(organisation=organisation) is False
    assert selectors.may_see_protected_identity(organisation=None) is False


def test_starting_a_candidature_reads_the_habilitations_once_however_many_sources_are_refused(
    consultation, enqueued, django_capture_on_commit_callbacks
):
    def habilitation_queries(siret):
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            services.candidature_start(consultation=consultation, siret=siret)
        return sum("habilitation" in query["sql"] for query in queries)

    all_allowed = habilitation_queries(SIRET)
    consultation.organisation.habilitations.update(sources=["bodacc"])
    most_refused = habilitation_queries("47846480300319")

    assert all_allowed == most_refused == 1
