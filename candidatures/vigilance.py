"""The vigilance follow-up of awarded contracts ("suivi des prestataires").

The Code du travail (articles L8222-1, D8222-1 and D8222-5) obliges whoever awards a contract of 5 000 € HT or more
to obtain the contractor's URSSAF attestation de vigilance at the award and then every six months until the end of
the contract. For each candidature awarded at or above that amount, the periodic task `vigilance_follow_up`:

- refreshes the `urssaf_attestation_vigilance` source (the buyer's "refresh", `dossiers.fetch_restart`) when it is
  due: VIGILANCE_REFRESH_DAYS_BEFORE days before the attestation's end of validity, six months after the last
  answer at the latest, VIGILANCE_RECHECK_DAYS after a refused or missing attestation;
- once the answer is in, emails the buyers of the organisation when the attestation is refused, missing or expired
  (once per problem: the candidature remembers its last alert), and marks the alert resolved when it is back.

Reads first (the state of a candidature's follow-up, the rows of the buyer's page), then the writes.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import dossiers, protected, selectors, services
from .dossier_view import IDENTITY_LABELS, company_name
from .errors import PortalError
from .models import Candidature, Document, Organisation, OrganisationMember, SourceFetch

logger = logging.getLogger(__name__)

SOURCE = "urssaf_attestation_vigilance"
IDENTITY_SOURCE = "insee_etablissement"  # the source `selectors.identity_state` reads
# Code du travail, D8222-1: the duty applies from 5 000 € HT.
THRESHOLD = Decimal("5000")
# D8222-5: "tous les six mois jusqu'à la fin de l'exécution du contrat".
RHYTHM_MONTHS = 6
REQUESTED_BY = "suivi de vigilance"

OK = "ok"
CHECKING = "checking"
REFUSED = "refused"
MISSING = "missing"
EXPIRED = "expired"
NOT_SUBJECT = "not_subject"
ENDED = "ended"
PROBLEMS = (REFUSED, MISSING, EXPIRED)

LABELS = {
    OK: gettext_lazy("Attestation à jour"),
    CHECKING: gettext_lazy("Vérification en cours"),
    REFUSED: gettext_lazy("Attestation refusée"),
    MISSING: gettext_lazy("Attestation manquante"),
    EXPIRED: gettext_lazy("Attestation expirée"),
    NOT_SUBJECT: gettext_lazy("Non soumis à l’obligation"),
    ENDED: gettext_lazy("Suivi terminé"),
}
BADGES = {OK: "success", CHECKING: "info", REFUSED: "error", MISSING: "warning", EXPIRED: "error"}
EXPLANATIONS = {
    REFUSED: gettext_lazy(
        "L’URSSAF refuse de délivrer l’attestation de vigilance : l’entreprise n’est pas à jour de ses déclarations "
        "ou de ses cotisations sociales. Demandez-lui de régulariser sa situation."
    ),
    MISSING: gettext_lazy(
        "L’attestation de vigilance n’a pas pu être obtenue auprès de l’URSSAF. Demandez-la à l’entreprise."
    ),
    EXPIRED: gettext_lazy(
        "L’attestation de vigilance détenue a dépassé sa date de fin de validité et n’a pas pu être renouvelée."
    ),
}


class VigilanceError(PortalError):
    """A refusal of an award or of the end of a follow-up."""


def is_subject(candidature: Candidature) -> bool:
    """Awarded at or above the threshold: the duty of vigilance applies."""
    return (
        candidature.awarded_at is not None
        and candidature.award_amount is not None
        and candidature.award_amount >= THRESHOLD
    )


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class VigilanceStatus:
    state: str
    fetch: SourceFetch | None
    valid_until: date | None
    next_check_on: date | None
    due: bool = False  # the attestation is to be asked again now: the one rule of the periodic task and the page

    @property
    def label(self) -> str:
        return str(LABELS[self.state])

    @property
    def badge(self) -> str:
        return BADGES.get(self.state, "no-icon")

    @property
    def explanation(self) -> str:
        if self.state == MISSING and self.fetch is not None and self.fetch.error_detail:
            return f"{EXPLANATIONS[MISSING]} ({self.fetch.error_detail})"
        return str(EXPLANATIONS.get(self.state, ""))

    @property
    def is_problem(self) -> bool:
        return self.state in PROBLEMS


def attestation_state(
    *, fetch: SourceFetch | None, documents: Iterable[Document], today: date
) -> tuple[str, date | None]:
    """The attestation's state from its fetch and its fetched documents, and its end of validity."""
    documents = list(documents)
    valid_until = max((d.valid_until for d in documents if d.valid_until is not None), default=None)
    if fetch is None:
        return MISSING, valid_until
    if fetch.status == SourceFetch.Status.PENDING or (
        fetch.status == SourceFetch.Status.ERROR and fetch.next_retry_at is not None
    ):
        return CHECKING, valid_until  # a refresh under way (or URSSAF's manual check, retried when it says)
    if fetch.status == SourceFetch.Status.REFUSED:
        return REFUSED, valid_until
    if fetch.status != SourceFetch.Status.OK or not documents:
        return MISSING, valid_until  # not found, not applicable, not habilitated, error after retries, no file
    if valid_until is not None and valid_until < today:
        return EXPIRED, valid_until
    return OK, valid_until


def next_check_on(*, state: str, fetch: SourceFetch | None, valid_until: date | None, today: date) -> date | None:
    """When the attestation is to be asked again; None while a check is under way, or when there is no fetch of
    the source to ask again (the dossier was submitted without it)."""
    if state == CHECKING or fetch is None:
        return None
    answered = timezone.localdate(fetch.fetched_at) if fetch.fetched_at else None
    if answered is None:
        return today
    if state == OK:
        due = add_months(answered, RHYTHM_MONTHS)
        if valid_until is not None:
            due = min(due, valid_until - timedelta(days=settings.VIGILANCE_REFRESH_DAYS_BEFORE))
    else:
        due = answered + timedelta(days=settings.VIGILANCE_RECHECK_DAYS)
    return max(due, answered + timedelta(days=1))  # never twice the same day


def vigilance_status(*, candidature: Candidature, today: date) -> VigilanceStatus:
    """The follow-up of one candidature, from the rows `awarded_candidatures` prefetched (no query)."""
    fetch = next(iter(candidature.vigilance_fetches), None)
    if candidature.vigilance_ended_at is not None:
        return VigilanceStatus(ENDED, fetch, None, None)
    state, valid_until = attestation_state(fetch=fetch, documents=candidature.vigilance_documents, today=today)
    if not is_subject(candidature):
        return VigilanceStatus(NOT_SUBJECT, fetch, valid_until, None)
    next_check = next_check_on(state=state, fetch=fetch, valid_until=valid_until, today=today)
    return VigilanceStatus(state, fetch, valid_until, next_check, due=next_check is not None and next_check <= today)


def awarded_candidatures(*, organisation: Organisation | None = None) -> QuerySet[Candidature]:
    """The awarded candidatures (of one organisation), with what the follow-up reads prefetched."""
    queryset = Candidature.objects.filter(awarded_at__isnull=False)
    if organisation is not None:
        queryset = queryset.filter(consultation__organisation=organisation)
    return (
        queryset.select_related("consultation__organisation", "company")
        # The frozen dossier stays: it says whether the company was non-diffusible when it submitted.
        .defer("company__dirigeants", "company__provenance")
        .prefetch_related(
            Prefetch(
                "fetches",
                queryset=SourceFetch.objects.filter(source=SOURCE).defer("payload"),
                to_attr="vigilance_fetches",
            ),
            Prefetch(
                "documents",
                queryset=Document.objects.filter(source=SOURCE, origin=Document.Origin.FETCHED),
                to_attr="vigilance_documents",
            ),
            # What the identity label reads (`identity_label`), without a query per row.
            Prefetch(
                "fetches",
                queryset=SourceFetch.objects.filter(source=IDENTITY_SOURCE).defer("payload"),
                to_attr="identity_fetches",
            ),
        )
        .order_by("-awarded_at", "pk")
    )


def followed_candidatures() -> QuerySet[Candidature]:
    """The candidatures under the duty of vigilance today: awarded at or above the threshold, not ended."""
    return awarded_candidatures().filter(award_amount__gte=THRESHOLD, vigilance_ended_at__isnull=True)


def identity_label(candidature: Candidature, *, hidden: bool) -> str:
    """What the buyers read in place of the company's name when it is unknown or hidden, as the review table
    (`review.review_rows`) and the dossier page say it; from the fetch `awarded_candidatures` prefetched."""
    if hidden:
        return str(protected.PROTECTED_LABEL)
    fetches = getattr(candidature, "identity_fetches", None)
    if fetches is None:  # not from `awarded_candidatures` (the award page): one query
        return str(IDENTITY_LABELS[selectors.identity_state(candidature=candidature)])
    state = selectors.identity_state_of(
        etablissement_fetch=next(iter(fetches), None), company=getattr(candidature, "company", None)
    )
    return str(IDENTITY_LABELS[state])


def company_text(candidature: Candidature, *, hidden: bool) -> str:
    """The company in an email: its name (else its identity label), always with its SIRET."""
    name = "" if hidden else company_name(candidature)
    return f"{name or identity_label(candidature, hidden=hidden)} (SIRET {candidature.siret})"


@dataclass(frozen=True)
class VigilanceRow:
    candidature: Candidature
    status: VigilanceStatus
    company_name: str  # "" when unknown or hidden
    identity_label: str  # what to show in its place

    @property
    def alert_label(self) -> str:
        return str(LABELS.get(self.candidature.vigilance_alert, ""))


def vigilance_rows(*, organisation: Organisation, today: date) -> list[VigilanceRow]:
    """The rows of the buyer's follow-up page: every awarded candidature of the organisation."""
    may_see_protected = selectors.may_see_protected_identity(organisation=organisation)
    rows = []
    for candidature in awarded_candidatures(organisation=organisation):
        hidden = protected.identity_hidden(candidature=candidature, may_see_protected=may_see_protected)
        rows.append(
            VigilanceRow(
                candidature=candidature,
                status=vigilance_status(candidature=candidature, today=today),
                company_name="" if hidden else company_name(candidature),
                identity_label=identity_label(candidature, hidden=hidden),
            )
        )
    return rows


def vigilance_page_url() -> str:
    return settings.SITE_URL.rstrip("/") + reverse("buyer_vigilance")


# --- Writes ---------------------------------------------------------------------------------------------------


def candidature_award(*, candidature: Candidature, amount: Decimal) -> Candidature:
    """Mark a submitted candidature awarded for `amount` € HT (again: the amount changes, the follow-up resumes)."""
    if not candidature.is_submitted:
        raise VigilanceError(_("Seule une candidature déposée peut être attribuée."))
    if amount is None or amount <= 0:
        raise VigilanceError(_("Indiquez le montant attribué, en euros hors taxes."), field="amount")
    with transaction.atomic():
        candidature = Candidature.objects.select_for_update().get(pk=candidature.pk)
        candidature.awarded_at = candidature.awarded_at or timezone.now()
        candidature.award_amount = amount
        candidature.vigilance_ended_at = None
        candidature.save(update_fields=["awarded_at", "award_amount", "vigilance_ended_at"])
    return candidature


def vigilance_end(*, candidature: Candidature) -> Candidature:
    """End the follow-up (the contract is over): no more refreshes nor alerts."""
    if candidature.awarded_at is None:
        raise VigilanceError(_("Cette candidature n’est pas attribuée : elle ne fait l’objet d’aucun suivi."))
    updated = Candidature.objects.filter(pk=candidature.pk, vigilance_ended_at__isnull=True).update(
        vigilance_ended_at=timezone.now()
    )
    if not updated:
        raise VigilanceError(_("Le suivi de vigilance de cette candidature est déjà terminé."))
    candidature.refresh_from_db(fields=["vigilance_ended_at"])
    return candidature


@dataclass(frozen=True)
class FollowUpReport:
    followed: int = 0
    refreshed: int = 0
    alerted: int = 0
    resolved: int = 0
    failed: int = 0  # candidatures the pass could not handle (logged): retried on the next pass


def vigilance_follow_up(*, today: date | None = None) -> FollowUpReport:
    """The periodic pass over every followed candidature: refresh what is due, alert on what went wrong.

    A due attestation is asked again first and judged on the next pass, once URSSAF answered: no alert on an
    attestation about to be renewed. Idempotent: a second pass the same day sends and enqueues nothing more.
    One candidature that fails (a mail server down, a broker refusing the refresh) is logged and counted as
    failed; the others are still handled, and the next pass tries it again (a failed alert is not recorded).
    """
    today = today or timezone.localdate()
    counts = dict.fromkeys(("followed", "refreshed", "alerted", "resolved", "failed"), 0)
    may_see_protected: dict[int, bool] = {}
    for candidature in followed_candidatures().iterator(chunk_size=500):
        counts["followed"] += 1
        try:
            outcome = _follow_up_one(candidature=candidature, today=today, may_see_protected=may_see_protected)
        except Exception:
            logger.exception("Vigilance follow-up failed for candidature %s", candidature.pk)
            outcome = "failed"
        if outcome:
            counts[outcome] += 1
    return FollowUpReport(**counts)


def _follow_up_one(*, candidature: Candidature, today: date, may_see_protected: dict[int, bool]) -> str:
    """Refresh, alert or resolve one candidature; what it did ("" for nothing). No lock nor email when nothing
    changed: the checks run on the loaded row first (and again under the lock)."""
    status = vigilance_status(candidature=candidature, today=today)
    if status.due:
        if _refresh(candidature=candidature, fetch=status.fetch):
            return "refreshed"
        status = vigilance_status(candidature=_reloaded(candidature), today=today)
    if not (_alert_pending(candidature, status) or _resolution_pending(candidature, status)):
        return ""
    organisation = candidature.consultation.organisation
    if organisation.pk not in may_see_protected:
        may_see_protected[organisation.pk] = selectors.may_see_protected_identity(organisation=organisation)
    hidden = protected.identity_hidden(candidature=candidature, may_see_protected=may_see_protected[organisation.pk])
    if status.is_problem:
        return "alerted" if vigilance_alert(candidature=candidature, status=status, hidden=hidden) else ""
    return "resolved" if vigilance_resolve(candidature=candidature, status=status, hidden=hidden) else ""


def _refresh(*, candidature: Candidature, fetch: SourceFetch) -> bool:
    """Ask URSSAF again, as a buyer's refresh does; a habilitation ended since ends the fetch `unauthorized`."""
    fetch.candidature = candidature
    try:
        dossiers.fetch_restart(fetch=fetch, requested_by=REQUESTED_BY)
    except dossiers.DossierError as refusal:
        services.fetch_store_unauthorized(fetch=fetch, reason=refusal.message)
        return False
    return True


def _reloaded(candidature: Candidature) -> Candidature:
    return awarded_candidatures().get(pk=candidature.pk)


def _alert_pending(candidature: Candidature, status: VigilanceStatus) -> bool:
    """A problem the buyers were not told about yet (a new kind of problem is a new alert)."""
    return status.is_problem and not (
        candidature.vigilance_alert == status.state and candidature.vigilance_resolved_at is None
    )


def _resolution_pending(candidature: Candidature, status: VigilanceStatus) -> bool:
    """The attestation is back in order after an alert not resolved yet."""
    return status.state == OK and bool(candidature.vigilance_alert) and candidature.vigilance_resolved_at is None


def vigilance_alert(*, candidature: Candidature, status: VigilanceStatus, hidden: bool) -> bool:
    """Email the buyers about a problem, once per problem (a new kind of problem is a new alert)."""
    if not _alert_pending(candidature, status):
        return False  # already told: no lock
    with transaction.atomic():
        locked = Candidature.objects.select_for_update().get(pk=candidature.pk)
        if not _alert_pending(locked, status):
            return False
        # Sent inside the transaction, before the alert is recorded: a mail server failure records nothing, the
        # next pass sends it.
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("Suivi de vigilance : %(state)s — %(company)s") % {
                "state": status.label.lower(),
                "company": company_text(candidature, hidden=hidden),
            }
            body = _alert_body(candidature, status, hidden)
        _send_to_buyers(candidature=candidature, subject=subject, body=body)
        locked.vigilance_alert = status.state
        locked.vigilance_alerted_at = timezone.now()
        locked.vigilance_resolved_at = None
        locked.save(update_fields=["vigilance_alert", "vigilance_alerted_at", "vigilance_resolved_at"])
    candidature.vigilance_alert, candidature.vigilance_resolved_at = locked.vigilance_alert, None
    logger.info("Vigilance alert %s sent for candidature %s", status.state, candidature.pk)
    return True


def vigilance_resolve(*, candidature: Candidature, status: VigilanceStatus, hidden: bool) -> bool:
    """The attestation is back in order after an alert: the alert is resolved, and the buyers told once."""
    if not _resolution_pending(candidature, status):
        return False  # nothing to resolve: no lock
    with transaction.atomic():
        locked = Candidature.objects.select_for_update().get(pk=candidature.pk)
        if not _resolution_pending(locked, status):
            return False
        with translation.override(settings.LANGUAGE_CODE):
            company = company_text(candidature, hidden=hidden)
            subject = _("Suivi de vigilance : attestation de nouveau à jour — %(company)s") % {"company": company}
            body = _(
                "Bonjour,\n\n"
                "L’attestation de vigilance URSSAF de %(company)s, titulaire de la consultation %(consultation)s, "
                "est de nouveau à jour.\n\n"
                "Suivi de vigilance de votre organisation : %(url)s\n\n"
                "— Passe Marché"
            ) % {"company": company, "consultation": candidature.consultation, "url": vigilance_page_url()}
        _send_to_buyers(candidature=candidature, subject=subject, body=body)
        locked.vigilance_resolved_at = timezone.now()
        locked.save(update_fields=["vigilance_resolved_at"])
    candidature.vigilance_resolved_at = locked.vigilance_resolved_at
    return True


def format_amount(amount: Decimal) -> str:
    """An amount as French readers write it: "12 500,50" (Django's grouping space, a decimal comma)."""
    return number_format(amount, 2, use_l10n=True, force_grouping=True)


def _alert_body(candidature: Candidature, status: VigilanceStatus, hidden: bool) -> str:
    lines = [
        _("Bonjour,"),
        "",
        _("Le suivi de vigilance d’un titulaire de votre organisation demande votre attention."),
        "",
        _("Entreprise : %(company)s") % {"company": company_text(candidature, hidden=hidden)},
        _("Consultation : %(consultation)s") % {"consultation": candidature.consultation},
        _("Montant attribué : %(amount)s € HT") % {"amount": format_amount(candidature.award_amount)},
        _("État : %(state)s") % {"state": status.label},
    ]
    if status.valid_until is not None:
        lines.append(
            _("Fin de validité de la dernière attestation : %(date)s") % {"date": f"{status.valid_until:%d/%m/%Y}"}
        )
    lines += [
        "",
        status.explanation,
        "",
        _(
            "Pour tout contrat de 5 000 € HT ou plus, le Code du travail (articles L8222-1 et D8222-5) vous impose "
            "d’obtenir cette attestation tous les six mois jusqu’à la fin de son exécution."
        ),
        "",
        _("Suivi de vigilance de votre organisation : %(url)s") % {"url": vigilance_page_url()},
        "",
        "— Passe Marché",
    ]
    return "\n".join(lines)


def buyer_emails(*, organisation: Organisation) -> list[str]:
    return sorted(
        {
            email
            for email in OrganisationMember.objects.filter(organisation=organisation, user__is_active=True).values_list(
                "user__email", flat=True
            )
            if email
        }
    )


def _send_to_buyers(*, candidature: Candidature, subject: str, body: str) -> None:
    recipients = buyer_emails(organisation=candidature.consultation.organisation)
    if not recipients:
        logger.warning("No buyer to alert about the vigilance of candidature %s", candidature.pk)
        return
    subject = settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject
    # One message per buyer: no buyer learns another's address.
    send_mass_mail([(subject, body, None, [email]) for email in recipients])
