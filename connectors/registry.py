"""Source key → connector, identifier kind, block, document kind, scope.

Model choices, the progress page and the dossier JSON all read this table. Adding a source is one
module, one line here and its tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import bodacc, dgfip, inpi, insee, urssaf
from .types import Block, CallContext, IdentifierKind, SourceResult


@dataclass(frozen=True)
class Source:
    key: str
    label: str
    provider: str
    identifier: IdentifierKind
    block: Block
    fetch: Callable[..., SourceResult]
    parse: Callable[[dict], SourceResult]
    document_kind: str = ""
    scope: str = ""

    def call(self, *, siret: str, siren: str, call: CallContext) -> SourceResult:
        identifier = siret if self.identifier is IdentifierKind.SIRET else siren
        return self.fetch(identifier, call=call)


SOURCES: dict[str, Source] = {
    source.key: source
    for source in (
        Source(
            key="insee_etablissement",
            label="Établissement (INSEE)",
            provider="INSEE",
            identifier=IdentifierKind.SIRET,
            block=Block.IDENTITE,
            fetch=insee.fetch_etablissement,
            parse=insee.parse_etablissement,
            scope="unites_legales_etablissements_insee",
        ),
        Source(
            key="insee_unite_legale",
            label="Unité légale (INSEE)",
            provider="INSEE",
            identifier=IdentifierKind.SIREN,
            block=Block.IDENTITE,
            fetch=insee.fetch_unite_legale,
            parse=insee.parse_unite_legale,
            scope="unites_legales_etablissements_insee",
        ),
        Source(
            key="inpi_rne_extrait",
            label="Extrait RNE (INPI)",
            provider="INPI",
            identifier=IdentifierKind.SIREN,
            block=Block.IDENTITE,
            fetch=inpi.fetch_extrait_rne,
            parse=inpi.parse_extrait_rne,
            document_kind="extrait_rne",
            scope="open_data",
        ),
        Source(
            key="urssaf_attestation_vigilance",
            label="Attestation de vigilance (URSSAF)",
            provider="URSSAF",
            identifier=IdentifierKind.SIREN,
            block=Block.ATTESTATIONS,
            fetch=urssaf.fetch_attestation_vigilance,
            parse=urssaf.parse_attestation_vigilance,
            document_kind="attestation_vigilance",
            scope="attestations_sociales",
        ),
        Source(
            key="dgfip_attestation_fiscale",
            label="Attestation de régularité fiscale (DGFIP)",
            provider="DGFIP",
            identifier=IdentifierKind.SIREN,
            block=Block.ATTESTATIONS,
            fetch=dgfip.fetch_attestation_fiscale,
            parse=dgfip.parse_attestation_fiscale,
            document_kind="attestation_fiscale",
            scope="attestations_fiscales",
        ),
        Source(
            key="dgfip_chiffres_affaires",
            label="Chiffres d'affaires (DGFIP)",
            provider="DGFIP",
            identifier=IdentifierKind.SIRET,
            block=Block.CAPACITE,
            fetch=dgfip.fetch_chiffres_affaires,
            parse=dgfip.parse_chiffres_affaires,
            scope="chiffre_affaires_dgfip",
        ),
        Source(
            key="bodacc",
            label="Annonces BODACC (procédures collectives)",
            provider="BODACC",
            identifier=IdentifierKind.SIREN,
            block=Block.EXCLUSION,
            fetch=bodacc.fetch_annonces,
            parse=bodacc.parse_annonces,
            document_kind="",
            scope="open_data",
        ),
    )
}


def source_choices() -> list[tuple[str, str]]:
    return [(source.key, source.label) for source in SOURCES.values()]


def get_source(key: str) -> Source:
    return SOURCES[key]
