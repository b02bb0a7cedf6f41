"""Reads for the buyer's review table: the candidatures of one consultation, filtered, sorted and paginated
in SQL, with what each row shows computed from rows prefetched once for the whole page.

A page costs a fixed number of queries (count, page, fetches, documents, flags) whatever its length.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower, NullIf
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import dossiers, pieces, protected, selectors
from .dossier_view import IDENTITY_LABELS, company_name, flag_title, piece_states
from .models import Candidature, Consultation, ContestationAttachment, Document, ExclusionFlag, SourceFetch
from .receipt import receipt_pdf
from .storage import download_name

logger = logging.getLogger(__name__)

PAGE_SIZE = 50

# State keys, in the order of the workflow (also the sort order of the "state" column).
FETCHING, TO_COMPLETE, SUBMITTED = "recuperation", "a_completer", "deposee"
STATE_CHOICES = [
    (FETCHING, gettext_lazy("En cours de récupération")),
    (TO_COMPLETE, gettext_lazy("À compléter par l'entreprise")),
    (SUBMITTED, gettext_lazy("Déposée")),
]
STATE_BADGES = {FETCHING: "info", TO_COMPLETE: "new", SUBMITTED: "success"}
# Each state in SQL (filter, sort rank); `state_of` is the same rule on a loaded row.
STATE_CONDITIONS = {
    FETCHING: Q(submitted_at__isnull=True, status=Candidature.Status.IN_PROGRESS),
    TO_COMPLETE: Q(submitted_at__isnull=True, status=Candidature.Status.COMPLETE),
    SUBMITTED: Q(submitted_at__isnull=False),
}

# Sort key in the query string → the SQL ordering (ties broken by pk for a stable pagination).
SORTS = {
    "entreprise": ("company_sort",),
    "siret": ("siret",),
    "etat": ("state_rank", "submitted_at"),
    "motifs": ("exclusion_count", "warning_count"),
    "actualisation": ("last_refresh",),
}
SORT_LABELS = {
    "entreprise": gettext_lazy("Entreprise"),
    "siret": gettext_lazy("SIRET"),
    "etat": gettext_lazy("État"),
    "motifs": gettext_lazy("Motifs signalés"),
    "actualisation": gettext_lazy("Dernière actualisation"),
}
DEFAULT_SORT = "-motifs"


@dataclass(frozen=True)
class ReviewFilters:
    state: str = ""
    exclusion: bool = False
    warning: bool = False
    search: str = ""
    sort: str = DEFAULT_SORT

    @property
    def sort_key(self) -> str:
        return self.sort.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    @property
    def active(self) -> bool:
        return bool(self.state or self.exclusion or self.warning or self.search)


def review_filters(params) -> ReviewFilters:
    """Read the filters from a query string; unknown values are ignored (never an error)."""
    state = params.get("etat", "")
    sort = params.get("tri", DEFAULT_SORT)
    return ReviewFilters(
        state=state if state in dict(STATE_CHOICES) else "",
        exclusion=params.get("exclusion") == "1",
        warning=params.get("attention") == "1",
        search=" ".join(params.get("q", "").split())[:100],
        sort=sort if sort.removeprefix("-") in SORTS else DEFAULT_SORT,
    )


def _flag_count(severity: str):
    counts = (
        ExclusionFlag.objects.filter(candidature=OuterRef("pk"), severity=severity)
        .order_by()
        .values("candidature")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


def _last_refresh():
    latest = (
        SourceFetch.objects.filter(candidature=OuterRef("pk"))
        .order_by()
        .values("candidature")
        .annotate(latest=Max("fetched_at"))
        .values("latest")
    )
    return Subquery(latest, output_field=DateTimeField())


def review_queryset(
    *, consultation: Consultation, filters: ReviewFilters, may_see_protected: bool = True
) -> QuerySet[Candidature]:
    """The consultation's candidatures, filtered and sorted in SQL, with what each row needs prefetched.

    Without `may_see_protected`, a non-diffusible company's name neither sorts nor matches a search: the order
    of the rows or the answer to a search must not reveal the name the page hides.
    """
    name = Lower(NullIf("company__raison_sociale", Value("")))
    if not may_see_protected:
        name = Case(When(company__diffusible=False, then=Value(None)), default=name, output_field=CharField())
    queryset = (
        Candidature.objects.filter(consultation=consultation)
        .select_related("company")
        .annotate(
            exclusion_count=_flag_count(ExclusionFlag.Severity.EXCLUSION),
            warning_count=_flag_count(ExclusionFlag.Severity.WARNING),
            last_refresh=_last_refresh(),
            company_sort=name,
            state_rank=Case(
                *(
                    When(STATE_CONDITIONS[state], then=Value(rank))
                    for rank, (state, _label) in enumerate(STATE_CHOICES)
                ),
                output_field=IntegerField(),
            ),
        )
        .prefetch_related(
            Prefetch("fetches", queryset=SourceFetch.objects.defer("payload").order_by("pk")),
            Prefetch("documents", queryset=Document.objects.order_by("pk")),
            Prefetch("exclusion_flags", queryset=ExclusionFlag.objects.order_by("severity", "code")),
        )
    )
    if filters.state:
        queryset = queryset.filter(STATE_CONDITIONS[filters.state])
    if filters.exclusion:
        queryset = queryset.filter(
            Exists(ExclusionFlag.objects.filter(candidature=OuterRef("pk"), severity=ExclusionFlag.Severity.EXCLUSION))
        )
    if filters.warning:
        queryset = queryset.filter(
            Exists(ExclusionFlag.objects.filter(candidature=OuterRef("pk"), severity=ExclusionFlag.Severity.WARNING))
        )
    if filters.search:
        digits = filters.search.replace(" ", "")
        condition = Q(company__raison_sociale__icontains=filters.search)
        if not may_see_protected:
            condition &= Q(company__diffusible=True)
        if digits.isdigit():
            condition |= Q(siret__contains=digits)
        queryset = queryset.filter(condition)
    ordering = [
        F(field).desc(nulls_last=True) if filters.descending else F(field).asc(nulls_last=True)
        for field in SORTS[filters.sort_key]
    ]
    return queryset.order_by(*ordering, "pk")


def state_of(candidature: Candidature) -> str:
    """STATE_CONDITIONS, on a row already loaded."""
    if candidature.submitted_at is not None:
        return SUBMITTED
    if candidature.status == Candidature.Status.COMPLETE:
        return TO_COMPLETE
    return FETCHING


def state_label(candidature: Candidature) -> str:
    state = state_of(candidature)
    if state == SUBMITTED:
        local = timezone.localtime(candidature.submitted_at)
        return _("Déposée le %(date)s à %(time)s") % {"date": f"{local:%d/%m/%Y}", "time": f"{local:%H:%M}"}
    return str(dict(STATE_CHOICES)[state])


@dataclass(frozen=True)
class ReviewRow:
    candidature: Candidature
    company_name: str
    identity_label: str  # what to show when the company name is not known (yet)
    state: str
    state_label: str
    exclusions: list[str]  # flag titles
    warnings: list[str]
    missing_pieces: int
    pending_pieces: int
    last_refresh: datetime | None

    @property
    def state_badge(self) -> str:
        return STATE_BADGES[self.state]


def review_rows(
    *, candidatures: list[Candidature], consultation: Consultation, today: date, may_see_protected: bool = True
) -> list[ReviewRow]:
    """What each row of the table shows, from the prefetched rows (no query)."""
    rows = []
    for candidature in candidatures:
        hidden = protected.identity_hidden(candidature=candidature, may_see_protected=may_see_protected)
        flags = list(candidature.exclusion_flags.all())
        states = piece_states(
            required_keys=consultation.required_pieces,
            fetches=candidature.fetches.all(),
            documents=candidature.documents.all(),
            today=today,
        )
        rows.append(
            ReviewRow(
                candidature=candidature,
                company_name="" if hidden else company_name(candidature),
                identity_label=str(
                    protected.PROTECTED_LABEL
                    if hidden
                    else IDENTITY_LABELS[selectors.identity_state(candidature=candidature)]
                ),
                state=state_of(candidature),
                state_label=state_label(candidature),
                exclusions=[flag_title(f.code) for f in flags if f.severity == ExclusionFlag.Severity.EXCLUSION],
                warnings=[flag_title(f.code) for f in flags if f.severity == ExclusionFlag.Severity.WARNING],
                missing_pieces=sum(1 for state in states if state.status == "missing"),
                pending_pieces=sum(1 for state in states if state.status == "pending"),
                last_refresh=getattr(candidature, "last_refresh", None),
            )
        )
    return rows


def consultation_counts(*, organisation) -> QuerySet[Consultation]:
    """The organisation's consultations with their numbers of candidatures (submitted and total)."""
    return (
        Consultation.objects.filter(organisation=organisation)
        .annotate(
            candidature_count=Count("candidatures"),
            submitted_count=Count("candidatures", filter=Q(candidatures__submitted_at__isnull=False)),
        )
        .order_by("-created_at", "-pk")
    )


# --- The dossier as one ZIP -------------------------------------------------------------------------------

ZIP_SPOOL_BYTES = 16 * 1024 * 1024


def zip_entries(*, candidature: Candidature, hide_identity: bool = False) -> list[tuple[str, object]]:
    """(name in the archive, file field or bytes), numbered with clear names (`01-attestation_vigilance-<siret>.pdf`):
    the receipt and the submitted dossier, the documents in catalogue order, then the contestation files.

    `hide_identity`: a reader not habilitated for a non-diffusible company's identity gets a receipt and a
    dossier rendered without it (and told so); the fingerprint printed on the receipt is the real dossier's.
    """
    siret = candidature.siret
    entries: list[tuple[str, object]] = []
    if candidature.is_submitted:
        if hide_identity:
            receipt = receipt_pdf(candidature=candidature, hide_identity=True)
        else:
            # Rendered beforehand by the view (`dossiers.candidature_receipt`); None if that failed: listed missing.
            receipt = candidature.receipt or None
        entries.append((download_name("00", "recepisse", siret, content_type="application/pdf"), receipt))
    if candidature.is_submitted and candidature.frozen_dossier is not None:
        if hide_identity:
            masked = protected.masked_frozen_dossier(candidature.frozen_dossier)
            entries.append((f"00-dossier-depose-{siret}-identite-masquee.json", dossiers.canonical_json(masked)))
            entries.append(("00-LISEZMOI-identite-protegee.txt", (str(MASKED_NOTE) + "\n").encode()))
        else:
            entries.append((f"00-dossier-depose-{siret}.json", dossiers.canonical_json(candidature.frozen_dossier)))
    order = {key: index for index, key in enumerate(pieces.PIECES)}
    piece_of_source = {source: piece.key for piece in pieces.PIECES.values() for source in piece.sources}

    def rank(document: Document) -> tuple:
        uploaded = document.origin == Document.Origin.UPLOADED
        piece_key = document.kind if uploaded else piece_of_source.get(document.source)
        return (order.get(piece_key, len(order)), uploaded, document.kind, document.pk)

    number = 0
    for document in sorted(candidature.documents.all(), key=rank):
        number += 1
        parts = (
            [f"{number:02d}", "depose", document.kind]
            if document.origin == Document.Origin.UPLOADED
            else [
                f"{number:02d}",
                document.kind,
            ]
        )
        entries.append((download_name(*parts, siret, content_type=document.content_type), document.file))
    attachments = ContestationAttachment.objects.filter(contestation__candidature=candidature).select_related(
        "contestation"
    )
    for attachment in attachments.order_by("contestation__flag_code", "pk"):
        number += 1
        stem = attachment.original_name.rsplit(".", 1)[0]
        parts = (f"{number:02d}", "contestation", attachment.contestation.flag_code, stem)
        entries.append((download_name(*parts, content_type=attachment.content_type), attachment.file))
    return entries


MASKED_NOTE = gettext_lazy(
    "Cette entreprise n'est pas diffusible au répertoire SIRENE : son identité est une donnée protégée, que votre "
    "organisation n'est pas habilitée à recevoir. Le récépissé et le dossier de cette archive ont été établis sans "
    "elle. L'empreinte SHA-256 imprimée sur le récépissé est celle du dossier déposé complet, conservé par Passe "
    "Marché : elle ne correspond donc pas au fichier JSON masqué."
)


def dossier_zip(*, candidature: Candidature, hide_identity: bool = False):
    """Every file of the dossier in one ZIP, in a spooled temporary file (memory, then disk), rewound.
    A file missing from storage (or a receipt that could not be rendered) is listed in a LISEZMOI file rather
    than failing the whole download."""
    spool = tempfile.SpooledTemporaryFile(max_size=ZIP_SPOOL_BYTES)  # noqa: SIM115 (closed by the response)
    missing = []
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in zip_entries(candidature=candidature, hide_identity=hide_identity):
            if isinstance(content, bytes):
                archive.writestr(name, content)
                continue
            if content is None:
                missing.append(name)
                continue
            try:
                with content.open("rb") as source, archive.open(name, "w", force_zip64=True) as target:
                    shutil.copyfileobj(source, target, 1024 * 1024)
            except (FileNotFoundError, ValueError):
                logger.warning("File %s of candidature %s is missing from storage", content.name, candidature.pk)
                missing.append(name)
        if missing:
            archive.writestr(
                "LISEZMOI-fichiers-manquants.txt",
                _("Ces fichiers n'ont pas pu être lus dans le stockage :") + "\n" + "\n".join(missing) + "\n",
            )
    spool.seek(0)
    return spool
