"""The receipt (récépissé de dépôt) of a submitted candidature, as a PDF.

Everything comes from the frozen dossier (`candidature.frozen_dossier`, its fingerprint and the SIRET),
never from the live tables: the same submission renders the same receipt, whenever it is rendered again.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string
from django.utils import formats, translation
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from connectors import registry

from . import pieces, protected
from .dossier_view import FLAG_LABELS, evidence_rows, known_first
from .dossiers import declared_rows
from .models import Candidature, Document, ExclusionFlag, SourceFetch

PARIS = ZoneInfo("Europe/Paris")
MONTH_YEAR_TIME = r"F Y \à H \h i"  # « novembre 2026 à 14 h 05 » (the day is written apart, for « 1er »)


class _RefusingFetcher(URLFetcher):
    """The receipt embeds its styles and fonts come from the system: any URL, local or not, is refused."""

    def fetch(self, url, headers=None):
        raise ValueError(f"The receipt fetches nothing: {url}")


def _day(value: date) -> str:
    return "1er" if value.day == 1 else str(value.day)


def _datetime(value: str | None) -> str:
    """An ISO datetime as « 23 novembre 2026 à 14 h 05 », in Paris time."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(PARIS)
    return f"{_day(moment)} {formats.date_format(moment, MONTH_YEAR_TIME)}"


def _date(value: str | None) -> str:
    if not value:
        return ""
    day = date.fromisoformat(value[:10])
    return f"{_day(day)} {formats.date_format(day, 'F Y')}"


def _euros(amount) -> str:
    if not isinstance(amount, int):
        return str(amount or "")
    return f"{amount:,}".replace(",", "\u202f") + "\u00a0€"


def _label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def receipt_context(*, candidature: Candidature, hide_identity: bool = False) -> dict:
    """What the template shows, read from the frozen dossier only (without the protected identity of a
    non-diffusible company when `hide_identity`: that copy is rendered for its reader, never stored)."""
    frozen = candidature.frozen_dossier
    if not frozen:
        raise ValueError(f"Candidature {candidature.pk} has no frozen dossier: it was not submitted.")
    if hide_identity:
        frozen = protected.masked_frozen_dossier(frozen)
    dossier = frozen.get("dossier") or {}
    consultation = frozen.get("consultation") or {}
    declaration = frozen.get("declaration") or {}
    declared = frozen.get("declared") or {}
    contestations = {(c.get("code"), c.get("source")): c for c in frozen.get("contestations") or []}
    company = dossier.get("company")
    if company is not None:
        activite = company.get("activite_principale") or {}
        company = {**company, "activite": " — ".join(filter(None, (activite.get("code"), activite.get("libelle"))))}
    frozen_lots = declared.get("lots") or []
    return {
        "siret": dossier.get("siret") or candidature.siret,
        "siren": dossier.get("siren", ""),
        "sha256": candidature.frozen_sha256,
        "submitted_at": _datetime(frozen.get("submitted_at")),
        "submitted_at_iso": frozen.get("submitted_at") or "",
        "consultation": consultation,
        "company": company,
        "signed_by": declaration.get("signed_by", ""),
        "signed_at": _datetime(declaration.get("signed_at")),
        "sources": [
            {
                "label": registry.label(key),
                "status": _label(SourceFetch.Status, source.get("status", "")),
                "fetched_at": _datetime(source.get("fetched_at")),
            }
            for key, source in sorted(
                (dossier.get("sources") or {}).items(), key=lambda item: known_first(list(registry.SOURCES))(item[0])
            )
        ],
        "chiffres_affaires": [
            {"montant": _euros(item.get("montant")), "date_fin_exercice": _date(item.get("date_fin_exercice"))}
            for item in dossier.get("chiffres_affaires") or []
        ],
        "documents": [
            {
                "label": pieces.document_label(document.get("kind", "")),
                "origin": str(Document.Origin.UPLOADED.label)
                if document.get("source") == Document.UPLOAD_SOURCE
                else f"{Document.Origin.FETCHED.label} ({registry.label(document.get('source', ''))})",
                "sha256": document.get("sha256", ""),
                "size": document.get("size") or 0,
            }
            for document in dossier.get("documents") or []
        ],
        "flags": [
            {
                "label": str(FLAG_LABELS.get(flag.get("code"), (flag.get("code"),))[0]),
                "severity": _label(ExclusionFlag.Severity, flag.get("severity", "")),
                "is_exclusion": flag.get("severity") == ExclusionFlag.Severity.EXCLUSION,
                "ground": flag.get("ground", ""),
                "source": registry.label(flag.get("source", "")),
                "evidence": evidence_rows(flag.get("evidence"), format_date=_date, skip=("certificats",)),
                "contestation": contestations.get((flag.get("code"), flag.get("source"))),
            }
            for flag in dossier.get("exclusion_flags") or []
        ],
        "declared": declared_rows(declared),
        "lots": [str(lot) for lot in frozen_lots],
    }


def receipt_pdf(*, candidature: Candidature, hide_identity: bool = False) -> bytes:
    """The A4 PDF receipt of a submitted candidature."""
    with translation.override("fr"):
        html = render_to_string(
            "receipts/receipt.html", receipt_context(candidature=candidature, hide_identity=hide_identity)
        )
        # Tagged: a screen reader gets its headings and tables, not a flat run of text.
        return HTML(string=html, base_url=None, url_fetcher=_RefusingFetcher()).write_pdf(pdf_tags=True)
