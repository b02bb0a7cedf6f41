"""The pieces a buyer asks for, in words a buyer understands, and the sources that provide them.

A consultation lists the keys of the pieces it requires; the always-required pieces are implied. The
sources a candidature calls are the registered sources of its pieces. A piece none of whose sources is
registered (yet) is one the company uploads by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from connectors import registry
from connectors.types import Block


@dataclass(frozen=True)
class Piece:
    key: str
    label: str
    block: Block
    sources: tuple[str, ...] = ()
    always: bool = False
    default_for: tuple[str, ...] = ()
    # The company may upload it by hand when the sources did not provide it.
    uploadable: bool = True
    help_text: str = ""

    @property
    def active_sources(self) -> tuple[str, ...]:
        return tuple(key for key in self.sources if key in registry.SOURCES)

    @property
    def document_kinds(self) -> tuple[str, ...]:
        """The kinds of file its sources give (an uploaded file is of the piece's own key)."""
        return tuple(kind for key in self.active_sources if (kind := registry.SOURCES[key].document_kind))


ALL_MARKETS = ("travaux", "services", "fournitures")

PIECES: dict[str, Piece] = {
    piece.key: piece
    for piece in (
        Piece(
            key="identite",
            label=_("Identité de l'entreprise et extrait RNE"),
            block=Block.IDENTITE,
            sources=("insee_etablissement", "insee_unite_legale", "inpi_rne_extrait"),
            always=True,
            help_text=_("Raison sociale, adresse, activité, dirigeants (INSEE, INPI)."),
        ),
        Piece(
            key="attestation_vigilance",
            label=_("Attestation de vigilance (URSSAF)"),
            block=Block.ATTESTATIONS,
            sources=("urssaf_attestation_vigilance",),
            always=True,
        ),
        Piece(
            key="attestation_fiscale",
            label=_("Attestation de régularité fiscale (DGFIP)"),
            block=Block.ATTESTATIONS,
            sources=("dgfip_attestation_fiscale",),
            always=True,
        ),
        Piece(
            key="procedures_collectives",
            label=_("Procédures collectives (BODACC)"),
            block=Block.EXCLUSION,
            sources=("bodacc",),
            always=True,
            uploadable=False,
        ),
        Piece(
            key="capacite_economique",
            label=_("Chiffres d'affaires des trois derniers exercices"),
            block=Block.CAPACITE,
            sources=("dgfip_chiffres_affaires", "inpi_actes_bilans"),
            default_for=ALL_MARKETS,
        ),
        Piece(
            key="attestation_conges_payes",
            label=_("Attestation congés payés et chômage intempéries (CIBTP / CNETP)"),
            block=Block.ATTESTATIONS,
            sources=("cibtp_attestation", "cnetp_attestation"),
            default_for=("travaux",),
        ),
        Piece(
            key="attestation_probtp",
            label=_("Attestation de cotisations retraite (PRO BTP)"),
            block=Block.ATTESTATIONS,
            sources=("probtp_attestation", "probtp_conformite"),
            default_for=("travaux",),
        ),
        Piece(
            key="conformite_msa",
            label=_("Conformité des cotisations (MSA)"),
            block=Block.ATTESTATIONS,
            sources=("msa_conformite",),
        ),
        Piece(
            key="carte_pro_tp",
            label=_("Carte professionnelle travaux publics (FNTP)"),
            block=Block.CERTIFICATIONS,
            sources=("fntp_carte_pro",),
            default_for=("travaux",),
        ),
        Piece(
            key="qualification_qualibat",
            label=_("Qualification Qualibat"),
            block=Block.CERTIFICATIONS,
            sources=("qualibat",),
            default_for=("travaux",),
        ),
        Piece(
            key="certificat_qualifelec",
            label=_("Certificat Qualifelec"),
            block=Block.CERTIFICATIONS,
            sources=("qualifelec",),
        ),
        Piece(
            key="certification_rge",
            label=_("Certification RGE (ADEME)"),
            block=Block.CERTIFICATIONS,
            sources=("ademe_rge",),
        ),
        Piece(
            key="qualification_opqibi",
            label=_("Qualification OPQIBI (ingénierie)"),
            block=Block.CERTIFICATIONS,
            sources=("opqibi",),
        ),
        Piece(
            key="certification_qualiopi",
            label=_("Certification Qualiopi (formation)"),
            block=Block.CERTIFICATIONS,
            sources=("carif_oref",),
        ),
    )
}

BLOCK_LABELS: dict[Block, str] = {
    Block.IDENTITE: _("Identité"),
    Block.ATTESTATIONS: _("Attestations sociales et fiscales"),
    Block.CAPACITE: _("Capacité économique et financière"),
    Block.CERTIFICATIONS: _("Certifications"),
    Block.EXCLUSION: _("Motifs d'exclusion"),
}


def document_label(kind: str) -> str:
    """The piece a file kind proves, in a buyer's words; the kind itself if no piece knows it."""
    for piece in PIECES.values():
        if kind == piece.key or kind in piece.document_kinds:
            return str(piece.label)
    return kind


def default_pieces(*, market_type: str) -> list[str]:
    """The optional pieces asked by default for a market type (the buyer can add or remove them)."""
    return [piece.key for piece in PIECES.values() if not piece.always and market_type in piece.default_for]


def optional_piece_choices() -> list[tuple[str, str]]:
    return [(piece.key, piece.label) for piece in PIECES.values() if not piece.always]


def required_pieces(*, keys: Iterable[str]) -> list[Piece]:
    """The always-required pieces, then the ones asked, in catalogue order; unknown keys are ignored."""
    wanted = set(keys)
    return [piece for piece in PIECES.values() if piece.always or piece.key in wanted]


def sources_for(*, keys: Iterable[str]) -> list[str]:
    """The registered sources that the pieces need, in registry order (each called once)."""
    needed = {source for piece in required_pieces(keys=keys) for source in piece.active_sources}
    return [key for key in registry.SOURCES if key in needed]
