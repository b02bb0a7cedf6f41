"""Source key → connector, identifier kind, block, document kind, scope, freshness of an answer.

Model choices, the progress page and the dossier JSON all read this table. Adding a source is one
module, one line here and its tests.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from . import (
    ademe,
    bodacc,
    btp_conges,
    carif_oref,
    dgfip,
    fntp,
    inpi,
    insee,
    msa,
    opqibi,
    probtp,
    qualibat,
    qualifelec,
    urssaf,
)
from .types import Block, CallContext, IdentifierKind, SourceResult


class Freshness(enum.StrEnum):
    """How long an answer of the source may serve other candidatures (candidatures/answer_cache.py).

    DAY: a day (identity, turnover, filings, BODACC). ATTESTATION: until the certificate's end of validity,
    API Entreprise's own refresh of attestations at 8 a.m., or a day, whichever comes first.
    """

    DAY = "day"
    ATTESTATION = "attestation"


@dataclass(frozen=True)
class Source:
    key: str
    label: str
    provider: str
    identifier: IdentifierKind
    block: Block
    freshness: Freshness
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
            freshness=Freshness.DAY,
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
            freshness=Freshness.DAY,
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
            freshness=Freshness.DAY,
            fetch=inpi.fetch_extrait_rne,
            parse=inpi.parse_extrait_rne,
            document_kind=inpi.DOCUMENT_KIND,
            scope="open_data",
        ),
        Source(
            key="urssaf_attestation_vigilance",
            label="Attestation de vigilance (URSSAF)",
            provider="URSSAF",
            identifier=IdentifierKind.SIREN,
            block=Block.ATTESTATIONS,
            freshness=Freshness.ATTESTATION,
            fetch=urssaf.fetch_attestation_vigilance,
            parse=urssaf.parse_attestation_vigilance,
            document_kind=urssaf.DOCUMENT_KIND,
            scope="attestations_sociales",
        ),
        Source(
            key="dgfip_attestation_fiscale",
            label="Attestation de régularité fiscale (DGFIP)",
            provider="DGFIP",
            identifier=IdentifierKind.SIREN,
            block=Block.ATTESTATIONS,
            freshness=Freshness.ATTESTATION,
            fetch=dgfip.fetch_attestation_fiscale,
            parse=dgfip.parse_attestation_fiscale,
            document_kind=dgfip.DOCUMENT_KIND,
            scope="attestations_fiscales",
        ),
        Source(
            key="dgfip_chiffres_affaires",
            label="Chiffres d'affaires (DGFIP)",
            provider="DGFIP",
            identifier=IdentifierKind.SIRET,
            block=Block.CAPACITE,
            freshness=Freshness.DAY,
            fetch=dgfip.fetch_chiffres_affaires,
            parse=dgfip.parse_chiffres_affaires,
            scope="chiffre_affaires_dgfip",
        ),
        Source(
            key="probtp_attestation",
            label="Attestation de cotisations retraite (PRO BTP)",
            provider="PRO BTP",
            identifier=IdentifierKind.SIRET,
            block=Block.ATTESTATIONS,
            freshness=Freshness.ATTESTATION,
            fetch=probtp.fetch_attestation,
            parse=probtp.parse_attestation,
            document_kind=probtp.DOCUMENT_KIND,
            scope="cotisations_probtp",
        ),
        Source(
            key="probtp_conformite",
            label="Conformité des cotisations retraite (PRO BTP)",
            provider="PRO BTP",
            identifier=IdentifierKind.SIRET,
            block=Block.ATTESTATIONS,
            freshness=Freshness.ATTESTATION,
            fetch=probtp.fetch_conformite,
            parse=probtp.parse_conformite,
            scope="cotisations_probtp",
        ),
        Source(
            key="cibtp_attestation",
            label="Attestation congés payés et chômage-intempéries (CIBTP)",
            provider="CIBTP",
            identifier=IdentifierKind.SIRET,
            block=Block.ATTESTATIONS,
            freshness=Freshness.ATTESTATION,
            fetch=btp_conges.fetch_attestation_cibtp,
            parse=btp_conges.parse_attestation_cibtp,
            document_kind=btp_conges.DOCUMENT_KIND,
            scope="attestation_cotisations_conges_payes_chomage_intemperies_cibtp_cnetp",
        ),
        Source(
            key="cnetp_attestation",
            label="Attestation congés payés et chômage-intempéries (CNETP)",
            provider="CNETP",
            identifier=IdentifierKind.SIREN,
            block=Block.ATTESTATIONS,
            freshness=Freshness.ATTESTATION,
            fetch=btp_conges.fetch_attestation_cnetp,
            parse=btp_conges.parse_attestation_cnetp,
            document_kind=btp_conges.DOCUMENT_KIND,
            scope="attestation_cotisations_conges_payes_chomage_intemperies_cibtp_cnetp",
        ),
        Source(
            key="fntp_carte_pro",
            label="Carte professionnelle travaux publics (FNTP)",
            provider="FNTP",
            identifier=IdentifierKind.SIREN,
            block=Block.CERTIFICATIONS,
            freshness=Freshness.ATTESTATION,
            fetch=fntp.fetch_carte_professionnelle,
            parse=fntp.parse_carte_professionnelle,
            document_kind=fntp.DOCUMENT_KIND,
            scope="fntp_carte_pro",
        ),
        Source(
            key="qualibat",
            label="Certification Qualibat",
            provider="Qualibat",
            identifier=IdentifierKind.SIRET,
            block=Block.CERTIFICATIONS,
            freshness=Freshness.ATTESTATION,
            fetch=qualibat.fetch_certification,
            parse=qualibat.parse_certification,
            document_kind=qualibat.DOCUMENT_KIND,
            scope="qualibat",
        ),
        Source(
            key="inpi_actes_bilans",
            label="Bilans déposés (INPI)",
            provider="INPI",
            identifier=IdentifierKind.SIREN,
            block=Block.CAPACITE,
            freshness=Freshness.DAY,
            fetch=inpi.fetch_actes_bilans,
            parse=inpi.parse_actes_bilans,
            document_kind=inpi.BILAN_DOCUMENT_KIND,
            scope="open_data",
        ),
        Source(
            key="msa_conformite",
            label="Conformité des cotisations (MSA)",
            provider="MSA",
            identifier=IdentifierKind.SIRET,
            block=Block.ATTESTATIONS,
            freshness=Freshness.ATTESTATION,
            fetch=msa.fetch_conformite,
            parse=msa.parse_conformite,
            scope="cotisations_msa",
        ),
        Source(
            key="qualifelec",
            label="Certificats Qualifelec",
            provider="Qualifelec",
            identifier=IdentifierKind.SIRET,
            block=Block.CERTIFICATIONS,
            freshness=Freshness.ATTESTATION,
            fetch=qualifelec.fetch_certificats,
            parse=qualifelec.parse_certificats,
            document_kind=qualifelec.DOCUMENT_KIND,
            scope="open_data",
        ),
        Source(
            key="ademe_rge",
            label="Certification RGE (ADEME)",
            provider="ADEME",
            identifier=IdentifierKind.SIRET,
            block=Block.CERTIFICATIONS,
            freshness=Freshness.ATTESTATION,
            fetch=ademe.fetch_certifications,
            parse=ademe.parse_certifications,
            scope="certificat_rge_ademe",
        ),
        Source(
            key="opqibi",
            label="Qualification d'ingénierie (OPQIBI)",
            provider="OPQIBI",
            identifier=IdentifierKind.SIREN,
            block=Block.CERTIFICATIONS,
            freshness=Freshness.ATTESTATION,
            fetch=opqibi.fetch_certification,
            parse=opqibi.parse_certification,
            scope="certification_opqibi",
        ),
        Source(
            key="carif_oref",
            label="Certifications Qualiopi et France Compétences (Carif-Oref)",
            provider="Carif-Oref",
            identifier=IdentifierKind.SIRET,
            block=Block.CERTIFICATIONS,
            freshness=Freshness.ATTESTATION,
            fetch=carif_oref.fetch_certifications,
            parse=carif_oref.parse_certifications,
            scope="certifications_qualiopi_france_competences",
        ),
        Source(
            key="bodacc",
            label="Annonces BODACC (procédures collectives)",
            provider="BODACC",
            identifier=IdentifierKind.SIREN,
            block=Block.EXCLUSION,
            freshness=Freshness.DAY,
            fetch=bodacc.fetch_annonces,
            parse=bodacc.parse_annonces,
            scope="open_data",
        ),
    )
}


def source_choices() -> list[tuple[str, str]]:
    return [(source.key, source.label) for source in SOURCES.values()]


def get_source(key: str) -> Source:
    return SOURCES[key]


def label(key: str) -> str:
    """The French label of a source key; the key itself for a source no longer in the catalogue."""
    source = SOURCES.get(key)
    return source.label if source else key
