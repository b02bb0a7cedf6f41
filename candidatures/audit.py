"""The audit trail: buyers' accesses to dossiers (written here), upstream calls (written by the engine),
their CSV export and their purge after the retention period."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Candidature, DossierAccess, Organisation, UpstreamCall


def dossier_access_record(
    *,
    user=None,
    actor: str = "",
    organisation: Organisation,
    candidature: Candidature,
    action: str,
    detail: str = "",
    ip_address: str | None = None,
) -> DossierAccess:
    """A buyer's access (`user`), or a platform's through the API (no user: `actor` says which client it was)."""
    if user is not None:
        actor = getattr(user, "email", "") or user.get_username()
    return DossierAccess.objects.create(
        user=user,
        user_email=actor[:255],
        organisation=organisation,
        candidature=candidature,
        siret=candidature.siret,
        consultation_reference=candidature.consultation.reference,
        action=action,
        detail=detail[:255],
        ip_address=ip_address,
    )


def client_ip(request) -> str | None:
    """The address Django saw; behind the production proxy, REMOTE_ADDR is set by it (no header is trusted)."""
    return request.META.get("REMOTE_ADDR") or None


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime
    upstream_calls: int
    dossier_accesses: int


def audit_purge(*, now: datetime | None = None, retention_days: int | None = None) -> PurgeResult:
    """Delete the audit rows older than the retention period (settings.AUDIT_RETENTION_DAYS)."""
    retention_days = settings.AUDIT_RETENTION_DAYS if retention_days is None else retention_days
    cutoff = (now or timezone.now()) - timedelta(days=retention_days)
    with transaction.atomic():
        calls, _ = UpstreamCall.objects.filter(created_at__lt=cutoff).delete()
        accesses, _ = DossierAccess.objects.filter(created_at__lt=cutoff).delete()
    return PurgeResult(cutoff=cutoff, upstream_calls=calls, dossier_accesses=accesses)


class _Echo:
    """A file-like object for csv.writer that hands each line back instead of storing it (streamed export)."""

    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    text = "" if value is None else str(value)
    # A cell read by a spreadsheet must not start a formula (CSV injection): the values come from upstream answers.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(*, rows: Iterable, columns: list[tuple[str, Callable]]) -> Iterator[str]:
    """The header then one line per row, each column a (title, row → value) pair; `;`-separated for French Excel."""
    writer = csv.writer(_Echo(), delimiter=";")
    yield "\ufeff" + writer.writerow([title for title, _ in columns])
    for row in rows:
        yield writer.writerow([_cell(value(row)) for _, value in columns])
