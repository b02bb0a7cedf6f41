"""Reads for the pages: a candidature as the company and the buyer see it, value by value with its origin.

Everything is computed from rows loaded once (`candidature_for_view`), so a page costs a fixed number of
queries whatever the number of sources, documents or flags. `piece_states` also works on the prefetched
rows of a whole list (the buyer's review table).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from connectors import registry
from connectors.types import Block

from . import pieces, protected, selectors
from .dossiers import DECLARABLE_FIELDS, declared_rows
from .models import Candidature, Contestation, Document, ExclusionFlag, SourceFetch

BADGE_BY_STATUS = {
    SourceFetch.Status.PENDING: "info",
    SourceFetch.Status.OK: "success",
    SourceFetch.Status.NOT_FOUND: "warning",
    SourceFetch.Status.REFUSED: "error",
    SourceFetch.Status.NOT_APPLICABLE: "new",
    SourceFetch.Status.UNAUTHORIZED: "new",
    SourceFetch.Status.ERROR: "error",
}


def candidature_for_view(*, pk: int, queryset=None) -> Candidature:
    return (
        (queryset if queryset is not None else Candidature.objects)
        .select_related("consultation__organisation", "company", "owner")
        .prefetch_related(
            Prefetch("fetches", queryset=SourceFetch.objects.defer("payload").order_by("pk")),
            Prefetch("documents", queryset=Document.objects.order_by("source", "kind")),
            "turnovers",
            Prefetch("exclusion_flags", queryset=ExclusionFlag.objects.order_by("severity", "code")),
            Prefetch("contestations", queryset=Contestation.objects.prefetch_related("attachments")),
            "consultation__lots",
        )
        .get(pk=pk)
    )


@dataclass(frozen=True)
class SourceRow:
    fetch: SourceFetch
    label: str
    provider: str
    badge: str
    explanation: str

    @property
    def refreshable(self) -> bool:
        return self.fetch.status not in (SourceFetch.Status.PENDING, SourceFetch.Status.UNAUTHORIZED)


def _explain(fetch: SourceFetch) -> str:
    status = fetch.status
    if status == SourceFetch.Status.PENDING:
        return _("Récupération en cours…")
    if status == SourceFetch.Status.OK:
        return ""
    if status == SourceFetch.Status.NOT_FOUND:
        return _("Ce fournisseur ne connaît pas l'entreprise.")
    if status == SourceFetch.Status.NOT_APPLICABLE:
        return _("L'entreprise est hors du périmètre de ce fournisseur.")
    if status == SourceFetch.Status.UNAUTHORIZED:
        # The reason the engine recorded (no habilitation, ended on…, starts on…), so whoever asks sees why.
        reason = fetch.error_detail or _("L'acheteur n'est pas habilité à recevoir cette donnée.")
        return _("%(reason)s Elle n'a pas été demandée à la source.") % {"reason": reason}
    detail = fetch.error_detail or _("La source n'a pas répondu.")
    if status == SourceFetch.Status.ERROR and fetch.next_retry_at:
        local = timezone.localtime(fetch.next_retry_at)
        return _("%(detail)s Nouvelle tentative automatique le %(date)s.") % {
            "detail": detail,
            "date": local.strftime("%d/%m/%Y à %H:%M"),
        }
    return detail


def source_row(fetch: SourceFetch) -> SourceRow:
    source = registry.SOURCES.get(fetch.source)
    return SourceRow(
        fetch=fetch,
        label=registry.label(fetch.source),
        provider=source.provider if source else "",
        badge=BADGE_BY_STATUS.get(fetch.status, "info"),
        explanation=_explain(fetch),
    )


@dataclass(frozen=True)
class ValueRow:
    name: str
    label: str
    value: object
    origin: str  # "state", "declared" or "missing"
    provider: str = ""
    fetched_at: datetime | None = None
    declarable: bool = False


@dataclass(frozen=True)
class PieceState:
    piece: pieces.Piece
    status: str  # "ok", "uploaded", "pending", "missing"
    documents: list[Document]
    upload: Document | None
    sources: list[SourceRow]
    expired: bool = False

    @property
    def satisfied(self) -> bool:
        return self.status in ("ok", "uploaded")

    @property
    def badge(self) -> str:
        if self.expired:
            return "warning"
        return {"ok": "success", "uploaded": "info", "pending": "info"}.get(self.status, "error")

    @property
    def status_label(self) -> str:
        if self.expired:
            return _("Validité dépassée")
        return {
            "ok": _("Récupérée automatiquement"),
            "uploaded": _("Déposée par l'entreprise"),
            "pending": _("En cours de récupération"),
        }.get(self.status, _("Manquante"))


def piece_states(
    *, required_keys: Iterable[str], fetches: Iterable[SourceFetch], documents: Iterable[Document], today: date
) -> list[PieceState]:
    """Each required piece: provided by a source, uploaded by the company, still arriving, or missing."""
    fetch_by_source = {fetch.source: fetch for fetch in fetches}
    documents = list(documents)
    states = []
    for piece in pieces.required_pieces(keys=required_keys):
        active = [fetch_by_source[key] for key in piece.active_sources if key in fetch_by_source]
        fetched_documents = [
            document
            for document in documents
            if document.origin == Document.Origin.FETCHED and document.source in piece.sources
        ]
        upload = next(
            (d for d in documents if d.source == Document.UPLOAD_SOURCE and d.kind == piece.key),
            None,
        )
        data_ok = any(
            fetch.status == SourceFetch.Status.OK and not registry.SOURCES[fetch.source].document_kind
            for fetch in active
        )
        if fetched_documents or data_ok:
            status = "ok"
        elif upload is not None:
            status = "uploaded"
        elif any(fetch.status == SourceFetch.Status.PENDING for fetch in active):
            status = "pending"
        else:
            status = "missing"
        expired = any(d.valid_until is not None and d.valid_until < today for d in fetched_documents)
        states.append(
            PieceState(
                piece=piece,
                status=status,
                documents=fetched_documents,
                upload=upload,
                sources=[source_row(fetch) for fetch in active],
                expired=expired and status == "ok",
            )
        )
    return states


@dataclass(frozen=True)
class BlockView:
    key: str
    label: str
    sources: list[SourceRow]
    pieces: list[PieceState]

    @property
    def done(self) -> bool:
        return all(row.fetch.status != SourceFetch.Status.PENDING for row in self.sources)


FLAG_LABELS = {
    "liquidation_judiciaire": (
        _("Liquidation judiciaire"),
        _("Le dernier jugement publié au BODACC ouvre ou prononce une liquidation judiciaire."),
    ),
    "redressement_judiciaire": (
        _("Redressement judiciaire"),
        _(
            "Le dernier jugement publié au BODACC ouvre une procédure de redressement judiciaire, sans plan de "
            "redressement adopté depuis. L'acheteur peut accepter la preuve d'une autorisation à poursuivre "
            "l'activité."
        ),
    ),
    "faillite_interdiction": (
        _("Faillite personnelle ou interdiction de gérer"),
        _("Un jugement publié au BODACC mentionne une sanction personnelle."),
    ),
    "urssaf_refus": (
        _("Attestation de vigilance refusée par l'URSSAF"),
        _("L'URSSAF ne délivre pas l'attestation : les obligations sociales ne sont pas à jour."),
    ),
    "etablissement_ferme": (
        _("Établissement fermé"),
        _("Le répertoire SIRENE de l'INSEE indique que l'établissement ou l'entreprise a cessé son activité."),
    ),
    "probtp_non_conforme": (
        _("Cotisations retraite PRO BTP non conformes"),
        _("PRO BTP indique que l'entreprise n'est pas à jour de ses cotisations de retraite complémentaire."),
    ),
    "cibtp_non_a_jour": (
        _("Cotisations congés payés CIBTP non à jour"),
        _(
            "La caisse CIBTP ne délivre pas l'attestation : l'entreprise n'est pas à jour de ses cotisations "
            "congés payés et chômage-intempéries."
        ),
    ),
    "msa_non_a_jour": (
        _("Cotisations MSA non à jour"),
        _("La MSA indique que l'entreprise n'est pas à jour de ses cotisations de sécurité sociale agricole."),
    ),
    "msa_en_verification": (
        _("Cotisations MSA en cours de vérification"),
        _(
            "Un agent de la MSA examine le compte de l'entreprise : sa situation n'est pas encore confirmée. "
            "L'acheteur peut demander l'attestation de la MSA."
        ),
    ),
    "certificat_expire": (
        _("Certificat expiré"),
        _(
            "La date de fin de validité d'un certificat ou d'une qualification transmis par l'organisme est "
            "dépassée. L'entreprise peut fournir le certificat renouvelé."
        ),
    ),
}

# Every key `exclusions.evaluate` writes in an evidence, in the order shown (tested over the engine's fixtures),
# then the keys of evidences stored before its values were written in French (frozen dossiers keep them).
EVIDENCE_LABELS = {
    "nature": _("Nature du jugement"),
    "complement": _("Complément"),
    "date_jugement": _("Date du jugement"),
    "tribunal": _("Tribunal"),
    "date_parution": _("Parution au BODACC"),
    "annonce_id": _("Annonce"),
    "libelle": _("Réponse de l'URSSAF"),
    "date_fermeture": _("Date de fermeture"),
    "date_cessation": _("Date de cessation"),
    "etat_administratif": _("État administratif"),
    "siret": _("SIRET"),
    "siren": _("SIREN"),
    "statut": _("Statut donné par le fournisseur"),
    "caisse": _("Caisse"),
    "certificat": _("Certificats expirés"),
    "typeavis": _("Type d'avis"),
    "url": _("Adresse de l'annonce"),
    "avertissement": _("Avertissement"),
    # stored before
    "code": _("Code"),
    "numero": _("Numéro"),
    "date_fin_validite": _("Fin de validité"),
}


def short_date(value: str) -> str:
    """An ISO date as a French reader writes it: 27/11/2008."""
    return date.fromisoformat(value[:10]).strftime("%d/%m/%Y")


def known_first(order: list[str]) -> Callable[[str], tuple[int, str]]:
    """Sort key: the keys of `order` in that order, then the others by name (jsonb gives keys back reordered)."""
    return lambda key: (order.index(key) if key in order else len(order), key)


def evidence_rows(
    evidence: dict | None, *, format_date: Callable[[str], str] = short_date, skip: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    """(French label, value) of a flag's evidence: known keys in their table's order, then the others by name
    (stored JSON may come back with its keys reordered); dates written for a reader; empty values left out."""
    rows = []
    for key in sorted(evidence or {}, key=known_first(list(EVIDENCE_LABELS))):
        value = evidence[key]
        if key in skip or value in (None, "", [], {}):
            continue
        if key.startswith("date"):
            with contextlib.suppress(ValueError):
                value = format_date(str(value))
        rows.append((str(EVIDENCE_LABELS.get(key, key)), str(value)))
    return rows


def flag_title(code: str) -> str:
    return str(FLAG_LABELS.get(code, (code, ""))[0])


IDENTITY_LABELS = {
    "pending": _("Identité en cours"),
    "unknown": _("SIRET inconnu du répertoire SIRENE"),
    "error": _("Identité indisponible"),
    "closed": _("Raison sociale non communiquée"),
    "known": _("Raison sociale non communiquée"),
}


def company_name(candidature: Candidature) -> str:
    """The name the company goes by: the State's, else the one it declared; "" while unknown."""
    company = getattr(candidature, "company", None)
    return (company.raison_sociale if company is not None else "") or candidature.declared.get("raison_sociale", "")


@dataclass(frozen=True)
class FlagView:
    flag: ExclusionFlag
    contestation: Contestation | None
    source_label: str

    @property
    def title(self) -> str:
        return flag_title(self.flag.code)

    @property
    def explanation(self) -> str:
        return FLAG_LABELS.get(self.flag.code, ("", ""))[1]

    @property
    def evidence_rows(self) -> list[tuple[str, object]]:
        # The notice's address is shown as a link; the list of certificates by its summary ("certificat").
        return evidence_rows(self.flag.evidence, skip=("url", "certificats"))

    @property
    def notice_url(self) -> str:
        url = (self.flag.evidence or {}).get("url") or ""
        return url if url.startswith(("https://", "http://")) else ""


@dataclass
class DossierView:
    candidature: Candidature
    identity_state: str
    values: list[ValueRow]
    dirigeants: list[dict]
    dirigeants_row: ValueRow | None
    turnovers: list
    turnover_provider_row: ValueRow | None
    blocks: list[BlockView]
    pieces: list[PieceState]
    flags: list[FlagView]
    total_sources: int
    done_sources: int
    lots: list = field(default_factory=list)
    identity_hidden: bool = False  # a non-diffusible company seen by a buyer not habilitated for protected data

    @property
    def company_name(self) -> str:
        return "" if self.identity_hidden else company_name(self.candidature)

    @property
    def identity_label(self) -> str:
        """What to show in place of the name while it is not known (or not to be shown)."""
        if self.identity_hidden:
            return str(protected.PROTECTED_LABEL)
        return str(IDENTITY_LABELS[self.identity_state])

    @property
    def identity_explanation(self) -> str:
        return str(protected.PROTECTED_EXPLANATION) if self.identity_hidden else ""

    @property
    def declared_rows(self) -> list[tuple[str, str]]:
        """What the company declared, under the labels of its form; lots by their title."""
        declared = self.candidature.declared
        rows = declared_rows(declared)
        if declared.get("lots"):
            rows.append((str(_("Lots")), ", ".join(str(lot) for lot in self.lots if lot.number in declared["lots"])))
        return rows

    @property
    def progress_percent(self) -> int:
        return 100 if not self.total_sources else round(100 * self.done_sources / self.total_sources)

    @property
    def finished(self) -> bool:
        return self.done_sources == self.total_sources

    @property
    def missing_pieces(self) -> list[PieceState]:
        return [state for state in self.pieces if state.status == "missing"]

    @property
    def exclusions(self) -> list[FlagView]:
        return [view for view in self.flags if view.flag.severity == ExclusionFlag.Severity.EXCLUSION]

    @property
    def warnings(self) -> list[FlagView]:
        return [view for view in self.flags if view.flag.severity == ExclusionFlag.Severity.WARNING]


IDENTITY_FIELDS = (
    ("raison_sociale", _("Raison sociale")),
    ("enseigne", _("Enseigne")),
    ("adresse", _("Adresse")),
    ("forme_juridique", _("Forme juridique")),
    ("activite_libelle", _("Activité principale")),
    ("categorie_entreprise", _("Catégorie d'entreprise")),
)


def dossier_view(*, candidature: Candidature, hide_identity: bool = False) -> DossierView:
    """The page model of a candidature loaded by `candidature_for_view` (no query per row).

    `hide_identity`: the viewer may not see the protected identity of a non-diffusible company (`protected`).
    """
    fetches = list(candidature.fetches.all())
    fetch_by_source = {fetch.source: fetch for fetch in fetches}
    company = getattr(candidature, "company", None)
    provenance = company.provenance if company is not None else {}
    declared = candidature.declared

    def state_value(name: str, label: str) -> ValueRow:
        if hide_identity and name in protected.PROTECTED_FIELDS:
            return ValueRow(name, label, None, "protected")
        value = getattr(company, name, "") if company is not None else ""
        source_key = provenance.get(name)
        if value not in ("", None) and source_key:
            source = registry.SOURCES.get(source_key)
            fetch = fetch_by_source.get(source_key)
            return ValueRow(
                name,
                label,
                value,
                "state",
                provider=source.provider if source else source_key,
                fetched_at=fetch.fetched_at if fetch else None,
            )
        if declared.get(name):
            return ValueRow(name, label, declared[name], "declared", declarable=name in DECLARABLE_FIELDS)
        return ValueRow(name, label, None, "missing", declarable=name in DECLARABLE_FIELDS)

    values = [state_value(name, label) for name, label in IDENTITY_FIELDS]
    values = [row for row in values if row.origin != "missing" or row.declarable]
    turnovers = list(candidature.turnovers.all())
    turnover_fetch = fetch_by_source.get("dgfip_chiffres_affaires")
    turnover_provider_row = (
        ValueRow("chiffres_affaires", _("Chiffres d'affaires"), None, "state", "DGFIP", turnover_fetch.fetched_at)
        if turnovers and turnover_fetch
        else None
    )
    dirigeants = company.dirigeants if company is not None and not hide_identity else []
    dirigeants_row = None
    if dirigeants and provenance.get("dirigeants"):
        fetch = fetch_by_source.get(provenance["dirigeants"])
        dirigeants_row = ValueRow(
            "dirigeants", _("Dirigeants"), None, "state", "INPI", fetch.fetched_at if fetch else None
        )

    states = piece_states(
        required_keys=candidature.consultation.required_pieces,
        fetches=fetches,
        documents=candidature.documents.all(),
        today=timezone.localdate(),
    )
    blocks = [
        BlockView(
            key=block.value,
            label=pieces.BLOCK_LABELS[block],
            sources=[source_row(fetch) for fetch in fetches if _block_of(fetch.source) is block],
            pieces=[state for state in states if state.piece.block is block],
        )
        for block in Block
    ]
    contestations = {(c.flag_code, c.flag_source): c for c in candidature.contestations.all()}
    flags = [
        FlagView(
            flag=flag,
            contestation=contestations.get((flag.code, flag.source)),
            source_label=registry.label(flag.source),
        )
        for flag in candidature.exclusion_flags.all()
    ]
    return DossierView(
        candidature=candidature,
        identity_state=selectors.identity_state_of(
            etablissement_fetch=fetch_by_source.get("insee_etablissement"), company=company
        ),
        values=values,
        dirigeants=dirigeants,
        dirigeants_row=dirigeants_row,
        turnovers=turnovers,
        turnover_provider_row=turnover_provider_row,
        blocks=blocks,
        pieces=states,
        flags=flags,
        total_sources=len(fetches),
        done_sources=sum(1 for fetch in fetches if fetch.status != SourceFetch.Status.PENDING),
        lots=list(candidature.consultation.lots.all()),
        identity_hidden=hide_identity,
    )


def _block_of(source_key: str) -> Block | None:
    source = registry.SOURCES.get(source_key)
    return source.block if source else None
