"""Writes of the buyer: create, edit and publish a consultation. Every refusal is a `ConsultationError`
whose French message is shown to the buyer as is, attached to the form field it names.

The reference is the public link (`/c/<reference>/`): it is fixed once published, and a published
reference names one consultation across every organisation. The market type only chooses the default
pieces, but it is what the companies answered: it is fixed once a candidature exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import pieces, signals
from .errors import PortalError
from .models import Consultation, Lot, Organisation

REFERENCE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
REFERENCE_MAX_LENGTH = 50
TITLE_MAX_LENGTH = 255


class ConsultationError(PortalError):
    """A refusal of a buyer's write."""


def candidate_link(consultation: Consultation) -> str:
    """The public link of a consultation, the one given to companies (absolute: emails, receipts, the API)."""
    return settings.SITE_URL.rstrip("/") + reverse("consultation_public", args=[consultation.reference])


def clean_reference(reference: str) -> str:
    reference = (reference or "").strip()
    if not reference:
        raise ConsultationError(_("Indiquez la référence de la consultation."), field="reference")
    if len(reference) > REFERENCE_MAX_LENGTH:
        raise ConsultationError(
            _("La référence ne peut pas dépasser %(max)d caractères.") % {"max": REFERENCE_MAX_LENGTH},
            field="reference",
        )
    if not REFERENCE_PATTERN.match(reference):
        raise ConsultationError(
            _(
                "La référence figure dans le lien des candidats : lettres sans accent, chiffres, points, tirets "
                "et tirets bas seulement (par exemple MARCHE-2026-01)."
            ),
            field="reference",
        )
    return reference


def clean_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise ConsultationError(_("Indiquez l'intitulé de la consultation."), field="title")
    if len(title) > TITLE_MAX_LENGTH:
        raise ConsultationError(
            _("L'intitulé ne peut pas dépasser %(max)d caractères.") % {"max": TITLE_MAX_LENGTH}, field="title"
        )
    return title


def clean_market_type(market_type: str) -> str:
    if market_type not in Consultation.MarketType.values:
        raise ConsultationError(_("Choisissez le type de marché."), field="market_type")
    return market_type


def clean_lots(lots: Iterable[str]) -> list[str]:
    """Lot titles in order (blank lines dropped); lot n is the n-th title."""
    titles = [" ".join(title.split()) for title in lots]
    titles = [title for title in titles if title]
    for number, title in enumerate(titles, start=1):
        if len(title) > TITLE_MAX_LENGTH:
            raise ConsultationError(
                _("L'intitulé du lot %(number)d ne peut pas dépasser %(max)d caractères.")
                % {"number": number, "max": TITLE_MAX_LENGTH},
                field="lots",
            )
    return titles


def clean_required_pieces(keys: Iterable[str]) -> list[str]:
    """The optional pieces asked, in catalogue order (the always-required ones are implied)."""
    wanted = list(keys)
    optional = {key for key, _label in pieces.optional_piece_choices()}
    unknown = [key for key in wanted if key not in optional]
    if unknown:
        raise ConsultationError(_("Pièce inconnue : %(keys)s.") % {"keys": ", ".join(unknown)}, field="required_pieces")
    return [key for key in pieces.PIECES if key in set(wanted)]


def check_deadline(deadline: datetime | None, *, previous: datetime | None = None) -> None:
    if deadline is None:
        return
    if timezone.is_naive(deadline):
        raise ConsultationError(_("La date limite doit indiquer son fuseau horaire."), field="deadline")
    if previous is not None and _to_minute(deadline) == _to_minute(previous):
        return  # unchanged (forms show minutes): a past deadline may stay while other fields are edited
    if deadline <= timezone.now():
        raise ConsultationError(_("La date limite de remise doit être dans le futur."), field="deadline")


def _to_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _check_reference_free(*, reference: str, organisation: Organisation, exclude_pk: int | None = None) -> None:
    others = Consultation.objects.exclude(pk=exclude_pk) if exclude_pk else Consultation.objects.all()
    if others.filter(organisation=organisation, reference=reference).exists():
        raise ConsultationError(
            _("Votre organisation a déjà une consultation de référence « %(reference)s ».") % {"reference": reference},
            field="reference",
        )
    if others.filter(reference=reference, published_at__isnull=False).exists():
        raise ConsultationError(_published_conflict(reference), field="reference")


def _published_conflict(reference: str) -> str:
    return _(
        "Une consultation publiée utilise déjà la référence « %(reference)s » : le lien des candidats "
        "doit désigner une seule consultation. Choisissez une autre référence."
    ) % {"reference": reference}


def _lots_save(*, consultation: Consultation, titles: list[str]) -> None:
    existing = {lot.number: lot for lot in consultation.lots.all()}
    removed = [number for number in existing if number > len(titles)]
    if removed:
        chosen = {
            number
            for declared in consultation.candidatures.values_list("declared", flat=True)
            for number in (declared or {}).get("lots") or []
        }
        in_use = sorted(set(removed) & chosen)
        if in_use:
            raise ConsultationError(
                _("Le lot %(number)d a été choisi par une entreprise : il ne peut pas être retiré.")
                % {"number": in_use[0]},
                field="lots",
            )
        consultation.lots.filter(number__in=removed).delete()
    for number, title in enumerate(titles, start=1):
        lot = existing.get(number)
        if lot is None:
            Lot.objects.create(consultation=consultation, number=number, title=title)
        elif lot.title != title:
            lot.title = title
            lot.save(update_fields=["title"])


def consultation_create(
    *,
    organisation: Organisation,
    user,
    reference: str,
    title: str,
    market_type: str,
    deadline: datetime | None,
    lots: Iterable[str] = (),
    required_pieces: Iterable[str] | None = None,
) -> Consultation:
    """A draft consultation; without `required_pieces`, the default pieces of its market type."""
    reference = clean_reference(reference)
    title = clean_title(title)
    market_type = clean_market_type(market_type)
    titles = clean_lots(lots)
    keys = clean_required_pieces(
        pieces.default_pieces(market_type=market_type) if required_pieces is None else required_pieces
    )
    check_deadline(deadline)
    with transaction.atomic():
        _check_reference_free(reference=reference, organisation=organisation)
        try:
            with transaction.atomic():
                consultation = Consultation.objects.create(
                    organisation=organisation,
                    reference=reference,
                    title=title,
                    market_type=market_type,
                    deadline=deadline,
                    required_pieces=keys,
                    created_by=user if getattr(user, "is_authenticated", False) else None,
                )
        except IntegrityError as exc:
            raise ConsultationError(
                _("Votre organisation a déjà une consultation de référence « %(reference)s ».")
                % {"reference": reference},
                field="reference",
            ) from exc
        _lots_save(consultation=consultation, titles=titles)
    return consultation


def consultation_update(
    *,
    consultation: Consultation,
    reference: str,
    title: str,
    market_type: str,
    deadline: datetime | None,
    lots: Iterable[str],
    required_pieces: Iterable[str],
) -> Consultation:
    """Edit a consultation. Once published the reference is fixed; once a company has applied, the market
    type is too. Title, deadline, lots and pieces stay editable."""
    reference = clean_reference(reference)
    title = clean_title(title)
    market_type = clean_market_type(market_type)
    titles = clean_lots(lots)
    keys = clean_required_pieces(required_pieces)
    if reference != consultation.reference and consultation.is_published:
        raise ConsultationError(
            _("La consultation est publiée : sa référence figure dans le lien des candidats et ne peut plus changer."),
            field="reference",
        )
    if market_type != consultation.market_type and consultation.candidatures.exists():
        raise ConsultationError(
            _("Des entreprises ont déjà candidaté : le type de marché ne peut plus changer."), field="market_type"
        )
    check_deadline(deadline, previous=consultation.deadline)
    previous = consultation.deadline
    if deadline is not None and previous is not None and _to_minute(deadline) == _to_minute(previous):
        deadline = previous  # unchanged: keep it to the second
    if reference != consultation.reference:
        _check_reference_free(reference=reference, organisation=consultation.organisation, exclude_pk=consultation.pk)
    try:
        with transaction.atomic():
            consultation.reference = reference
            consultation.title = title
            consultation.market_type = market_type
            consultation.deadline = deadline
            consultation.required_pieces = keys
            consultation.save(
                update_fields=["reference", "title", "market_type", "deadline", "required_pieces", "updated_at"]
            )
            _lots_save(consultation=consultation, titles=titles)
    except IntegrityError as exc:
        consultation.refresh_from_db()
        raise ConsultationError(
            _("Votre organisation a déjà une consultation de référence « %(reference)s ».") % {"reference": reference},
            field="reference",
        ) from exc
    except ConsultationError:
        consultation.refresh_from_db()
        raise
    return consultation


def consultation_publish(*, consultation: Consultation) -> Consultation:
    """Open the consultation to companies at `/c/<reference>/`. Publishing twice changes nothing."""
    if consultation.is_published:
        return consultation
    if consultation.is_closed:
        raise ConsultationError(
            _("La date limite de remise est dépassée : reportez-la avant de publier la consultation."),
            field="deadline",
        )
    conflict = Consultation.objects.filter(reference=consultation.reference, published_at__isnull=False)
    if conflict.exclude(pk=consultation.pk).exists():
        raise ConsultationError(_published_conflict(consultation.reference), field="reference")
    try:
        with transaction.atomic():
            published_at = timezone.now()
            updated = Consultation.objects.filter(pk=consultation.pk, published_at__isnull=True).update(
                published_at=published_at, updated_at=published_at
            )
            if updated:
                consultation.published_at = published_at
                signals.consultation_published.send(sender=Consultation, consultation=consultation)
    except IntegrityError as exc:  # another consultation was published with this reference meanwhile
        raise ConsultationError(_published_conflict(consultation.reference), field="reference") from exc
    if not updated:
        consultation.refresh_from_db(fields=["published_at"])
    return consultation
