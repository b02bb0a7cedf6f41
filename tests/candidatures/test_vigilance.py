"""The vigilance follow-up of awarded contracts: what is due, the refresh it enqueues, the alerts and the recovery,
the 5 000 € HT threshold, the buyer's page (identity masked) and its actions, the beat entry."""

from __future__ import annotations

import logging
import smtplib
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from candidatures import services, tasks, vigilance
from candidatures.models import Candidature, CompanyIdentity, Document, OrganisationMember, SourceFetch
from passemarche.celery import app as celery_app
from tests.builders import add_document, make_user, submit, valid_sirets

pytestmark = pytest.mark.django_db

SOURCE = vigilance.SOURCE
ANSWERED = date(2026, 1, 5)  # the day URSSAF last answered
VALID_UNTIL = date(2026, 7, 5)  # the attestation's end of validity (six months, as URSSAF gives it)
PAGE = reverse("buyer_vigilance")
SIRETS = valid_sirets(5)


def at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12)))


def answer(candidature, *, status=SourceFetch.Status.OK, on=ANSWERED, valid_until=VALID_UNTIL, document=True, **extra):
    """The URSSAF fetch answered `status` on `on`, with (or without) its attestation."""
    fetch = candidature.fetches.get(source=SOURCE)
    SourceFetch.objects.filter(pk=fetch.pk).update(status=status, fetched_at=at(on), **extra)
    Document.objects.filter(candidature=candidature, source=SOURCE).delete()
    if document:
        add_document(candidature, source=SOURCE, kind="attestation_vigilance", fetch=fetch, valid_until=valid_until)
    return fetch


def award(candidature, amount="12000.00", **answered):
    """Submitted, awarded for `amount` € HT, its attestation answered (by default: ok, valid until July)."""
    submit(candidature, receipt=None)
    candidature = vigilance.candidature_award(candidature=candidature, amount=Decimal(amount))
    answer(candidature, **answered)
    return candidature


def status_of(candidature, today: date) -> vigilance.VigilanceStatus:
    return vigilance.vigilance_status(candidature=vigilance.awarded_candidatures().get(pk=candidature.pk), today=today)


def follow_up(today: date, capture) -> vigilance.FollowUpReport:
    with capture(execute=True):
        return vigilance.vigilance_follow_up(today=today)


def refreshed_by_the_pass(today: date, capture, enqueued) -> list[int]:
    """The fetches the periodic pass asks again on `today`: what is due, as the task decides it."""
    enqueued.clear()
    follow_up(today, capture)
    return list(enqueued)


@pytest.fixture
def buyers(buyer):
    """Two buyers of the organisation (each gets its own email) and one of another organisation (none)."""
    users = [make_user("agent-marches"), make_user("agent-finances")]
    for user in users:
        OrganisationMember.objects.create(user=user, organisation=buyer)
    return sorted(user.email for user in users)


# --- What is due ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answered", "next_check"),
    [
        pytest.param({}, VALID_UNTIL - timedelta(days=10), id="ok: ten days before the end of validity"),
        pytest.param(
            {"valid_until": date(2026, 12, 31)}, date(2026, 7, 5), id="ok, valid longer: six months after the answer"
        ),
        pytest.param({"valid_until": None}, date(2026, 7, 5), id="ok without a validity date: six months"),
        pytest.param(
            {"status": SourceFetch.Status.REFUSED, "document": False},
            ANSWERED + timedelta(days=7),
            id="refused: a week after the answer",
        ),
        pytest.param(
            {"status": SourceFetch.Status.NOT_FOUND, "document": False},
            ANSWERED + timedelta(days=7),
            id="not found: a week after the answer",
        ),
        pytest.param(
            {"valid_until": ANSWERED - timedelta(days=1)},
            ANSWERED + timedelta(days=7),
            id="answered with an expired attestation: a week after",
        ),
    ],
)
def test_the_next_check_follows_the_validity_and_the_six_month_rhythm(
    candidature, enqueued, django_capture_on_commit_callbacks, answered, next_check
):
    candidature = award(candidature, **answered)
    fetch = candidature.fetches.get(source=SOURCE)

    assert status_of(candidature, ANSWERED).next_check_on == next_check
    assert refreshed_by_the_pass(next_check - timedelta(days=1), django_capture_on_commit_callbacks, enqueued) == []
    assert refreshed_by_the_pass(next_check, django_capture_on_commit_callbacks, enqueued) == [fetch.pk]


@pytest.mark.parametrize(
    "answered",
    [
        pytest.param({"status": SourceFetch.Status.PENDING}, id="pending"),
        pytest.param(
            {"status": SourceFetch.Status.ERROR, "next_retry_at": at(ANSWERED + timedelta(days=2))},
            id="URSSAF's manual check: an error with its retry scheduled",
        ),
    ],
)
def test_a_refresh_under_way_is_not_due(candidature, enqueued, django_capture_on_commit_callbacks, answered):
    candidature = award(candidature, **answered)

    assert status_of(candidature, date(2027, 1, 1)).state == vigilance.CHECKING
    assert status_of(candidature, date(2027, 1, 1)).next_check_on is None
    assert refreshed_by_the_pass(date(2027, 1, 1), django_capture_on_commit_callbacks, enqueued) == []


def test_only_contracts_of_5000_euros_or_more_still_running_are_followed(
    consultation, start, enqueued, django_capture_on_commit_callbacks
):
    under, at_threshold, ended, not_awarded = (start(consultation, siret) for siret in SIRETS[:4])
    award(under, amount="4999.99")
    award(at_threshold, amount="5000")
    vigilance.vigilance_end(candidature=award(ended))
    submit(not_awarded, receipt=None)
    answer(not_awarded)

    assert [c.pk for c in vigilance.followed_candidatures()] == [at_threshold.pk]
    assert refreshed_by_the_pass(date(2027, 1, 1), django_capture_on_commit_callbacks, enqueued) == [
        at_threshold.fetches.get(source=SOURCE).pk
    ]
    assert status_of(under, date(2027, 1, 1)).state == vigilance.NOT_SUBJECT
    assert status_of(ended, date(2027, 1, 1)).state == vigilance.ENDED


# --- The refresh ----------------------------------------------------------------------------------------------


def test_a_due_attestation_is_refreshed_as_a_buyer_refresh_and_judged_on_the_answer(
    candidature, enqueued, buyers, mailoutbox, django_capture_on_commit_callbacks
):
    candidature = award(candidature)
    enqueued.clear()
    due = VALID_UNTIL - timedelta(days=10)

    report = follow_up(due, django_capture_on_commit_callbacks)

    fetch = candidature.fetches.get(source=SOURCE)
    assert report == vigilance.FollowUpReport(followed=1, refreshed=1)
    assert list(enqueued) == [fetch.pk] and enqueued.requested_by == ["suivi de vigilance"]
    assert fetch.status == SourceFetch.Status.PENDING and fetch.attempts == 0
    assert mailoutbox == []  # no alert before URSSAF answered
    # The next pass, the answer not in yet: nothing more.
    assert follow_up(due, django_capture_on_commit_callbacks) == vigilance.FollowUpReport(followed=1)
    assert len(enqueued) == 1


def test_not_due_nothing_is_enqueued(candidature, enqueued, django_capture_on_commit_callbacks):
    candidature = award(candidature)
    enqueued.clear()

    report = follow_up(VALID_UNTIL - timedelta(days=11), django_capture_on_commit_callbacks)

    assert report == vigilance.FollowUpReport(followed=1)
    assert list(enqueued) == []
    assert candidature.fetches.get(source=SOURCE).status == SourceFetch.Status.OK


def test_a_habilitation_ended_since_ends_the_fetch_unauthorized_and_alerts(
    candidature, buyer, enqueued, buyers, mailoutbox, django_capture_on_commit_callbacks
):
    candidature = award(candidature)
    enqueued.clear()
    buyer.habilitations.update(sources=["insee_etablissement"])

    report = follow_up(VALID_UNTIL - timedelta(days=10), django_capture_on_commit_callbacks)

    fetch = candidature.fetches.get(source=SOURCE)
    assert list(enqueued) == []
    assert fetch.status == SourceFetch.Status.UNAUTHORIZED
    assert report.alerted == 1
    assert "Attestation manquante" in mailoutbox[0].body and fetch.error_detail in mailoutbox[0].body


def test_a_mail_server_failure_on_one_candidature_does_not_stop_the_pass(
    consultation, start, enqueued, buyers, mailoutbox, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    due = VALID_UNTIL - timedelta(days=10)
    to_refresh = award(start(consultation, SIRETS[0]))  # its attestation due for a refresh that day
    refused = award(start(consultation, SIRETS[1]), on=due, status=SourceFetch.Status.REFUSED, document=False)
    # The refusal comes first in the pass (the latest award first): its failure must not stop the pass.
    Candidature.objects.filter(pk=refused.pk).update(awarded_at=timezone.now() + timedelta(hours=1))
    enqueued.clear()
    mail_server = {"down": True}
    send_mass_mail = vigilance.send_mass_mail

    def send(messages, **kwargs):
        if mail_server["down"]:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return send_mass_mail(messages, **kwargs)

    monkeypatch.setattr(vigilance, "send_mass_mail", send)

    with caplog.at_level(logging.ERROR, logger="candidatures.vigilance"):
        failed = follow_up(due, django_capture_on_commit_callbacks)

    assert failed == vigilance.FollowUpReport(followed=2, refreshed=1, failed=1)
    assert list(enqueued) == [to_refresh.fetches.get(source=SOURCE).pk]  # the other one still refreshed
    refused.refresh_from_db()
    assert refused.vigilance_alert == "" and refused.vigilance_alerted_at is None  # no alert recorded
    [record] = [r for r in caplog.records if r.name == "candidatures.vigilance" and r.levelno == logging.ERROR]
    assert str(refused.pk) in record.getMessage() and record.exc_info is not None
    # The mail server back: the next pass sends the alert, once.
    mail_server["down"] = False
    sent = follow_up(due, django_capture_on_commit_callbacks)
    again = follow_up(due, django_capture_on_commit_callbacks)
    assert sent == vigilance.FollowUpReport(followed=2, alerted=1)
    assert again == vigilance.FollowUpReport(followed=2)
    assert sorted(mail.to[0] for mail in mailoutbox) == buyers
    assert "attestation refusée" in mailoutbox[0].subject


def test_a_pass_over_unchanged_candidatures_costs_no_query_per_candidature(
    consultation, start, buyers, mailoutbox, django_capture_on_commit_callbacks
):
    sirets = valid_sirets(6)

    def add(siret, refused):
        if refused:  # its alert sent by the first pass
            award(start(consultation, siret), on=TODAY, status=SourceFetch.Status.REFUSED, document=False)
        else:  # in order, never alerted
            award(start(consultation, siret), on=TODAY, valid_until=TODAY + timedelta(days=180))

    def queries_of_a_pass() -> int:
        follow_up(TODAY, django_capture_on_commit_callbacks)  # the alerts of the refusals sent
        with CaptureQueriesContext(connection) as captured:
            report = follow_up(TODAY + timedelta(days=1), django_capture_on_commit_callbacks)
        assert report.refreshed == report.alerted == report.resolved == report.failed == 0
        return len(captured)

    add(sirets[0], refused=True)
    add(sirets[1], refused=False)
    two = queries_of_a_pass()
    for index, siret in enumerate(sirets[2:]):
        add(siret, refused=index % 2 == 0)

    assert queries_of_a_pass() == two  # no lock, no savepoint, no habilitation read per unchanged row


# --- The alerts -----------------------------------------------------------------------------------------------

TODAY = ANSWERED  # the answer came in today: judged now, the next check a week away


@pytest.mark.parametrize(
    ("answered", "label"),
    [
        pytest.param({"status": SourceFetch.Status.REFUSED, "document": False}, "attestation refusée", id="refused"),
        pytest.param(
            {"status": SourceFetch.Status.NOT_FOUND, "document": False}, "attestation manquante", id="not found"
        ),
        pytest.param(
            {"status": SourceFetch.Status.ERROR, "document": False, "error_detail": "URSSAF indisponible."},
            "attestation manquante",
            id="error after its retries",
        ),
        pytest.param({"document": False}, "attestation manquante", id="answered without a document"),
        pytest.param({"valid_until": TODAY - timedelta(days=1)}, "attestation expirée", id="expired"),
    ],
)
def test_a_problem_alerts_each_buyer_once(
    candidature, enqueued, buyers, mailoutbox, django_capture_on_commit_callbacks, answered, label
):
    candidature = award(candidature, on=TODAY, **answered)
    enqueued.clear()

    first = follow_up(TODAY, django_capture_on_commit_callbacks)
    second = follow_up(TODAY + timedelta(days=1), django_capture_on_commit_callbacks)

    assert first.alerted == 1 and second.alerted == 0
    assert sorted(mail.to[0] for mail in mailoutbox) == buyers
    assert all(len(mail.to) == 1 for mail in mailoutbox)
    mail = mailoutbox[0]
    assert label in mail.subject and candidature.siret in mail.subject
    assert settings.SITE_URL.rstrip("/") + PAGE in mail.body
    assert candidature.consultation.reference in mail.body
    candidature.refresh_from_db()
    assert candidature.vigilance_alert == status_of(candidature, TODAY).state
    assert candidature.vigilance_alerted_at is not None and candidature.vigilance_resolved_at is None
    assert list(enqueued) == []


def test_a_new_kind_of_problem_is_a_new_alert(candidature, buyers, mailoutbox, django_capture_on_commit_callbacks):
    candidature = award(candidature, on=TODAY, status=SourceFetch.Status.REFUSED, document=False)
    follow_up(TODAY, django_capture_on_commit_callbacks)
    answer(candidature, on=TODAY, status=SourceFetch.Status.NOT_FOUND, document=False)

    follow_up(TODAY, django_capture_on_commit_callbacks)

    assert [mail.subject.split(" — ")[0] for mail in mailoutbox[:: len(buyers)]] == [
        "[Passe Marché] Suivi de vigilance : attestation refusée",
        "[Passe Marché] Suivi de vigilance : attestation manquante",
    ]


def test_the_alert_writes_the_amount_in_french_and_takes_the_subject_prefix_from_the_settings(
    candidature, buyers, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Passe Marché — recette] "
    award(candidature, amount="12500.50", on=TODAY, status=SourceFetch.Status.REFUSED, document=False)

    with translation.override("en"):  # the pass runs in whatever language: the buyers read French
        follow_up(TODAY, django_capture_on_commit_callbacks)

    mail = mailoutbox[0]
    assert mail.subject.startswith("[Passe Marché — recette] Suivi de vigilance : attestation refusée — ")
    assert "[Passe Marché] " not in mail.subject
    body = mail.body.replace("\u202f", " ").replace("\xa0", " ")
    assert "Montant attribué : 12 500,50 € HT" in body
    assert "12500.50" not in mail.body


def test_the_recovery_resolves_the_alert_and_tells_the_buyers_once(
    candidature, buyers, mailoutbox, django_capture_on_commit_callbacks
):
    candidature = award(candidature, on=TODAY, status=SourceFetch.Status.REFUSED, document=False)
    follow_up(TODAY, django_capture_on_commit_callbacks)
    mailoutbox.clear()
    answer(candidature, on=TODAY + timedelta(days=7), valid_until=TODAY + timedelta(days=180))

    report = follow_up(TODAY + timedelta(days=7), django_capture_on_commit_callbacks)
    again = follow_up(TODAY + timedelta(days=8), django_capture_on_commit_callbacks)

    assert report.resolved == 1 and again.resolved == 0
    assert len(mailoutbox) == len(buyers)
    assert "de nouveau à jour" in mailoutbox[0].subject
    candidature.refresh_from_db()
    assert candidature.vigilance_alert == vigilance.REFUSED  # what the last alert was, shown on the page
    assert candidature.vigilance_resolved_at is not None
    assert status_of(candidature, TODAY + timedelta(days=8)).state == vigilance.OK
    # Refused again later: a new alert.
    answer(candidature, on=TODAY + timedelta(days=30), status=SourceFetch.Status.REFUSED, document=False)
    assert follow_up(TODAY + timedelta(days=30), django_capture_on_commit_callbacks).alerted == 1


def test_an_ok_attestation_never_alerted_sends_nothing(
    candidature, buyers, mailoutbox, django_capture_on_commit_callbacks
):
    award(candidature, on=TODAY, valid_until=TODAY + timedelta(days=180))

    report = follow_up(TODAY, django_capture_on_commit_callbacks)

    assert report == vigilance.FollowUpReport(followed=1)
    assert mailoutbox == []


def test_under_the_threshold_a_refusal_alerts_nobody(
    candidature, enqueued, buyers, mailoutbox, django_capture_on_commit_callbacks
):
    award(candidature, amount="4999.99", on=TODAY, status=SourceFetch.Status.REFUSED, document=False)
    enqueued.clear()

    report = follow_up(TODAY + timedelta(days=365), django_capture_on_commit_callbacks)

    assert report == vigilance.FollowUpReport()
    assert mailoutbox == [] and list(enqueued) == []


def test_the_alert_masks_a_non_diffusible_company_for_an_organisation_without_the_habilitation(
    candidature, buyer, buyers, mailoutbox, django_capture_on_commit_callbacks
):
    CompanyIdentity.objects.create(candidature=candidature, raison_sociale="NOM PROTÉGÉ", diffusible=False)
    award(candidature, on=TODAY, status=SourceFetch.Status.REFUSED, document=False)
    buyer.habilitations.update(protected_data=False)

    follow_up(TODAY, django_capture_on_commit_callbacks)

    mail = mailoutbox[0]
    assert "NOM PROTÉGÉ" not in mail.subject + mail.body
    assert "Identité protégée" in mail.body and candidature.siret in mail.body


def test_the_alert_names_a_non_diffusible_company_for_a_habilitated_organisation(
    candidature, buyer, buyers, mailoutbox, django_capture_on_commit_callbacks
):
    CompanyIdentity.objects.create(candidature=candidature, raison_sociale="NOM PROTÉGÉ", diffusible=False)
    award(candidature, on=TODAY, status=SourceFetch.Status.REFUSED, document=False)
    buyer.habilitations.update(protected_data=True)

    follow_up(TODAY, django_capture_on_commit_callbacks)

    assert "NOM PROTÉGÉ" in mailoutbox[0].subject


# --- The award and the end of the follow-up (services) ---------------------------------------------------------


def test_only_a_submitted_candidature_can_be_awarded(candidature):
    with pytest.raises(vigilance.VigilanceError, match="déposée"):
        vigilance.candidature_award(candidature=candidature, amount=Decimal("12000"))

    assert Candidature.objects.get(pk=candidature.pk).awarded_at is None


def test_an_award_without_a_positive_amount_is_refused(candidature):
    submit(candidature, receipt=None)

    with pytest.raises(vigilance.VigilanceError, match="montant"):
        vigilance.candidature_award(candidature=candidature, amount=Decimal("0"))


def test_awarding_again_changes_the_amount_and_resumes_an_ended_follow_up(candidature):
    candidature = award(candidature)
    first = candidature.awarded_at
    vigilance.vigilance_end(candidature=candidature)

    candidature = vigilance.candidature_award(candidature=candidature, amount=Decimal("80000"))

    assert candidature.awarded_at == first
    assert candidature.award_amount == Decimal("80000")
    assert candidature.vigilance_ended_at is None


def test_ending_twice_or_a_not_awarded_candidature_is_refused(candidature):
    with pytest.raises(vigilance.VigilanceError, match="pas attribuée"):
        vigilance.vigilance_end(candidature=candidature)
    candidature = award(candidature)
    vigilance.vigilance_end(candidature=candidature)

    with pytest.raises(vigilance.VigilanceError, match="déjà terminé"):
        vigilance.vigilance_end(candidature=candidature)


# --- The buyer's page -------------------------------------------------------------------------------------------


def test_the_page_explains_the_empty_state(buyer_client):
    response = buyer_client.get(PAGE)

    assert response.status_code == 200
    assert "Aucun marché attribué pour l’instant" in response.content.decode()


def test_the_page_lists_the_organisations_awarded_contracts_with_their_state(
    buyer_client, consultation, other_org, start
):
    followed = award(start(consultation, SIRETS[0]), on=TODAY, status=SourceFetch.Status.REFUSED, document=False)
    Candidature.objects.filter(pk=followed.pk).update(vigilance_alert="refused", vigilance_alerted_at=at(TODAY))
    small = award(start(consultation, SIRETS[1]), amount="3000")
    today = timezone.localdate()
    award(start(consultation, SIRETS[4]), on=today, valid_until=today + timedelta(days=180))
    start(consultation, SIRETS[2])  # not awarded: not listed
    elsewhere = services.consultation_get_or_create(organisation=other_org, reference="AILLEURS-01")
    award(start(elsewhere, SIRETS[3]))

    content = buyer_client.get(PAGE).content.decode()

    assert "3 marchés attribués" in content
    assert followed.siret in content and small.siret in content
    assert SIRETS[2] not in content and SIRETS[3] not in content
    assert "Attestation refusée" in content and "Non soumis à l’obligation" in content
    assert "12 000,00 € HT" in content.replace("\u202f", " ").replace("\xa0", " ")
    assert "Imminente" in content  # the next check of the refusal, a week after it: past, so the next pass
    assert "Attestation à jour" in content and f"{today + timedelta(days=170):%d/%m/%Y}" in content
    assert f"Attestation refusée, {TODAY:%d/%m/%Y}" in content  # the last alert
    assert reverse("buyer_vigilance_end", args=[followed.pk]) in content


def test_the_page_masks_a_non_diffusible_company_for_an_organisation_without_the_habilitation(
    buyer_client, buyer, candidature
):
    CompanyIdentity.objects.create(candidature=candidature, raison_sociale="NOM PROTÉGÉ", diffusible=False)
    award(candidature)
    buyer.habilitations.update(protected_data=False)
    hidden = buyer_client.get(PAGE).content.decode()
    buyer.habilitations.update(protected_data=True)
    shown = buyer_client.get(PAGE).content.decode()

    assert "NOM PROTÉGÉ" not in hidden and "Identité protégée" in hidden and candidature.siret in hidden
    assert "NOM PROTÉGÉ" in shown


@pytest.mark.parametrize(
    ("identity", "label"),
    [
        pytest.param(SourceFetch.Status.PENDING, "Identité en cours", id="identity still pending"),
        pytest.param(SourceFetch.Status.NOT_FOUND, "SIRET inconnu du répertoire SIRENE", id="unknown to SIRENE"),
        pytest.param(SourceFetch.Status.ERROR, "Identité indisponible", id="identity unavailable"),
    ],
)
def test_the_page_names_an_unknown_company_as_the_review_table_does(buyer_client, candidature, identity, label):
    SourceFetch.objects.filter(candidature=candidature, source="insee_etablissement").update(status=identity)
    award(candidature)

    content = buyer_client.get(PAGE).content.decode()

    assert label in content and "Raison sociale non communiquée" not in content


def test_the_page_costs_the_same_queries_for_one_or_many_rows(buyer_client, consultation, start):
    first, *others = SIRETS[:4]
    award(start(consultation, first))
    one = _queries(buyer_client)
    for siret in others:
        award(start(consultation, siret))

    assert _queries(buyer_client) == one


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(PAGE).status_code == 200
    return len(captured)


def test_the_buyer_awards_a_submitted_candidature_from_its_dossier(buyer_client, candidature):
    submit(candidature, receipt=None)
    dossier = buyer_client.get(reverse("buyer_candidature", args=[candidature.pk])).content.decode()
    form = buyer_client.get(reverse("buyer_award", args=[candidature.pk]))

    response = buyer_client.post(reverse("buyer_award", args=[candidature.pk]), {"amount": "12500,50"})

    assert reverse("buyer_award", args=[candidature.pk]) in dossier
    assert form.status_code == 200 and 'name="amount"' in form.content.decode()
    assert response.status_code == 302 and response.url == PAGE
    candidature.refresh_from_db()
    assert candidature.awarded_at is not None and candidature.award_amount == Decimal("12500.50")


@pytest.mark.parametrize(
    ("amount", "says"),
    [("", "Ce champ est obligatoire"), ("-5", "supérieure ou égale à"), ("douze", "Saisissez un nombre")],
)
def test_the_award_form_refuses_a_bad_amount(buyer_client, candidature, amount, says):
    submit(candidature, receipt=None)

    response = buyer_client.post(reverse("buyer_award", args=[candidature.pk]), {"amount": amount})

    assert response.status_code == 200 and says in response.content.decode()
    assert Candidature.objects.get(pk=candidature.pk).awarded_at is None


def test_the_award_of_a_candidature_not_submitted_is_refused_on_the_page(buyer_client, candidature):
    response = buyer_client.post(reverse("buyer_award", args=[candidature.pk]), {"amount": "12000"})

    assert response.status_code == 200
    summary = _error_summary(response.content.decode())
    assert "Seule une candidature déposée peut être attribuée." in summary
    assert Candidature.objects.get(pk=candidature.pk).awarded_at is None


def test_a_refused_award_shows_the_error_summary_naming_the_field(buyer_client, candidature):
    submit(candidature, receipt=None)

    response = buyer_client.post(reverse("buyer_award", args=[candidature.pk]), {"amount": "-5"})

    summary = _error_summary(response.content.decode())
    assert "Le formulaire contient une erreur" in summary
    assert '<a href="#id_amount">Montant attribué (€ HT)</a>' in summary and "supérieure ou égale à" in summary


def _error_summary(content: str) -> str:
    """The error summary above the form (the one the consultation form shows), "" when there is none."""
    start = content.find('role="alert" id="error-summary"')
    assert start != -1, "no error summary on the page"
    return content[start : content.index("</div>", start)]


def test_the_buyer_ends_the_follow_up(buyer_client, candidature):
    candidature = award(candidature)

    response = buyer_client.post(reverse("buyer_vigilance_end", args=[candidature.pk]), follow=True)

    candidature.refresh_from_db()
    assert candidature.vigilance_ended_at is not None
    content = response.content.decode()
    assert "Suivi terminé" in content and "Le suivi de vigilance de" in content


def test_the_review_table_links_to_the_follow_up(buyer_client, consultation):
    content = buyer_client.get(reverse("consultation_review", args=[consultation.pk])).content.decode()

    assert PAGE in content


# --- The periodic task ------------------------------------------------------------------------------------------


def test_the_beat_runs_the_follow_up_task(candidature, enqueued, django_capture_on_commit_callbacks):
    entry = next(
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "candidatures.tasks.vigilance_follow_up"
    )
    today = timezone.localdate()
    award(candidature, on=today - timedelta(days=200), valid_until=today - timedelta(days=20))
    enqueued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.vigilance_follow_up.apply().get()

    assert entry["schedule"] <= 24 * 3600
    assert entry["task"] in celery_app.tasks
    assert result == {"followed": 1, "refreshed": 1, "alerted": 0, "resolved": 0, "failed": 0}
    assert list(enqueued) == [candidature.fetches.get(source=SOURCE).pk]
