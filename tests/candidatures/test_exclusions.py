"""The exclusion engine, pure: typed results in, flags out."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from candidatures.exclusions import ProcedureEvent, classify_judgement, evaluate
from connectors import insee, urssaf
from connectors.bodacc import Annonce, AnnoncesBodacc, Jugement
from tests.connectors.payloads import load_case


def annonce(
    number: int,
    nature: str,
    judged: date,
    *,
    typeavis: str = "annonce",
    famille: str = "collective",
    complement: str = "",
    previous: tuple[str, int] | None = None,
) -> Annonce:
    return Annonce(
        id=f"A2025{number:07d}",
        publication="A",
        dateparution=judged,
        typeavis=typeavis,
        familleavis=famille,
        tribunal="TRIBUNAL DE COMMERCE DE LYON",
        url=f"https://www.bodacc.fr/pages/annonces-commerciales-detail/?q.id=id:A2025{number:07d}",
        jugement=Jugement(famille="", nature=nature, date=judged, complement=complement),
        parution_precedente=None
        if previous is None
        else {"nomPublication": "BODACC A", "numeroParution": previous[0], "numeroAnnonce": previous[1]},
        numero_parution="20250001",
        numero_annonce=str(number),
    )


def bodacc(*annonces: Annonce) -> dict:
    return {"bodacc": AnnoncesBodacc(payload={}, total_count=len(annonces), annonces=tuple(reversed(annonces)))}


def codes(results: dict) -> set[str]:
    return {flag.code for flag in evaluate(results)}


RJ = "Jugement d'ouverture d'une procédure de redressement judiciaire"
LJ = "Jugement d'ouverture de liquidation judiciaire"


@pytest.mark.parametrize(
    ("nature", "expected"),
    [
        (LJ, ProcedureEvent.LIQUIDATION),
        ("Jugement d'extension de liquidation judiciaire", ProcedureEvent.LIQUIDATION),
        ("Jugement de conversion en liquidation judiciaire", ProcedureEvent.LIQUIDATION),
        (
            "Jugement prononçant la résolution du plan de sauvegarde et la liquidation judiciaire",
            ProcedureEvent.LIQUIDATION,
        ),
        (
            "Jugement mettant fin à la procédure de traitement de sortie de crise et ouvrant une procédure de "
            "liquidation judiciaire",
            ProcedureEvent.LIQUIDATION,
        ),
        (RJ, ProcedureEvent.REDRESSEMENT),
        ("Jugement d'extension d'une procédure de redressement judiciaire", ProcedureEvent.REDRESSEMENT),
        (
            "Jugement de conversion en redressement judiciaire de la procédure de sauvegarde",
            ProcedureEvent.REDRESSEMENT,
        ),
        ("Jugement d'ouverture d'une procédure de sauvegarde", ProcedureEvent.SAUVEGARDE),
        ("Jugement de plan de redressement", ProcedureEvent.PLAN),
        ("Jugement de clôture pour insuffisance d'actif", ProcedureEvent.CLOTURE),
        ("Jugement de clôture pour extinction du passif", ProcedureEvent.CLOTURE),
        (
            "Jugement prononçant la clôture de la procédure de rétablissement professionnel",
            ProcedureEvent.CLOTURE,
        ),
        ("Dépôt de l'état des créances", ProcedureEvent.NEUTRAL),
        (
            "Liste des créances nées après le jugement d'ouverture d'une procédure de liquidation judiciaire",
            ProcedureEvent.NEUTRAL,
        ),
        ("Jugement désignant un mandataire", ProcedureEvent.NEUTRAL),
    ],
)
def test_classify_judgement_natures_as_bodacc_writes_them(nature, expected):
    assert classify_judgement(nature) is expected


def test_autre_jugement_is_classified_by_its_complement():
    assert classify_judgement("Autre jugement", "Jugement de conversion en liquidation judiciaire") is (
        ProcedureEvent.LIQUIDATION
    )


def test_latest_judgement_liquidation_raises_liquidation_with_evidence():
    results = bodacc(
        annonce(1, RJ, date(2025, 3, 1)),
        annonce(2, "Jugement de conversion en liquidation judiciaire", date(2025, 9, 1)),
    )

    (flag,) = evaluate(results)

    assert (flag.code, flag.severity, flag.ground) == ("liquidation_judiciaire", "exclusion", "L2141-3 1°")
    assert flag.evidence["annonce_id"] == "A20250000002"
    assert flag.evidence["tribunal"] == "TRIBUNAL DE COMMERCE DE LYON"
    assert flag.evidence["date_jugement"] == "2025-09-01"


def test_liquidation_followed_by_cloture_raises_nothing():
    assert (
        codes(
            bodacc(
                annonce(1, LJ, date(2024, 1, 1)),
                annonce(2, "Jugement de clôture pour insuffisance d'actif", date(2025, 1, 1)),
            )
        )
        == set()
    )


def test_claims_deposit_after_liquidation_does_not_hide_it():
    results = bodacc(annonce(1, LJ, date(2024, 1, 1)), annonce(2, "Dépôt de l'état des créances", date(2024, 6, 1)))
    assert codes(results) == {"liquidation_judiciaire"}


def test_claims_list_alone_is_not_a_liquidation():
    liste = "Liste des créances nées après le jugement d'ouverture d'une procédure de liquidation judiciaire"
    assert codes(bodacc(annonce(1, liste, date(2024, 1, 1)))) == set()


def test_redressement_without_plan_raises_redressement_and_plan_clears_it():
    assert codes(bodacc(annonce(1, RJ, date(2024, 1, 1)))) == {"redressement_judiciaire"}
    assert (
        codes(
            bodacc(
                annonce(1, RJ, date(2024, 1, 1)),
                annonce(2, "Jugement de plan de redressement", date(2024, 9, 1)),
            )
        )
        == set()
    )


def test_sauvegarde_is_not_an_exclusion_ground():
    assert codes(bodacc(annonce(1, "Jugement d'ouverture d'une procédure de sauvegarde", date(2024, 1, 1)))) == set()


def test_cancelled_liquidation_is_dropped():
    results = bodacc(
        annonce(1, LJ, date(2024, 1, 1)),
        annonce(2, LJ, date(2024, 1, 1), typeavis="annulation", previous=("20250001", 1)),
    )
    assert codes(results) == set()


def test_rectificatif_replaces_the_notice_it_corrects():
    results = bodacc(
        annonce(1, LJ, date(2024, 1, 1)),
        annonce(
            2,
            "Jugement d'ouverture d'une procédure de sauvegarde",
            date(2024, 1, 1),
            typeavis="rectificatif",
            previous=("20250001", 1),
        ),
    )
    assert codes(results) == set()


def test_non_collective_notices_are_ignored():
    assert codes(bodacc(annonce(1, LJ, date(2024, 1, 1), famille="radiation"))) == set()


def test_faillite_personnelle_is_flagged_best_effort():
    nature = "Jugement prononçant la faillite personnelle"
    (flag,) = evaluate(bodacc(annonce(1, nature, date(2024, 1, 1))))
    assert flag.code == "faillite_interdiction"
    assert "au mieux" in flag.evidence["avertissement"]


def test_urssaf_refusal_is_an_exclusion_ground():
    _, body = load_case("api_entreprise_v4_acoss_attestations_sociales", "attestation_non_delivree.yaml")
    (flag,) = evaluate({"urssaf_attestation_vigilance": urssaf.parse_attestation_vigilance(body)})
    assert (flag.code, flag.severity, flag.ground) == ("urssaf_refus", "exclusion", "L2141-2")


def test_delivered_urssaf_attestation_raises_nothing():
    _, body = load_case("api_entreprise_v4_acoss_attestations_sociales", "attestation_delivree.yaml")
    assert evaluate({"urssaf_attestation_vigilance": urssaf.parse_attestation_vigilance(body)}) == []


def test_closed_establishment_and_ceased_unit_are_warnings():
    _, etablissement = load_case("api_entreprise_v4_insee_etablissements", "personne_morale_etat_cesse.yaml")
    _, unite = load_case("api_entreprise_v4_insee_unites_legales", "personne_morale_etat_cesse.yaml")

    flags = evaluate(
        {
            "insee_etablissement": insee.parse_etablissement(etablissement),
            "insee_unite_legale": insee.parse_unite_legale(unite),
        }
    )

    assert {(flag.code, flag.severity, flag.source) for flag in flags} == {
        ("etablissement_ferme", "warning", "insee_etablissement"),
        ("etablissement_ferme", "warning", "insee_unite_legale"),
    }


def test_active_establishment_raises_nothing():
    _, body = load_case("api_entreprise_v4_insee_etablissements", "personne_morale.yaml")
    active = copy.deepcopy(body)
    assert evaluate({"insee_etablissement": insee.parse_etablissement(active)}) == []
