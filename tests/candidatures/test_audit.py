"""The audit trail: the upstream calls and the buyers' accesses in the admin (filters, search, CSV export), their
purge after the retention period, and every access of a buyer to a dossier recorded (and only the buyers')."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from candidatures import audit
from candidatures.models import Candidature, DossierAccess, OrganisationMember, UpstreamCall
from candidatures.tasks import purge_audit_trail
from passemarche.celery import app as celery_app
from tests.builders import add_attachment, add_document, add_flag, finish_fetches, make_user, submit

pytestmark = pytest.mark.django_db

S0, S1, S2 = "55204944776279", "47846480300319", "35005144700018"
CALL_HEADER = [
    "date",
    "source",
    "fournisseur",
    "siret",
    "siren",
    "organisation",
    "recipient",
    "objet",
    "demande_par",
    "url",
    "statut_http",
    "code_erreur",
    "duree_ms",
    "tentative",
]
ACCESS_HEADER = ["date", "utilisateur", "organisation", "siret", "consultation", "action", "detail", "adresse_ip"]


def call(*, source, siret, organisation=None, http_status=200, provider="api_entreprise", **extra) -> UpstreamCall:
    return UpstreamCall.objects.create(
        source=source,
        provider=provider,
        organisation=organisation,
        siret=siret,
        siren=siret[:9],
        recipient=organisation.siret if organisation else "",
        url=f"https://entreprise.api.gouv.fr/v3/{source}/{siret}",
        http_status=http_status,
        duration_ms=42,
        **extra,
    )


def age(model, obj, *, days: int) -> None:
    """created_at is auto_now_add: moved back in time by an update."""
    model.objects.filter(pk=obj.pk).update(created_at=timezone.now() - timedelta(days=days))


@pytest.fixture
def calls(buyer, other_org):
    return {
        "ok": call(
            source="bodacc",
            provider="bodacc",
            siret=S0,
            organisation=buyer,
            requested_by="acheteur@example.gouv.fr",
        ),
        "not_found": call(source="insee_etablissement", siret=S1, organisation=buyer, http_status=404),
        "quota": call(
            source="urssaf_attestation_vigilance",
            siret=S1,
            organisation=other_org,
            http_status=429,
            requested_by="entreprise@example.fr",
        ),
        "server": call(source="dgfip_attestation_fiscale", siret=S2, organisation=other_org, http_status=503),
        "network": call(source="bodacc", provider="bodacc", siret=S2, http_status=None, error_code="timeout"),
    }


def listed(response) -> set[int]:
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def pks(calls, *names) -> set[int]:
    return {calls[name].pk for name in names}


def csv_of(response) -> tuple[list[str], list[list[str]]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # for Excel
    header, *rows = csv.reader(io.StringIO(text[1:]), delimiter=";")
    return header, rows


CALLS = "admin:candidatures_upstreamcall_changelist"
CALLS_EXPORT = "admin:candidatures_upstreamcall_export"
ACCESSES = "admin:candidatures_dossieraccess_changelist"
ACCESSES_EXPORT = "admin:candidatures_dossieraccess_export"


# --- The upstream calls in the admin -------------------------------------------------------------------


def test_the_upstream_call_filters_render(admin_client, calls):
    response = admin_client.get(reverse(CALLS))

    titles = [str(spec.title) for spec in response.context["cl"].filter_specs]
    assert titles == ["source", "fournisseur", "résultat", "organisation", "date"]
    content = response.content.decode()
    for title in titles:
        assert f'data-filter-title="{title}"' in content
    for value in ("succes", "client", "quota", "serveur", "reseau"):
        assert f"?resultat={value}" in content
    assert "Quota dépassé (429)" in content and "Sans réponse (délai, réseau)" in content


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("succes", ["ok"]),
        ("client", ["not_found", "quota"]),
        ("quota", ["quota"]),
        ("serveur", ["server"]),
        ("reseau", ["network"]),
    ],
)
def test_the_result_filter(admin_client, calls, value, expected):
    assert listed(admin_client.get(reverse(CALLS), {"resultat": value})) == pks(calls, *expected)


def test_the_source_provider_and_organisation_filters(admin_client, calls, buyer, other_org):
    assert listed(admin_client.get(reverse(CALLS), {"source": "bodacc"})) == pks(calls, "ok", "network")
    assert listed(admin_client.get(reverse(CALLS), {"provider": "api_entreprise"})) == pks(
        calls, "not_found", "quota", "server"
    )
    assert listed(admin_client.get(reverse(CALLS), {"organisation__id__exact": other_org.pk})) == pks(
        calls, "quota", "server"
    )
    organisations = admin_client.get(reverse(CALLS)).context["cl"].filter_specs[3]
    assert {pk for pk, _name in organisations.lookup_choices} == {buyer.pk, other_org.pk}


def test_the_date_filter(admin_client, calls):
    age(UpstreamCall, calls["network"], days=30)
    response = admin_client.get(reverse(CALLS))
    cl = response.context["cl"]
    dates = next(spec for spec in cl.filter_specs if getattr(spec, "field_path", "") == "created_at")
    past_week = next(
        choice["query_string"] for choice in dates.choices(cl) if str(choice["display"]) == gettext("Past 7 days")
    )

    assert listed(admin_client.get(reverse(CALLS) + past_week)) == pks(calls, "ok", "not_found", "quota", "server")


def test_search_by_siret_and_by_requester(admin_client, calls):
    assert listed(admin_client.get(reverse(CALLS), {"q": S1})) == pks(calls, "not_found", "quota")
    assert listed(admin_client.get(reverse(CALLS), {"q": "acheteur@example.gouv.fr"})) == pks(calls, "ok")
    assert listed(admin_client.get(reverse(CALLS), {"q": "entreprise@example.fr"})) == pks(calls, "quota")


# --- CSV export ----------------------------------------------------------------------------------------


def test_export_the_selected_calls(admin_client, calls):
    response = admin_client.post(
        reverse(CALLS),
        {"action": "export_csv", "index": "0", "_selected_action": [calls["ok"].pk, calls["quota"].pk]},
    )

    header, rows = csv_of(response)
    assert header == CALL_HEADER
    assert sorted((row[1], row[3], row[10]) for row in rows) == [
        ("bodacc", S0, "200"),
        ("urssaf_attestation_vigilance", S1, "429"),
    ]
    quota = next(row for row in rows if row[1] == "urssaf_attestation_vigilance")
    assert quota[5] == "21750001600019"  # the organisation, by its SIRET
    assert quota[8] == "entreprise@example.fr"


def test_the_export_link_applies_the_changelist_filters(admin_client, calls):
    changelist = admin_client.get(reverse(CALLS), {"source": "bodacc"})
    assert reverse(CALLS_EXPORT) + "?source=bodacc" in changelist.content.decode()

    _header, by_source = csv_of(admin_client.get(reverse(CALLS_EXPORT), {"source": "bodacc"}))
    _header, by_siret = csv_of(admin_client.get(reverse(CALLS_EXPORT), {"q": S1}))
    _header, by_result = csv_of(admin_client.get(reverse(CALLS_EXPORT), {"resultat": "serveur"}))
    _header, everything = csv_of(admin_client.get(reverse(CALLS_EXPORT)))

    assert sorted(row[3] for row in by_source) == sorted([S0, S2]) and {row[1] for row in by_source} == {"bodacc"}
    assert [row[3] for row in by_siret] == [S1, S1]
    assert [row[1] for row in by_result] == ["dgfip_attestation_fiscale"]
    assert len(everything) == len(calls)


def test_an_export_url_with_an_unknown_filter_is_not_a_server_error(admin_client, calls):
    admin_client.raise_request_exception = False

    response = admin_client.get(reverse(CALLS_EXPORT), {"champ_inconnu": "1"})

    assert response.status_code == 302
    assert response.url.endswith("?e=1")


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t"])
def test_a_cell_that_would_start_a_formula_is_escaped(admin_client, buyer, prefix):
    value = prefix + 'HYPERLINK("https://evil.example/","Cliquez")'
    call(source="bodacc", siret=S0, organisation=buyer, object=value, requested_by="acheteur@example.gouv.fr")

    _header, rows = csv_of(admin_client.get(reverse(CALLS_EXPORT)))

    assert rows[0][7] == "'" + value
    assert rows[0][8] == "acheteur@example.gouv.fr"  # an ordinary value is left as it is


def test_the_export_needs_the_view_permission(client, calls):
    staff = get_user_model().objects.create_user(username="sansdroits", email="s@example.gouv.fr", is_staff=True)
    client.force_login(staff)

    assert client.get(reverse(CALLS_EXPORT)).status_code == 403
    assert client.get(reverse(ACCESSES_EXPORT)).status_code == 403
    response = client.post(reverse(CALLS), {"action": "export_csv", "index": "0", "_selected_action": [calls["ok"].pk]})
    assert response.status_code == 403

    anonymous = Client()
    assert anonymous.get(reverse(CALLS_EXPORT)).status_code == 302
    assert anonymous.get(reverse(CALLS_EXPORT))["Content-Type"] != "text/csv; charset=utf-8"


def test_an_operator_may_export(client, calls):
    operator = get_user_model().objects.create_user(username="operateur", email="o@example.gouv.fr", is_staff=True)
    operator.groups.add(Group.objects.get(name="Opérateurs (lecture seule)"))
    client.force_login(operator)

    _header, rows = csv_of(client.get(reverse(CALLS_EXPORT)))

    assert len(rows) == len(calls)


@pytest.fixture
def accesses(candidature, buyer, other_org):
    user = make_user("acheteuse")

    def access(action, *, siret=S0, organisation=buyer, detail=""):
        return DossierAccess.objects.create(
            user=user,
            user_email=user.email,
            organisation=organisation,
            candidature=candidature,
            siret=siret,
            consultation_reference="MARCHE-2026-01",
            action=action,
            detail=detail,
            ip_address="192.0.2.7",
        )

    return {
        "view": access(DossierAccess.Action.VIEW),
        "zip": access(DossierAccess.Action.ZIP, siret=S1),
        "document": access(DossierAccess.Action.DOCUMENT, detail="=cmd|' /C calc'!A0"),
        "other_zip": access(DossierAccess.Action.ZIP, siret=S2, organisation=other_org),
    }


def test_the_dossier_access_export(admin_client, accesses):
    selected = admin_client.post(
        reverse(ACCESSES),
        {"action": "export_csv", "index": "0", "_selected_action": [accesses["view"].pk, accesses["zip"].pk]},
    )
    header, rows = csv_of(selected)
    assert header == ACCESS_HEADER
    assert {(row[3], row[5]) for row in rows} == {(S0, "view"), (S1, "zip")}
    assert {(row[1], row[4], row[7]) for row in rows} == {("acheteuse@example.gouv.fr", "MARCHE-2026-01", "192.0.2.7")}

    _header, zips = csv_of(admin_client.get(reverse(ACCESSES_EXPORT), {"action": "zip"}))
    assert {row[3] for row in zips} == {S1, S2} and len(zips) == 2
    _header, by_siret = csv_of(admin_client.get(reverse(ACCESSES_EXPORT), {"q": S2}))
    assert [(row[3], row[2]) for row in by_siret] == [(S2, "21750001600019")]
    _header, documents = csv_of(admin_client.get(reverse(ACCESSES_EXPORT), {"action": "document"}))
    assert [row[6] for row in documents] == ["'=cmd|' /C calc'!A0"]


def test_the_dossier_access_changelist_filters_and_searches(admin_client, accesses, other_org):
    assert listed(admin_client.get(reverse(ACCESSES), {"action": "zip"})) == {
        accesses["zip"].pk,
        accesses["other_zip"].pk,
    }
    assert listed(admin_client.get(reverse(ACCESSES), {"organisation__id__exact": other_org.pk})) == {
        accesses["other_zip"].pk
    }
    assert listed(admin_client.get(reverse(ACCESSES), {"q": S1})) == {accesses["zip"].pk}
    assert admin_client.get(reverse("admin:candidatures_dossieraccess_add")).status_code == 403


# --- Purge ---------------------------------------------------------------------------------------------


@pytest.fixture
def aged(buyer, candidature):
    user = make_user("acheteuse")
    rows = {}
    for name, days in (("old", 31), ("recent", 29)):
        rows[f"call_{name}"] = call(source="bodacc", siret=S0, organisation=buyer)
        age(UpstreamCall, rows[f"call_{name}"], days=days)
        rows[f"access_{name}"] = audit.dossier_access_record(
            user=user, organisation=buyer, candidature=candidature, action=DossierAccess.Action.VIEW
        )
        age(DossierAccess, rows[f"access_{name}"], days=days)
    rows["call_new"] = call(source="bodacc", siret=S0, organisation=buyer)
    return rows


def kept(model) -> set[int]:
    return set(model.objects.values_list("pk", flat=True))


def test_the_purge_deletes_the_rows_older_than_the_retention(settings, aged):
    settings.AUDIT_RETENTION_DAYS = 30

    result = audit.audit_purge()

    assert (result.upstream_calls, result.dossier_accesses) == (1, 1)
    assert kept(UpstreamCall) == {aged["call_recent"].pk, aged["call_new"].pk}
    assert kept(DossierAccess) == {aged["access_recent"].pk}


def test_the_purge_follows_the_retention_setting(settings, aged):
    settings.AUDIT_RETENTION_DAYS = 365
    nothing = audit.audit_purge()
    assert (nothing.upstream_calls, nothing.dossier_accesses) == (0, 0)
    assert len(kept(UpstreamCall)) == 3 and len(kept(DossierAccess)) == 2

    settings.AUDIT_RETENTION_DAYS = 10
    assert audit.audit_purge().upstream_calls == 2
    assert kept(UpstreamCall) == {aged["call_new"].pk}
    assert kept(DossierAccess) == set()


def test_the_periodic_task_purges_and_returns_the_counts(settings, aged):
    settings.AUDIT_RETENTION_DAYS = 30

    assert purge_audit_trail.apply().get() == {"upstream_calls": 1, "dossier_accesses": 1}
    assert kept(DossierAccess) == {aged["access_recent"].pk}


def test_the_purge_is_scheduled():
    entry = django_settings.CELERY_BEAT_SCHEDULE["purge-audit-trail"]

    assert entry["task"] == purge_audit_trail.name == "candidatures.tasks.purge_audit_trail"
    assert 0 < entry["schedule"] <= 24 * 3600
    assert celery_app.conf.beat_schedule["purge-audit-trail"]["task"] == purge_audit_trail.name
    assert purge_audit_trail.name in celery_app.tasks
    assert django_settings.AUDIT_RETENTION_DAYS > 0


# --- Every access of a buyer to a dossier is recorded --------------------------------------------------


@pytest.fixture
def dossier(candidature):
    finish_fetches(candidature)
    document = add_document(candidature, source="urssaf_attestation_vigilance", kind="attestation_vigilance")
    attachment = add_attachment(candidature, add_flag(candidature))
    candidature = Candidature.objects.get(pk=candidature.pk)
    submit(candidature)
    return {"candidature": candidature, "document": document, "attachment": attachment}


def buyer_requests(dossier) -> list[tuple[str, str, str, str]]:
    """(method, url, recorded action, recorded detail) of every buyer page that opens the dossier."""
    pk = dossier["candidature"].pk
    return [
        ("get", reverse("buyer_candidature", args=[pk]), "view", ""),
        ("get", reverse("buyer_document", args=[pk, dossier["document"].pk]), "document", "<filename>"),
        ("get", reverse("buyer_contestation_file", args=[pk, dossier["attachment"].pk]), "attachment", "<filename>"),
        ("get", reverse("buyer_receipt", args=[pk]), "receipt", ""),
        ("get", reverse("buyer_zip", args=[pk]), "zip", ""),
        ("post", reverse("buyer_refetch", args=[pk, "urssaf_attestation_vigilance"]), "refresh", ""),
    ]


def send(client, method: str, url: str):
    response = getattr(client, method)(url)
    if response.streaming:
        b"".join(response.streaming_content)  # read to the end (and closed)
    return response


@pytest.mark.parametrize("index", range(6), ids=["view", "document", "attachment", "receipt", "zip", "refresh"])
def test_each_buyer_access_to_the_dossier_is_recorded(buyer_client, buyer_user, buyer, dossier, index):
    method, url, action, detail = buyer_requests(dossier)[index]
    candidature = dossier["candidature"]

    response = send(buyer_client, method, url)

    assert response.status_code == (302 if method == "post" else 200)
    access = DossierAccess.objects.get()
    assert access.user == buyer_user
    assert access.user_email == "acheteur@example.gouv.fr"
    assert access.organisation == buyer
    assert access.candidature == candidature
    assert access.siret == candidature.siret == "55204944776279"
    assert access.consultation_reference == "MARCHE-2026-01"
    assert access.action == action
    assert access.ip_address == "127.0.0.1"
    assert access.created_at is not None
    if detail == "<filename>":
        assert access.detail and access.detail in response["Content-Disposition"]
    if action == "document":
        assert access.detail == "attestation_vigilance-55204944776279.pdf"
    if action == "refresh":
        assert access.detail == "urssaf_attestation_vigilance"


def test_a_buyer_without_an_email_is_recorded_by_username(client, buyer, dossier):
    user = get_user_model().objects.create_user(username="agent-sans-adresse", email="")
    OrganisationMember.objects.create(user=user, organisation=buyer)
    client.force_login(user)

    send(client, "get", reverse("buyer_candidature", args=[dossier["candidature"].pk]))

    assert DossierAccess.objects.get().user_email == "agent-sans-adresse"


def test_a_buyer_of_another_organisation_gets_404_and_nothing_is_recorded(client, other_org, dossier):
    stranger = make_user("acheteur-paris")
    OrganisationMember.objects.create(user=stranger, organisation=other_org)
    client.force_login(stranger)

    for method, url, _action, _detail in buyer_requests(dossier):
        assert send(client, method, url).status_code == 404, url

    assert not DossierAccess.objects.exists()


def test_the_company_own_views_record_nothing(client, dossier):
    company = make_user("entreprise")
    candidature = dossier["candidature"]
    Candidature.objects.filter(pk=candidature.pk).update(owner=company)
    client.force_login(company)
    pk = candidature.pk

    for url in (
        reverse("candidature", args=[pk]),
        reverse("candidature_document", args=[pk, dossier["document"].pk]),
        reverse("company_contestation_file", args=[pk, dossier["attachment"].pk]),
        reverse("candidature_receipt", args=[pk]),
    ):
        assert send(client, "get", url).status_code == 200, url
    for method, url, _action, _detail in buyer_requests(dossier):
        assert send(client, method, url).status_code == 404, url

    assert not DossierAccess.objects.exists()
