"""The exclusion engine, pure: typed results in, flags out.

BODACC cases are written as the dataset's records (JSON documents serialised as strings, dates as BODACC
writes them, mojibake included) and read through the connector's parser, as the portal reads them: the
connector repairs mojibake, the engine only normalises.
"""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from candidatures.dossier_view import EVIDENCE_LABELS, FLAG_LABELS
from candidatures.exclusions import (
    NATURES,
    Flag,
    ProcedureEvent,
    Validity,
    certificate_validities,
    classify_judgement,
    evaluate,
    sanction_named,
)
from connectors import (
    ademe,
    bodacc,
    btp_conges,
    carif_oref,
    fntp,
    insee,
    msa,
    opqibi,
    probtp,
    qualibat,
    qualifelec,
    urssaf,
)
from connectors.types import CallContext, FetchedDocument, SourceResult
from tests.connectors.payloads import BODACC_URL, BUYER_SIRET, load_case

# The property tests' settings, once for the module (this is the only module using hypothesis).
settings.register_profile(
    "exclusions", max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("exclusions")

TODAY = date(2026, 11, 23)
SIREN = "552049447"

LJ = "Jugement d'ouverture de liquidation judiciaire"
RJ = "Jugement d'ouverture d'une procédure de redressement judiciaire"
SAUVEGARDE = "Jugement d'ouverture d'une procédure de sauvegarde"
CONVERSION_LJ = "Jugement de conversion en liquidation judiciaire"
PLAN = "Jugement de plan de redressement"
CLOTURE_IA = "Jugement de clôture pour insuffisance d'actif"
CLOTURE_EP = "Jugement de clôture pour extinction du passif"
DEPOT = "Dépôt de l'état des créances"
LISTE_LJ = "Liste des créances nées après le jugement d'ouverture d'une procédure de liquidation judiciaire"
FAILLITE = "Jugement de faillite personnelle"
AUTRE_PRONONCANT = "Autre jugement prononçant"
AUTRE_ORDONNANCE = "Autre jugement et ordonnance"

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin")
MONTHS += ("juillet", "août", "septembre", "octobre", "novembre", "décembre")


def mojibake(text: str) -> str:
    """UTF-8 read as Windows-1252, as some BODACC records carry it ("clÃ´ture")."""
    return text.encode("utf-8").decode("cp1252")


def french(day: date) -> str:
    return f"{'1er' if day.day == 1 else day.day} {MONTHS[day.month - 1]} {day.year}"


def slash(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def record(
    number: int,
    nature: str | None,
    judged: str | date,
    *,
    published: date | None = None,
    complement: str = "",
    typeavis: str = "annonce",
    famille: str = "collective",
    publication: str = "A",
    corrects: dict | None = None,
    jugement_famille: str = "Jugement",
    tribunal: str = "TRIBUNAL DE COMMERCE DE LYON",
    modifications: str | None = None,
) -> dict:
    """One record of `annonces-commerciales` as the API returns it. `judged` is the judgement date as BODACC
    writes it (a date is written ISO); the notice is published two weeks later unless `published` says."""
    if isinstance(judged, date):
        published = published or date.fromordinal(judged.toordinal() + 14)
        judged = judged.isoformat()
    assert published is not None, "a judgement date written as text needs its publication date"
    parution = f"{published.year}{number:04d}"
    annonce_id = f"{publication}{parution}{number:04d}"
    jugement = None
    if nature is not None:
        value = {"type": typeavis if typeavis != "annonce" else "initial", "famille": jugement_famille}
        value |= {"nature": nature, "date": judged}
        if complement:
            value["complementJugement"] = complement
        jugement = json.dumps(value, ensure_ascii=False)
    return {
        "id": annonce_id,
        "publicationavis": publication,
        "publicationavis_facette": f"Bodacc {publication}",
        "parution": parution,
        "dateparution": published.isoformat(),
        "numeroannonce": number,
        "typeavis": typeavis,
        "typeavis_lib": {"annonce": "Avis initial", "rectificatif": "Avis rectificatif"}.get(
            typeavis, "Avis d'annulation"
        ),
        "familleavis": famille,
        "familleavis_lib": famille,
        "numerodepartement": "69",
        "tribunal": tribunal,
        "commercant": "EXEMPLE SARL",
        "ville": "Lyon",
        "cp": "69002",
        "registre": [SIREN, "552 049 447"],
        "url_complete": f"https://www.bodacc.fr/pages/annonces-commerciales-detail/?q.id=id:{annonce_id}",
        "listepersonnes": json.dumps(
            {
                "personne": {
                    "typePersonne": "pm",
                    "denomination": "EXEMPLE SARL",
                    "numeroImmatriculation": {"codeRCS": "RCS", "numeroIdentification": "552 049 447"},
                }
            }
        ),
        "jugement": jugement,
        "acte": None,
        "modificationsgenerales": json.dumps({"descriptif": modifications}, ensure_ascii=False)
        if modifications
        else None,
        "radiationaurcs": None,
        "depot": None,
        "parutionavisprecedent": json.dumps(
            {
                "nomPublication": f"BODACC {corrects['publicationavis']}",
                "numeroParution": corrects["parution"],
                "numeroAnnonce": corrects["numeroannonce"],
            }
        )
        if corrects
        else None,
    }


def correction(original: dict, number: int, nature: str | None, *, typeavis: str = "rectificatif", **kwargs) -> dict:
    """A rectificatif (or an annulation) of `original`, published a month after it."""
    published = date.fromordinal(date.fromisoformat(original["dateparution"]).toordinal() + 30)
    judged = json.loads(original["jugement"])["date"] if original["jugement"] else published.isoformat()
    return record(number, nature, judged, published=published, typeavis=typeavis, corrects=original, **kwargs)


def results_of(records: list[dict]) -> dict[str, SourceResult]:
    return {"bodacc": bodacc.parse_annonces({"total_count": len(records), "results": records})}


def parsed_jugement(nature: str, complement: str = "") -> bodacc.Jugement:
    """A judgement as the connector hands it to the engine (mojibake repaired)."""
    (annonce,) = results_of([record(1, nature, date(2024, 1, 15), complement=complement)])["bodacc"].annonces
    return annonce.jugement


def decide(records: list[dict]) -> dict[str, str]:
    """flag code → the notice number its evidence names."""
    return {
        flag.code: flag.evidence["annonce_id"][-4:].lstrip("0") for flag in evaluate(results_of(records), today=TODAY)
    }


_lj = record(1, LJ, date(2024, 1, 15))
_rj = record(1, RJ, date(2024, 1, 15))
_sauvegarde = record(1, SAUVEGARDE, date(2024, 1, 15))
_cloture_after_lj = record(2, CLOTURE_IA, date(2025, 3, 3))

BODACC_CASES = [
    # Nothing to see
    pytest.param([], {}, id="no_notice"),
    pytest.param(
        [
            record(1, None, date(2020, 5, 4), famille="creation"),
            record(2, None, date(2025, 7, 1), famille="dpc", publication="C"),
        ],
        {},
        id="creation_and_accounts_only",
    ),
    # Liquidation judiciaire
    pytest.param([_lj], {"liquidation_judiciaire": "1"}, id="lj_opening"),
    pytest.param(
        [record(1, LJ, "12/03/2013", published=date(2013, 3, 28))], {"liquidation_judiciaire": "1"}, id="lj_slash_date"
    ),
    pytest.param(
        [record(1, "Jugement d'extension de liquidation judiciaire", date(2024, 2, 2))],
        {"liquidation_judiciaire": "1"},
        id="lj_extension",
    ),
    pytest.param(
        [record(1, "Jugement prononçant la liquidation judiciaire", "27 novembre 2008", published=date(2008, 12, 9))],
        {"liquidation_judiciaire": "1"},
        id="lj_pronounced_french_date",
    ),
    pytest.param(
        [_lj, _cloture_after_lj],
        {},
        id="lj_then_cloture_insuffisance_actif",
    ),
    pytest.param(
        [
            record(1, LJ, "12/03/2013", published=date(2013, 3, 28)),
            record(2, CLOTURE_EP, "17 septembre 2015", published=date(2015, 10, 1)),
        ],
        {},
        id="lj_then_cloture_extinction_passif_mixed_dates",
    ),
    pytest.param(
        [
            _lj,
            _cloture_after_lj,
            record(3, "Jugement de reprise de la procédure de liquidation judiciaire", date(2026, 2, 2)),
        ],
        {"liquidation_judiciaire": "3"},
        id="lj_closed_then_resumed",
    ),
    pytest.param([_lj, record(2, DEPOT, date(2024, 9, 1))], {"liquidation_judiciaire": "1"}, id="lj_then_claims"),
    pytest.param(
        [_lj, record(2, "Arrêt de la cour d'appel infirmant une décision soumise à publicité", date(2024, 5, 1))],
        {"liquidation_judiciaire": "1"},
        id="lj_then_appeal_unknown_effect",
    ),
    pytest.param(
        [_lj, record(2, "Jugement arrêtant le plan de redressement", date(2024, 6, 1))],
        {"liquidation_judiciaire": "1"},
        id="a_plan_never_ends_a_liquidation",
    ),
    pytest.param(
        [_lj, record(2, "Jugement de clôture de la procédure de sauvegarde", date(2024, 6, 1))],
        {"liquidation_judiciaire": "1"},
        id="closing_another_procedure_never_ends_a_liquidation",
    ),
    # Redressement judiciaire
    pytest.param([_rj], {"redressement_judiciaire": "1"}, id="rj_opening"),
    pytest.param(
        [record(1, "Jugement d'extension d'une procédure de redressement judiciaire", date(2024, 2, 2))],
        {"redressement_judiciaire": "1"},
        id="rj_extension",
    ),
    pytest.param([_rj, record(2, DEPOT, date(2024, 6, 2))], {"redressement_judiciaire": "1"}, id="rj_then_claims"),
    pytest.param(
        [
            _rj,
            record(
                2,
                PLAN,
                date(2025, 1, 10),
                complement="Jugement arrêtant le plan de redressement par voie de continuation, durée du plan 10 ans.",
            ),
        ],
        {},
        id="rj_then_plan_continuation",
    ),
    pytest.param(
        [_rj, record(2, PLAN, date(2025, 1, 10), complement="Jugement arrêtant le plan de cession au profit de X.")],
        {"redressement_judiciaire": "1"},
        id="rj_then_plan_de_cession_keeps_rj",
    ),
    pytest.param(
        [_rj, record(2, "Jugement mettant fin à la procédure de redressement judiciaire", date(2024, 8, 1))],
        {},
        id="rj_then_end",
    ),
    pytest.param(
        [_rj, record(2, CONVERSION_LJ, date(2024, 7, 1)), record(3, CLOTURE_IA, date(2026, 1, 8))],
        {},
        id="rj_converted_then_closed",
    ),
    pytest.param(
        [_rj, record(2, DEPOT, date(2024, 5, 2)), record(3, CONVERSION_LJ, date(2024, 9, 15))],
        {"liquidation_judiciaire": "3"},
        id="rj_claims_then_conversion",
    ),
    pytest.param(
        [
            _rj,
            record(2, PLAN, date(2025, 1, 10)),
            record(3, "Jugement prononçant la résolution du plan de redressement", date(2026, 3, 1)),
        ],
        {},
        id="plan_resolution_alone_ends",
    ),
    pytest.param(
        [
            _rj,
            record(2, PLAN, date(2025, 1, 10)),
            record(
                3,
                "Jugement prononçant la résolution du plan de redressement et la liquidation judiciaire",
                date(2026, 3, 1),
            ),
        ],
        {"liquidation_judiciaire": "3"},
        id="plan_resolution_and_lj",
    ),
    # Sauvegarde and the other procedures: never a ground, until converted
    pytest.param([_sauvegarde], {}, id="sauvegarde"),
    pytest.param(
        [record(1, "Jugement d'ouverture d'une procédure de sauvegarde accélérée", date(2024, 1, 15))],
        {},
        id="sauvegarde_acceleree",
    ),
    pytest.param(
        [record(1, "Jugement d'ouverture d'une procédure de sauvegarde financière accélérée", date(2024, 1, 15))],
        {},
        id="sauvegarde_financiere_acceleree",
    ),
    pytest.param(
        [
            _sauvegarde,
            record(
                2,
                "Jugement de conversion en redressement judiciaire de la procédure de sauvegarde",
                "03/06/2024",
                published=date(2024, 6, 20),
            ),
        ],
        {"redressement_judiciaire": "2"},
        id="sauvegarde_converted_into_rj",
    ),
    pytest.param(
        [
            _sauvegarde,
            record(
                2,
                "Jugement de conversion en liquidation judiciaire de la procédure de sauvegarde financière accélérée",
                date(2024, 6, 3),
            ),
        ],
        {"liquidation_judiciaire": "2"},
        id="sauvegarde_fa_converted_into_lj",
    ),
    pytest.param(
        [
            _sauvegarde,
            record(2, "Jugement arrêtant le plan de sauvegarde", date(2024, 9, 1)),
            record(
                3,
                "Jugement prononçant la résolution du plan de sauvegarde et le redressement judiciaire",
                date(2026, 2, 1),
            ),
        ],
        {"redressement_judiciaire": "3"},
        id="sauvegarde_plan_resolved_into_rj",
    ),
    pytest.param(
        [
            _sauvegarde,
            record(2, "Jugement de clôture de la procédure de sauvegarde", date(2025, 9, 1)),
        ],
        {},
        id="sauvegarde_closed",
    ),
    pytest.param(
        [
            record(1, "Jugement d'ouverture d'une procédure de traitement de sortie de crise", date(2022, 3, 1)),
            record(
                2,
                "Jugement mettant fin à la procédure de traitement de sortie de crise et ouvrant une procédure de "
                "liquidation judiciaire",
                date(2022, 9, 1),
            ),
        ],
        {"liquidation_judiciaire": "2"},
        id="sortie_de_crise_ended_into_lj",
    ),
    pytest.param(
        [
            record(
                1,
                "Jugement mettant fin à la procédure de traitement de sortie de crise et ouvrant une procédure de "
                "redressement judiciaire",
                date(2022, 9, 1),
            )
        ],
        {"redressement_judiciaire": "1"},
        id="sortie_de_crise_ended_into_rj",
    ),
    pytest.param(
        [record(1, "Jugement d'ouverture d'une procédure de traitement de sortie de crise", date(2022, 3, 1))],
        {},
        id="sortie_de_crise_alone",
    ),
    pytest.param(
        [
            record(
                1,
                "Jugement d'ouverture d'une procédure de rétablissement professionnel",
                date(2023, 4, 4),
                famille="retablissement_professionnel",
            ),
            record(
                2,
                "Jugement prononçant la clôture de la procédure de rétablissement professionnel",
                date(2023, 8, 8),
                famille="retablissement_professionnel",
            ),
        ],
        {},
        id="retablissement_professionnel",
    ),
    pytest.param(
        [record(1, "Jugement d'ouverture de conciliation", date(2023, 4, 4), famille="conciliation")],
        {},
        id="conciliation",
    ),
    pytest.param(
        [
            record(
                1,
                None,
                date(2024, 3, 1),
                publication="B",
                famille="modification",
                modifications="Dissolution anticipée de la société et mise en liquidation amiable à compter du "
                "1er mars 2024. Liquidateur : M. Dupont.",
            )
        ],
        {},
        id="liquidation_amiable_bodacc_b",
    ),
    pytest.param([record(1, LISTE_LJ, date(2024, 1, 15))], {}, id="claims_list_alone"),
    pytest.param([record(1, DEPOT, date(2024, 1, 15))], {}, id="claims_deposit_alone"),
    pytest.param(
        [record(1, "Jugement de désignation des organes de la procédure", date(2024, 1, 15))], {}, id="bodies_only"
    ),
    # "Autre jugement…": classified by the complement
    pytest.param(
        [
            _rj,
            record(
                2,
                AUTRE_PRONONCANT,
                date(2024, 9, 1),
                complement="Jugement prononçant la conversion de la procédure de redressement judiciaire en "
                "liquidation judiciaire, désignant liquidateur SELARL EXEMPLE MJ.",
            ),
        ],
        {"liquidation_judiciaire": "2"},
        id="autre_jugement_conversion_into_lj",
    ),
    pytest.param(
        [
            _rj,
            record(
                2,
                AUTRE_ORDONNANCE,
                date(2024, 9, 1),
                complement="Jugement mettant fin à la procédure de redressement judiciaire, le débiteur disposant "
                "des sommes suffisantes.",
            ),
        ],
        {},
        id="autre_jugement_ending_rj",
    ),
    pytest.param(
        [
            _rj,
            record(
                2,
                AUTRE_ORDONNANCE,
                date(2024, 9, 1),
                complement="Jugement prolongeant la période d'observation. Les créances de la liquidation judiciaire "
                "éventuelle seront déclarées au mandataire.",
            ),
        ],
        {"redressement_judiciaire": "1"},
        id="autre_jugement_neutral_complement",
    ),
    pytest.param(
        [_lj, record(2, "Autre jugement de clôture", date(2025, 4, 4))],
        {},
        id="autre_jugement_de_cloture_without_complement",
    ),
    # Cancellations and corrections
    pytest.param([_lj, correction(_lj, 2, None, typeavis="annulation")], {}, id="lj_cancelled"),
    pytest.param(
        [_lj, _cloture_after_lj, correction(_cloture_after_lj, 3, None, typeavis="annulation")],
        {"liquidation_judiciaire": "1"},
        id="cloture_cancelled_revives_lj",
    ),
    pytest.param(
        [
            _lj,
            correction(
                _lj,
                2,
                "Jugement rétractant le jugement d'ouverture de liquidation judiciaire",
                typeavis="annonce",
                jugement_famille="Rétractation sur tierce opposition",
            ),
        ],
        {},
        id="lj_withdrawn_on_third_party_opposition",
    ),
    pytest.param(
        [
            _rj,
            record(
                2,
                "Jugement constatant l'achèvement de la procédure",
                date(2025, 5, 5),
                jugement_famille="Jugement de clôture",
            ),
        ],
        {},
        id="unknown_nature_of_the_cloture_family",
    ),
    pytest.param([_lj, correction(_lj, 2, SAUVEGARDE)], {}, id="rectificatif_lj_into_sauvegarde"),
    pytest.param(
        [_rj, correction(_rj, 2, CONVERSION_LJ)], {"liquidation_judiciaire": "2"}, id="rectificatif_rj_into_lj"
    ),
    pytest.param(
        [correction(record(9, RJ, date(2010, 1, 4)), 2, LJ)],
        {"liquidation_judiciaire": "2"},
        id="rectificatif_without_its_original",
    ),
    # Mojibake
    pytest.param(
        [_lj, record(2, mojibake(CLOTURE_IA), date(2025, 3, 3), jugement_famille=mojibake("Jugement de clôture"))],
        {},
        id="mojibake_cloture",
    ),
    pytest.param([record(1, mojibake(RJ), date(2024, 1, 15))], {"redressement_judiciaire": "1"}, id="mojibake_rj"),
    # Dates: the judgement's date orders the notices, not the publication
    pytest.param(
        [
            record(1, RJ, "15/01/2024", published=date(2024, 2, 20)),
            record(
                2,
                "Jugement mettant fin à la procédure de redressement judiciaire",
                "1er février 2024",
                published=date(2024, 2, 10),
            ),
        ],
        {},
        id="judgement_date_before_publication_date",
    ),
    # An unreadable judgement date: the publication date takes its place (EXCLUSION.md §3.6)
    pytest.param(
        [
            _rj,
            record(2, "Jugement mettant fin à la procédure de redressement judiciaire", "", published=date(2024, 8, 1)),
        ],
        {},
        id="unreadable_judgement_date_then_publication_date_ends_rj",
    ),
    pytest.param(
        [
            _rj,
            record(2, PLAN, date(2024, 6, 1)),
            record(
                3,
                "Jugement prononçant la résolution du plan de redressement et la liquidation judiciaire",
                "au cours de l'audience",
                published=date(2024, 9, 27),
            ),
        ],
        {"liquidation_judiciaire": "3"},
        id="unreadable_judgement_date_publication_date_orders_it_after_the_plan",
    ),
    pytest.param(
        [
            _rj,
            record(2, PLAN, date(2025, 1, 10)),
            record(3, "Jugement prononçant la résolution du plan de redressement", date(2026, 3, 1)),
            record(4, CONVERSION_LJ, date(2026, 3, 1)),
        ],
        {"liquidation_judiciaire": "4"},
        id="same_day_resolution_and_liquidation",
    ),
    # Sanctions (best effort)
    pytest.param([record(1, FAILLITE, date(2020, 6, 1))], {"faillite_interdiction": "1"}, id="faillite_personnelle"),
    pytest.param(
        [
            _lj,
            record(
                2,
                AUTRE_PRONONCANT,
                date(2025, 2, 2),
                complement="Jugement prononçant à l'encontre de M. Jean Dupont, gérant, une interdiction de gérer "
                "pour une durée de 10 ans.",
            ),
        ],
        {"liquidation_judiciaire": "1", "faillite_interdiction": "2"},
        id="interdiction_de_gerer_in_complement",
    ),
    pytest.param([record(1, FAILLITE, date(2008, 6, 1))], {}, id="faillite_older_than_fifteen_years"),
    pytest.param(
        [
            record(
                1,
                "Jugement d'interdiction de gérer",
                date(2018, 6, 1),
                complement="Interdiction de gérer prononcée pour une durée de cinq ans.",
            )
        ],
        {},
        id="interdiction_served",
    ),
    pytest.param(
        [
            record(
                1,
                AUTRE_ORDONNANCE,
                date(2025, 6, 1),
                complement="Jugement rejetant la demande de faillite personnelle présentée par le liquidateur.",
            )
        ],
        {},
        id="sanction_refused",
    ),
]


@pytest.mark.parametrize(("records", "expected"), BODACC_CASES)
def test_bodacc_decision(records, expected):
    assert decide(records) == expected


def test_liquidation_flag_carries_its_evidence():
    records = [_rj, record(2, CONVERSION_LJ, "15/09/2024", published=date(2024, 9, 27))]
    (flag,) = evaluate(results_of(records), today=TODAY)

    assert (flag.code, flag.severity, flag.ground, flag.source) == (
        "liquidation_judiciaire",
        "exclusion",
        "L2141-3 1°",
        "bodacc",
    )
    assert flag.evidence == {
        "annonce_id": "A202400020002",
        "url": "https://www.bodacc.fr/pages/annonces-commerciales-detail/?q.id=id:A202400020002",
        "date_parution": "2024-09-27",
        "date_jugement": "2024-09-15",
        "tribunal": "TRIBUNAL DE COMMERCE DE LYON",
        "nature": CONVERSION_LJ,
        "complement": "",
        "typeavis": "avis initial",
    }


def test_redressement_flag_ground():
    (flag,) = evaluate(results_of([_rj]), today=TODAY)
    assert (flag.code, flag.severity, flag.ground) == ("redressement_judiciaire", "exclusion", "L2141-3 3°")


def test_rectificatif_evidence_is_the_correction():
    (flag,) = evaluate(results_of([_rj, correction(_rj, 2, CONVERSION_LJ)]), today=TODAY)
    assert flag.evidence["typeavis"] == "avis rectificatif"
    assert flag.evidence["annonce_id"] == "A202400020002"


def test_faillite_evidence_says_best_effort():
    flags = evaluate(results_of([record(1, FAILLITE, date(2020, 6, 1))]), today=TODAY)
    (flag,) = flags
    assert (flag.code, flag.severity, flag.ground) == ("faillite_interdiction", "exclusion", "L2141-3 2°")
    assert "au mieux" in flag.evidence["avertissement"]
    assert flag.evidence["nature"] == FAILLITE


def test_truncated_history_is_said_in_the_evidence():
    result = bodacc.parse_annonces({"total_count": 12_000, "results": [_lj]})
    (flag,) = evaluate({"bodacc": result}, today=TODAY)
    assert "12000 annonces" in flag.evidence["avertissement"]


def test_a_procedure_without_news_for_ten_years_says_so():
    (flag,) = evaluate(results_of([record(1, LJ, "12/03/2013", published=date(2013, 3, 28))]), today=TODAY)
    assert flag.code == "liquidation_judiciaire"
    assert "plus de dix ans" in flag.evidence["avertissement"]
    (recent,) = evaluate(results_of([_lj]), today=TODAY)
    assert "avertissement" not in recent.evidence


def test_sanction_in_force_depends_on_today():
    """At most fifteen years (Code de commerce L653-11), or the duration the complement states."""
    records = [record(1, FAILLITE, date(2011, 6, 1))]
    assert {flag.code for flag in evaluate(results_of(records), today=date(2026, 6, 1))} == {"faillite_interdiction"}
    assert {flag.code for flag in evaluate(results_of(records), today=date(2026, 6, 2))} == set()


# Classification ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("nature", "expected"),
    [
        (LJ, ProcedureEvent.LIQUIDATION),
        ("Jugement d'extension de liquidation judiciaire", ProcedureEvent.LIQUIDATION),
        (CONVERSION_LJ, ProcedureEvent.LIQUIDATION),
        ("Jugement de conversion en liquidation judiciaire de la procédure de sauvegarde", ProcedureEvent.LIQUIDATION),
        (
            "Jugement de conversion en liquidation judiciaire de la procédure de sauvegarde financière accélérée",
            ProcedureEvent.LIQUIDATION,
        ),
        (
            "Jugement prononçant la résolution du plan de sauvegarde et la liquidation judiciaire",
            ProcedureEvent.LIQUIDATION,
        ),
        (
            "Jugement prononçant la résolution du plan de cession et la liquidation judiciaire",
            ProcedureEvent.LIQUIDATION,
        ),
        (
            "Jugement mettant fin à la procédure de traitement de sortie de crise et ouvrant une procédure de "
            "liquidation judiciaire",
            ProcedureEvent.LIQUIDATION,
        ),
        ("Jugement de reprise de la procédure de liquidation judiciaire", ProcedureEvent.LIQUIDATION),
        (RJ, ProcedureEvent.REDRESSEMENT),
        ("Jugement d'extension d'une procédure de redressement judiciaire", ProcedureEvent.REDRESSEMENT),
        (
            "Jugement prononçant la résolution du plan de sauvegarde et le redressement judiciaire",
            ProcedureEvent.REDRESSEMENT,
        ),
        (
            "Jugement de conversion en redressement judiciaire de la procédure de sauvegarde",
            ProcedureEvent.REDRESSEMENT,
        ),
        (
            "Jugement mettant fin à la procédure de traitement de sortie de crise et ouvrant une procédure de "
            "redressement judiciaire",
            ProcedureEvent.REDRESSEMENT,
        ),
        (SAUVEGARDE, ProcedureEvent.SAUVEGARDE),
        ("Jugement d'ouverture d'une procédure de sauvegarde accélérée", ProcedureEvent.SAUVEGARDE),
        ("Jugement d'ouverture d'une procédure de sauvegarde financière accélérée", ProcedureEvent.SAUVEGARDE),
        ("Jugement d'ouverture d'une procédure de traitement de sortie de crise", ProcedureEvent.AUTRE_PROCEDURE),
        (PLAN, ProcedureEvent.PLAN),
        ("Jugement arrêtant le plan de continuation", ProcedureEvent.PLAN),
        (CLOTURE_IA, ProcedureEvent.CLOTURE),
        (CLOTURE_EP, ProcedureEvent.CLOTURE),
        ("Jugement de clôture de la procédure de sauvegarde", ProcedureEvent.CLOTURE),
        ("Jugement prononçant la clôture de la procédure de rétablissement professionnel", ProcedureEvent.CLOTURE),
        ("Jugement mettant fin à la procédure de redressement judiciaire", ProcedureEvent.CLOTURE),
        ("Jugement prononçant la résolution du plan de redressement", ProcedureEvent.CLOTURE),
        (DEPOT, ProcedureEvent.NEUTRAL),
        (LISTE_LJ, ProcedureEvent.NEUTRAL),
        ("Jugement de désignation des organes de la procédure", ProcedureEvent.NEUTRAL),
        ("Jugement arrêtant un plan de cession", ProcedureEvent.NEUTRAL),
        ("Arrêt de la cour d'appel infirmant une décision soumise à publicité", ProcedureEvent.NEUTRAL),
        (FAILLITE, ProcedureEvent.NEUTRAL),
        ("Jugement désignant un mandataire", ProcedureEvent.NEUTRAL),
        # Not in the table: classified by its words
        ("Jugement d'ouverture d'une procédure de liquidation judiciaire simplifiée", ProcedureEvent.LIQUIDATION),
        ("Jugement mettant fin à la mission de l'administrateur", ProcedureEvent.NEUTRAL),
    ],
)
def test_classify_judgement_natures_as_bodacc_writes_them(nature, expected):
    assert classify_judgement(nature) is expected
    assert classify_judgement(parsed_jugement(mojibake(nature)).nature) is expected
    assert classify_judgement(nature.upper().replace("'", "’") + ".") is expected


@pytest.mark.parametrize(
    ("nature", "complement", "expected"),
    [
        (AUTRE_PRONONCANT, "Jugement de conversion en liquidation judiciaire.", ProcedureEvent.LIQUIDATION),
        (
            AUTRE_ORDONNANCE,
            "Jugement prononçant la liquidation judiciaire, désignant liquidateur X.",
            ProcedureEvent.LIQUIDATION,
        ),
        ("Autre jugement d'ouverture", "Ouverture d'une procédure de sauvegarde.", ProcedureEvent.SAUVEGARDE),
        ("Autre jugement d'ouverture", "", ProcedureEvent.NEUTRAL),
        ("Autre jugement de clôture", "", ProcedureEvent.CLOTURE),
        (AUTRE_PRONONCANT, "Jugement arrêtant le plan de cession.", ProcedureEvent.NEUTRAL),
        (AUTRE_PRONONCANT, "Jugement modifiant le plan de redressement.", ProcedureEvent.PLAN),
        ("", "Jugement d'ouverture d'une procédure de redressement judiciaire.", ProcedureEvent.REDRESSEMENT),
        (
            AUTRE_PRONONCANT,
            "Jugement prononçant la clôture de la procédure de liquidation judiciaire ouverte par jugement "
            "d'ouverture du 1er mars 2020, pour insuffisance d'actif et autorisant la reprise des poursuites.",
            ProcedureEvent.CLOTURE,
        ),
        (AUTRE_PRONONCANT, "Jugement du 12 mars 2013, prononçant la liquidation judiciaire.", "liquidation"),
        (
            AUTRE_ORDONNANCE,
            "Jugement prononçant la liquidation judiciaire, désignant liquidateur M. Dupont. Les déclarations "
            "des créances sont à adresser au liquidateur.",
            ProcedureEvent.LIQUIDATION,
        ),
        (AUTRE_ORDONNANCE, "Dépôt de l'état des créances de la liquidation judiciaire.", ProcedureEvent.NEUTRAL),
        (
            AUTRE_PRONONCANT,
            "Jugement arrêtant le plan de redressement par voie de continuation et cession partielle.",
            ProcedureEvent.PLAN,
        ),
        (PLAN, "Jugement arrêtant le plan de cession totale.", ProcedureEvent.NEUTRAL),
        (PLAN, "Plan de redressement par continuation et cession partielle.", ProcedureEvent.PLAN),
    ],
)
def test_autre_jugement_is_classified_by_its_complement(nature, complement, expected):
    assert classify_judgement(nature, complement) == expected


@pytest.mark.parametrize(
    ("nature", "famille", "expected"),
    [
        (LJ, "Avis de dépôt", ProcedureEvent.NEUTRAL),
        ("Jugement constatant l'achèvement de la procédure", "Jugement de clôture", ProcedureEvent.CLOTURE),
        ("Jugement constatant l'achèvement de la procédure", "Jugement", ProcedureEvent.NEUTRAL),
        (LJ, "Jugement d'ouverture", ProcedureEvent.LIQUIDATION),
    ],
)
def test_the_judgement_family_settles_what_the_nature_leaves_open(nature, famille, expected):
    assert classify_judgement(nature, "", famille) is expected


def test_the_nature_table_is_normalised():
    assert all(key == key.lower() and key.isascii() and "’" not in key for key in NATURES)
    assert NATURES["jugement de cloture pour insuffisance d'actif"] is ProcedureEvent.CLOTURE


@pytest.mark.parametrize(
    ("nature", "complement", "expected"),
    [
        (FAILLITE, "", True),
        ("Jugement d'interdiction de gérer Loi de 1985", "", True),
        (AUTRE_PRONONCANT, "Jugement prononçant la faillite personnelle de M. X.", True),
        (AUTRE_PRONONCANT, "Jugement rejetant la demande d'interdiction de gérer.", False),
        (LJ, "Le tribunal pourra prononcer la faillite personnelle du dirigeant.", False),
        (RJ, "", False),
    ],
)
def test_sanction_named(nature, complement, expected):
    assert sanction_named(nature, complement) is expected


# Properties ----------------------------------------------------------------------------------------------
POOL = [
    (LJ, ""),
    (RJ, ""),
    (SAUVEGARDE, ""),
    (CONVERSION_LJ, ""),
    (PLAN, ""),
    (PLAN, "Jugement arrêtant le plan de cession."),
    (CLOTURE_IA, ""),
    (mojibake(CLOTURE_EP), ""),
    (DEPOT, ""),
    (LISTE_LJ, ""),
    ("Jugement prononçant la résolution du plan de redressement", ""),
    ("Jugement prononçant la résolution du plan de sauvegarde et la liquidation judiciaire", ""),
    ("Jugement de clôture de la procédure de sauvegarde", ""),
    ("Jugement de reprise de la procédure de liquidation judiciaire", ""),
    (AUTRE_PRONONCANT, "Jugement prononçant la liquidation judiciaire."),
    (AUTRE_ORDONNANCE, "Jugement mettant fin à la procédure de redressement judiciaire."),
    (FAILLITE, ""),
]


@st.composite
def bodacc_histories(draw) -> list[dict]:
    """A company's notices: judgements on few distinct days (ties happen), in the three date spellings, some
    outside collective procedures, some rectified or cancelled."""
    records: list[dict] = []
    for number in range(1, draw(st.integers(0, 10)) + 1):
        nature, complement = draw(st.sampled_from(POOL))
        judged = draw(st.sampled_from([date(2012, 5, 1), date(2015, 3, 3), date(2024, 1, 1), date(2024, 6, 6)]))
        judged = date.fromordinal(judged.toordinal() + draw(st.integers(0, 3)))
        published = date.fromordinal(judged.toordinal() + draw(st.integers(0, 40)))
        written = draw(st.sampled_from([judged.isoformat(), slash(judged), french(judged)]))
        famille = draw(st.sampled_from(["collective", "collective", "collective", "modification"]))
        if records and draw(st.integers(0, 4)) == 0:
            target = draw(st.sampled_from(records))
            typeavis = draw(st.sampled_from(["rectificatif", "annulation"]))
            records.append(
                record(
                    number,
                    nature,
                    written,
                    published=published,
                    complement=complement,
                    typeavis=typeavis,
                    corrects=target,
                    famille=famille,
                )
            )
        else:
            records.append(record(number, nature, written, published=published, complement=complement, famille=famille))
    return records


def flags_of(records: list[dict]) -> list[Flag]:
    return sorted(evaluate(results_of(records), today=TODAY), key=lambda flag: flag.code)


@given(st.data())
def test_shuffling_notices_never_changes_the_decision(data):
    records = data.draw(bodacc_histories())
    shuffled = data.draw(st.permutations(records))
    assert flags_of(shuffled) == flags_of(records)


@given(st.data())
def test_neutral_notices_never_change_the_decision(data):
    records = data.draw(bodacc_histories())
    nature = data.draw(st.sampled_from([DEPOT, LISTE_LJ, "Jugement de désignation des organes de la procédure"]))
    judged = data.draw(st.dates(min_value=date(2010, 1, 1), max_value=date(2026, 1, 1)))
    extra = record(99, nature, judged)
    position = data.draw(st.integers(0, len(records)))
    assert flags_of([*records[:position], extra, *records[position:]]) == flags_of(records)


@given(st.data())
def test_a_cancelled_notice_is_as_if_never_published(data):
    records = data.draw(bodacc_histories())
    nature, complement = data.draw(st.sampled_from(POOL))
    judged = data.draw(st.dates(min_value=date(2010, 1, 1), max_value=date(2026, 1, 1)))
    extra = record(98, nature, judged, complement=complement)
    cancelled = [*records, extra, correction(extra, 97, None, typeavis="annulation")]
    assert flags_of(data.draw(st.permutations(cancelled))) == flags_of(records)


@given(st.data())
def test_at_most_one_procedure_flag(data):
    codes = [flag.code for flag in flags_of(data.draw(bodacc_histories()))]
    assert len(set(codes) & {"liquidation_judiciaire", "redressement_judiciaire"}) <= 1
    assert len(codes) == len(set(codes))


# Other grounds -------------------------------------------------------------------------------------------
def test_urssaf_refusal_is_an_exclusion_ground():
    _, body = load_case("api_entreprise_v4_acoss_attestations_sociales", "attestation_non_delivree.yaml")
    (flag,) = evaluate({"urssaf_attestation_vigilance": urssaf.parse_attestation_vigilance(body)}, today=TODAY)
    assert (flag.code, flag.severity, flag.ground) == ("urssaf_refus", "exclusion", "L2141-2")
    assert flag.evidence == {"libelle": "Délivrance de l'attestation refusée par l'Urssaf"}


def test_delivered_urssaf_attestation_raises_nothing_even_when_its_dates_are_past():
    _, body = load_case("api_entreprise_v4_acoss_attestations_sociales", "attestation_delivree.yaml")
    assert evaluate({"urssaf_attestation_vigilance": urssaf.parse_attestation_vigilance(body)}, today=TODAY) == []


def test_closed_establishment_and_ceased_unit_are_warnings():
    _, etablissement = load_case("api_entreprise_v4_insee_etablissements", "personne_morale_etat_cesse.yaml")
    _, unite = load_case("api_entreprise_v4_insee_unites_legales", "personne_morale_etat_cesse.yaml")

    flags = evaluate(
        {
            "insee_etablissement": insee.parse_etablissement(etablissement),
            "insee_unite_legale": insee.parse_unite_legale(unite),
        },
        today=TODAY,
    )

    assert {(flag.code, flag.severity, flag.source) for flag in flags} == {
        ("etablissement_ferme", "warning", "insee_etablissement"),
        ("etablissement_ferme", "warning", "insee_unite_legale"),
    }
    etablissement_flag, unite_flag = sorted(flags, key=lambda flag: flag.source)
    assert etablissement_flag.evidence == {
        "etat_administratif": "établissement fermé",
        "siret": "35005144700018",
        "date_fermeture": "1995-11-15",
    }
    assert unite_flag.evidence == {
        "etat_administratif": "entreprise cessée",
        "siren": "350051447",
        "date_cessation": "1995-11-15",
    }


def test_active_establishment_raises_nothing():
    _, body = load_case("api_entreprise_v4_insee_etablissements", "personne_morale.yaml")
    assert evaluate({"insee_etablissement": insee.parse_etablissement(copy.deepcopy(body))}, today=TODAY) == []


URSSAF = "api_entreprise_v4_acoss_attestations_sociales"
INSEE_ETABLISSEMENT = "api_entreprise_v4_insee_etablissements"
INSEE_UNITE_LEGALE = "api_entreprise_v4_insee_unites_legales"
CARIF_OREF = "api_entreprise_v3_carif_oref_certifications_qualiopi_france_competences"
PROBTP_CONFORMITE = "api_entreprise_v3_probtp_conformites_cotisations_retraite"
CIBTP = "api_entreprise_v3_cibtp_attestation_cotisations_conges_payes_chomage_intemperies"
CNETP = "api_entreprise_v3_cnetp_attestation_cotisations_conges_payes_chomage_intemperies"
MSA = "api_entreprise_v3_msa_conformites_cotisations"
QUALIBAT = "api_entreprise_v4_qualibat_certifications_batiment"
OPQIBI = "api_entreprise_v3_opqibi_certifications_ingenierie"
QUALIFELEC = "api_entreprise_v3_qualifelec_certificats"
ADEME = "api_entreprise_v3_ademe_certificats_rge"


def test_probtp_non_conforme_is_a_warning_with_the_provider_status():
    _, body = load_case(PROBTP_CONFORMITE, "200_non_conforme.yaml")
    (flag,) = evaluate({"probtp_conformite": probtp.parse_conformite(body)}, today=TODAY)
    assert (flag.code, flag.severity, flag.ground, flag.source) == (
        "probtp_non_conforme",
        "warning",
        "L2141-2",
        "probtp_conformite",
    )
    assert flag.evidence == {"statut": "non conforme"}


def test_probtp_conforme_and_attestation_raise_nothing():
    _, conforme = load_case(PROBTP_CONFORMITE, "200.yaml")
    _, attestation = load_case("api_entreprise_v3_probtp_attestations_cotisation_retraite", "200.yml")
    results = {
        "probtp_conformite": probtp.parse_conformite(conforme),
        "probtp_attestation": probtp.parse_attestation(attestation),
    }
    assert evaluate(results, today=TODAY) == []


def test_cibtp_not_up_to_date_is_a_warning():
    status, body = load_case(CIBTP, "404_non_a_jour.yaml")
    assert status == 404
    (flag,) = evaluate({"cibtp_attestation": btp_conges.parse_attestation_cibtp(body)}, today=TODAY)
    assert (flag.code, flag.severity, flag.ground) == ("cibtp_non_a_jour", "warning", "L2141-2")
    assert flag.evidence["caisse"] == "CIBTP"
    assert "pas en règle" in flag.evidence["statut"]
    assert "38422" not in flag.evidence.values()


def test_cibtp_and_cnetp_attestations_raise_nothing():
    _, cibtp = load_case(CIBTP, "200.yaml")
    _, cnetp = load_case(CNETP, "200.yaml")
    _, carte = load_case("api_entreprise_v3_fntp_carte_professionnelle_travaux_publics", "200.yml")
    results = {
        "cibtp_attestation": btp_conges.parse_attestation_cibtp(cibtp),
        "cnetp_attestation": btp_conges.parse_attestation_cnetp(cnetp),
        "fntp_carte_pro": fntp.parse_carte_professionnelle(carte),
    }
    assert evaluate(results, today=TODAY) == []


def msa_result(status: str) -> SourceResult:
    _, body = load_case(MSA, "200.yaml")
    body["data"]["status"] = status
    return msa.parse_conformite(body)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("up_to_date", []),
        ("outdated", [("msa_non_a_jour", "non à jour")]),
        ("under_investigation", [("msa_en_verification", "en cours de vérification")]),
    ],
)
def test_msa_status(status, expected):
    flags = evaluate({"msa_conformite": msa_result(status)}, today=TODAY)
    assert [(flag.code, flag.evidence["statut"]) for flag in flags] == expected
    assert all(
        (flag.severity, flag.ground, list(flag.evidence)) == ("warning", "L2141-2", ["statut"]) for flag in flags
    )


def test_expired_qualibat_certificate_is_a_warning_with_its_end_date():
    _, body = load_case(QUALIBAT, "200.yml")
    result = qualibat.parse_certification(body)

    assert evaluate({"qualibat": result}, today=date(2024, 2, 2)) == []
    (flag,) = evaluate({"qualibat": result}, today=date(2024, 2, 3))
    assert (flag.code, flag.severity, flag.ground, flag.source) == (
        "certificat_expire",
        "warning",
        "L2142-1",
        "qualibat",
    )
    assert flag.evidence["certificat"] == "Certification Qualibat, fin de validité le 02/02/2024"
    assert flag.evidence["certificats"] == [
        {"certificat": "Certification Qualibat", "numero": "", "date_fin_validite": "2024-02-02"}
    ]


def test_expired_opqibi_qualifications_are_listed_in_one_warning():
    _, body = load_case(OPQIBI, "200.yml")
    result = opqibi.parse_certification(body)

    assert evaluate({"opqibi": result}, today=date(2025, 1, 1)) == []
    (flag,) = evaluate({"opqibi": result}, today=TODAY)
    assert flag.code == "certificat_expire"
    assert [item["certificat"] for item in flag.evidence["certificats"]] == [
        "Qualifications OPQIBI",
        "Qualifications probatoires OPQIBI",
    ]
    assert {item["date_fin_validite"] for item in flag.evidence["certificats"]} == {"2025-02-21"}
    assert "21/02/2025" in flag.evidence["certificat"]


def test_expired_qualifelec_certificates_one_warning_listing_each():
    _, body = load_case(QUALIFELEC, "200-certification-qualifelec_2-certificats_sans-domaine.yaml")
    result = qualifelec.parse_certificats(body)

    assert evaluate({"qualifelec": result}, today=date(2024, 1, 31)) == []
    (flag,) = evaluate({"qualifelec": result}, today=date(2024, 2, 1))
    assert set(flag.evidence) == {"certificat", "certificats"}
    assert flag.evidence["certificat"].startswith("Certificat Qualifelec COURANTS FAIBLES")
    assert flag.evidence["certificat"].endswith(", n° 2840, fin de validité le 31/01/2024")
    assert [(item["numero"], item["date_fin_validite"]) for item in flag.evidence["certificats"]] == [
        ("2840", "2024-01-31")
    ]

    (flag,) = evaluate({"qualifelec": result}, today=TODAY)
    assert set(flag.evidence) == {"certificat", "certificats"}
    assert [(item["numero"], item["date_fin_validite"]) for item in flag.evidence["certificats"]] == [
        ("2840", "2024-01-31"),
        ("2841", "2024-07-31"),
    ]
    first, second = flag.evidence["certificat"].split(" ; ")
    assert first.endswith(", n° 2840, fin de validité le 31/01/2024")
    assert second.endswith(", n° 2841, fin de validité le 31/07/2024")


def test_expired_rge_certificates_but_not_the_archived_ones():
    _, body = load_case(ADEME, "200.yml")
    result = ademe.parse_certifications(body)

    assert evaluate({"ademe_rge": result}, today=date(2025, 8, 1)) == []
    (flag,) = evaluate({"ademe_rge": result}, today=TODAY)
    assert [item["certificat"] for item in flag.evidence["certificats"]] == [
        "Certificat RGE Qualisol CESI – Fenêtres, volets, portes extérieures 2020 – qualibat",
        "Certificat RGE Qualisol CESI – Fenêtres, volets, portes extérieures 2020 – qualifelec",
    ]
    archived = copy.deepcopy(body)
    for item in archived["data"]:
        item["data"]["meta"]["archived"] = True
    assert evaluate({"ademe_rge": ademe.parse_certifications(archived)}, today=TODAY) == []


def _archived(body: dict) -> dict:
    for item in body["data"]:
        item["data"]["meta"]["archived"] = True
    return body


def _without_probationary(body: dict) -> dict:
    body["data"].update(qualifications_probatoires=[], date_validite_qualifications_probatoires=None)
    return body


RGE_LABEL = "Certificat RGE Qualisol CESI – Fenêtres, volets, portes extérieures 2020 – "


@pytest.mark.parametrize(
    ("source", "parse", "directory", "case", "change", "expected"),
    [
        pytest.param(
            "qualifelec",
            qualifelec.parse_certificats,
            QUALIFELEC,
            "200-certification-qualifelec_2-certificats_sans-domaine.yaml",
            None,
            [
                Validity(
                    "Certificat Qualifelec Installations Électriques Logement Commerce Petit Tertiaire - LCPT",
                    date(2024, 7, 31),
                    "2841",
                ),
                Validity(
                    "Certificat Qualifelec COURANTS FAIBLES LOGEMENT COMMERCE PETIT TERTIAIRE (CFLCP)",
                    date(2024, 1, 31),
                    "2840",
                ),
            ],
            id="qualifelec_each_certificate",
        ),
        pytest.param(
            "qualifelec",
            qualifelec.parse_certificats,
            QUALIFELEC,
            "200-certification-qualifelec_2-certificats_sans-domaine.yaml",
            lambda body: {**body, "data": []},
            [],
            id="qualifelec_none",
        ),
        pytest.param(
            "ademe_rge",
            ademe.parse_certifications,
            ADEME,
            "200.yml",
            None,
            [Validity(RGE_LABEL + "qualibat", date(2025, 8, 1)), Validity(RGE_LABEL + "qualifelec", date(2025, 8, 1))],
            id="rge_current",
        ),
        pytest.param("ademe_rge", ademe.parse_certifications, ADEME, "200.yml", _archived, [], id="rge_archived"),
        pytest.param(
            "opqibi",
            opqibi.parse_certification,
            OPQIBI,
            "200.yml",
            None,
            [
                Validity("Qualifications OPQIBI", date(2025, 2, 21), "string"),
                Validity("Qualifications probatoires OPQIBI", date(2025, 2, 21), "string"),
            ],
            id="opqibi_with_probationary",
        ),
        pytest.param(
            "opqibi",
            opqibi.parse_certification,
            OPQIBI,
            "200.yml",
            _without_probationary,
            [Validity("Qualifications OPQIBI", date(2025, 2, 21), "string")],
            id="opqibi_without_probationary",
        ),
        pytest.param(
            "qualibat",
            qualibat.parse_certification,
            QUALIBAT,
            "200.yml",
            None,
            [Validity("Certification Qualibat", date(2024, 2, 2))],
            id="qualibat",
        ),
        pytest.param("carif_oref", carif_oref.parse_certifications, CARIF_OREF, "200.yaml", None, [], id="qualiopi"),
    ],
)
def test_certificate_validities(source, parse, directory, case, change, expected):
    """The validity of each certificate a result carries: what the expiry warning is decided on."""
    _, body = load_case(directory, case)
    assert certificate_validities(parse(change(body) if change else body), source) == expected


def test_qualiopi_raises_nothing():
    _, body = load_case("api_entreprise_v3_carif_oref_certifications_qualiopi_france_competences", "200.yaml")
    assert evaluate({"carif_oref": carif_oref.parse_certifications(body)}, today=TODAY) == []


def expired_carte_pro() -> SourceResult:
    """An FNTP card whose downloaded document is valid until 31/12/2025."""
    document = FetchedDocument(
        kind="carte_pro_tp",
        content=b"%PDF",
        content_type="application/pdf",
        sha256="0" * 64,
        size=4,
        source_url="https://example.test/carte.pdf",
        valid_until=date(2025, 12, 31),
    )
    _, body = load_case("api_entreprise_v3_fntp_carte_professionnelle_travaux_publics", "200.yml")
    result = fntp.parse_carte_professionnelle(body)
    return type(result)(payload=body, documents=(document,))


def test_expired_document_of_another_source_is_a_warning_named_after_its_source():
    (flag,) = evaluate({"fntp_carte_pro": expired_carte_pro()}, today=TODAY)
    assert flag.code == "certificat_expire"
    assert flag.evidence["certificat"] == "Carte professionnelle travaux publics (FNTP), fin de validité le 31/12/2025"
    assert "carte_pro_tp" not in json.dumps(flag.evidence)
    assert [item["date_fin_validite"] for item in flag.evidence["certificats"]] == ["2025-12-31"]


def test_today_is_required():
    with pytest.raises(TypeError):
        evaluate({"msa_conformite": msa_result("outdated")})


def test_every_code_has_a_label_for_the_ui():
    codes = {
        "liquidation_judiciaire",
        "redressement_judiciaire",
        "faillite_interdiction",
        "urssaf_refus",
        "etablissement_ferme",
        "probtp_non_conforme",
        "cibtp_non_a_jour",
        "msa_non_a_jour",
        "msa_en_verification",
        "certificat_expire",
    }
    assert codes <= set(FLAG_LABELS)
    assert all(title and explanation for title, explanation in FLAG_LABELS.values())


def fixture_results() -> list[dict[str, SourceResult]]:
    """Every answer this module's tests read: each BODACC case and history warning, each provider case."""
    truncated = bodacc.parse_annonces({"total_count": 12_000, "results": [_lj]})
    results = [results_of(case.values[0]) for case in BODACC_CASES] + [{"bodacc": truncated}]
    cases = [
        ("urssaf_attestation_vigilance", urssaf.parse_attestation_vigilance, URSSAF, "attestation_non_delivree.yaml"),
        ("urssaf_attestation_vigilance", urssaf.parse_attestation_vigilance, URSSAF, "attestation_delivree.yaml"),
        ("insee_etablissement", insee.parse_etablissement, INSEE_ETABLISSEMENT, "personne_morale_etat_cesse.yaml"),
        ("insee_etablissement", insee.parse_etablissement, INSEE_ETABLISSEMENT, "personne_morale.yaml"),
        ("insee_unite_legale", insee.parse_unite_legale, INSEE_UNITE_LEGALE, "personne_morale_etat_cesse.yaml"),
        ("probtp_conformite", probtp.parse_conformite, PROBTP_CONFORMITE, "200_non_conforme.yaml"),
        ("probtp_conformite", probtp.parse_conformite, PROBTP_CONFORMITE, "200.yaml"),
        ("cibtp_attestation", btp_conges.parse_attestation_cibtp, CIBTP, "404_non_a_jour.yaml"),
        ("cibtp_attestation", btp_conges.parse_attestation_cibtp, CIBTP, "200.yaml"),
        ("cnetp_attestation", btp_conges.parse_attestation_cnetp, CNETP, "200.yaml"),
        ("qualibat", qualibat.parse_certification, QUALIBAT, "200.yml"),
        ("opqibi", opqibi.parse_certification, OPQIBI, "200.yml"),
        (
            "qualifelec",
            qualifelec.parse_certificats,
            QUALIFELEC,
            "200-certification-qualifelec_2-certificats_sans-domaine.yaml",
        ),
        ("ademe_rge", ademe.parse_certifications, ADEME, "200.yml"),
        ("carif_oref", carif_oref.parse_certifications, CARIF_OREF, "200.yaml"),
    ]
    results += [{source: parse(load_case(directory, name)[1])} for source, parse, directory, name in cases]
    results += [{"msa_conformite": msa_result(status)} for status in msa.STATUSES]
    results.append({"fntp_carte_pro": expired_carte_pro()})
    return results


RAW_ANSWERS = {"outdated", "under_investigation", "refus_de_delivrance", "38422", "F", "C", "annonce", "rectificatif"}


def test_every_evidence_key_has_a_french_label_and_no_raw_answer_is_shown():
    """Run over every fixture, as of today and when every certificate has expired: each evidence key the engine
    emits is labelled for the pages and the receipt (`url` is shown as a link, `certificats` by `certificat`)."""
    flags = [
        flag
        for results in fixture_results()
        for today in (TODAY, date(2100, 1, 1))
        for flag in evaluate(results, today=today)
    ]
    assert {flag.code for flag in flags} == set(FLAG_LABELS), "the fixtures raise every flag"
    labelled = {*EVIDENCE_LABELS, "url", "certificats"}
    assert {(flag.code, key) for flag in flags for key in flag.evidence if key not in labelled} == set()
    shown = [value for flag in flags for key, value in flag.evidence.items() if key != "certificats"]
    assert all(value is None or (isinstance(value, str) and value not in RAW_ANSWERS) for value in shown)


def test_the_decision_reads_every_page(settings):
    """A company with hundreds of notices: the judgement that decides is on the last page, the rectificatif
    that corrects it on the first (newest first), and the engine sees both through the connector."""
    settings.BODACC_BASE_URL = BODACC_URL
    opening = record(1, RJ, "12/01/2010", published=date(2010, 1, 20))
    rectificatif = record(
        2, LJ, "12 janvier 2010", published=date(2026, 2, 16), typeavis="rectificatif", corrects=opening
    )
    filler = [
        record(index, None, date(2025, 12, 31) - timedelta(days=index), famille="dpc", publication="C")
        for index in range(3, 233)
    ]
    records = [rectificatif, *filler, opening]

    def page(request):
        query = parse_qs(urlsplit(request.url).query)
        offset, limit = int(query["offset"][0]), int(query["limit"][0])
        body = {"total_count": len(records), "results": records[offset : offset + limit]}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    with responses.RequestsMock() as http:
        http.add_callback(responses.GET, BODACC_URL + "/catalog/datasets/annonces-commerciales/records", page)
        result = bodacc.fetch_annonces(SIREN, call=CallContext(recipient=BUYER_SIRET, object="Consultation 2026-042"))
        assert len(http.calls) == 3

    (flag,) = evaluate({"bodacc": result}, today=date(2026, 3, 1))
    assert (flag.code, flag.evidence["annonce_id"], flag.evidence["date_jugement"]) == (
        "liquidation_judiciaire",
        rectificatif["id"],
        "2010-01-12",
    )
