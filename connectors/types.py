"""Typed values shared by the connectors and their callers."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date


class Block(enum.StrEnum):
    """The blocks of a dossier, in the order the candidate sees them."""

    IDENTITE = "identite"
    ATTESTATIONS = "attestations"
    CAPACITE = "capacite"
    CERTIFICATIONS = "certifications"
    EXCLUSION = "exclusion"


class IdentifierKind(enum.StrEnum):
    SIRET = "siret"
    SIREN = "siren"


@dataclass(frozen=True)
class CallRecord:
    """One upstream HTTP exchange, reported to the caller for its audit trail (connectors keep no state)."""

    provider: str
    url: str
    params: dict[str, str]
    http_status: int | None
    error_code: str
    duration_ms: int
    response_excerpt: str
    rate_limit: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CallContext:
    """Why and for whom a call is made: API Entreprise's three mandatory parameters, and the audit hook.

    `recipient` is the SIRET of the buyer organisation that receives the data, never the company's.
    `reserve_document` (a source whose answer links to a document): the JSON request takes the rate-limit slots
    of its first document's download with its own, all or nothing, and that download takes none; a download
    refused after the JSON answer came would otherwise make the JSON call again on the retry.
    """

    recipient: str
    object: str
    context: str = ""
    no_cache: bool = False
    reserve_document: bool = False
    on_call: Callable[[CallRecord], None] | None = None

    def record(self, call_record: CallRecord) -> None:
        if self.on_call is not None:
            self.on_call(call_record)


@dataclass(frozen=True)
class FetchedDocument:
    """A certificate downloaded at once (links expire), checked by its bytes and fingerprinted."""

    kind: str
    content: bytes
    content_type: str
    sha256: str
    size: int
    source_url: str
    valid_from: date | None = None
    valid_until: date | None = None


@dataclass(frozen=True)
class DocumentLink:
    """A document to download: its (expiring) link, and the validity the answer gives it."""

    url: str
    valid_from: date | None = None
    valid_until: date | None = None


@dataclass(frozen=True, kw_only=True)
class SourceResult:
    """Base of every connector result: the raw payload kept as evidence, and the documents fetched with it.

    `withheld` is true when the provider answered but refuses to deliver (e.g. URSSAF refus de délivrance).
    """

    payload: dict
    documents: tuple[FetchedDocument, ...] = ()

    @property
    def withheld(self) -> bool:
        return False
