"""BODACC open data: pagination, the JSON-string fields, mojibake and the three date spellings."""

from __future__ import annotations

import json
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from connectors import bodacc, errors
from connectors.bodacc import Jugement, siren_spaced

from .payloads import BODACC_URL

RECORDS_URL = BODACC_URL + "/catalog/datasets/annonces-commerciales/records"
SIREN = "552049447"

TYPEAVIS_LIB = {
    "annonce": "Avis initial",
    "rectificatif": "Avis rectificatif",
    "annulation": "Avis d'annulation",
}
FAMILLEAVIS_LIB = {
    "collective": "Procédures collectives",
    "modification": "Modifications diverses",
    "dpc": "Dépôts des comptes",
}


def record(
    annonce_id: str,
    dateparution: str,
    *,
    familleavis: str = "collective",
    typeavis: str = "annonce",
    jugement: dict | str | None = None,
    parution: str = "20260023",
    numeroannonce: int = 456,
    precedent: dict | None = None,
    tribunal: str = "TRIBUNAL DE COMMERCE DE LYON",
) -> dict:
    """One record in the dataset's real field format (JSON documents serialised as strings)."""
    publication = annonce_id[0]
    return {
        "id": annonce_id,
        "publicationavis": publication,
        "publicationavis_facette": f"Bodacc {publication}",
        "parution": parution,
        "dateparution": dateparution,
        "numeroannonce": numeroannonce,
        "typeavis": typeavis,
        "typeavis_lib": TYPEAVIS_LIB[typeavis],
        "familleavis": familleavis,
        "familleavis_lib": FAMILLEAVIS_LIB[familleavis],
        "numerodepartement": "69",
        "departement_nom_officiel": "Rhône",
        "region_code": 84,
        "region_nom_officiel": "Auvergne-Rhône-Alpes",
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
                    "formeJuridique": "Société à responsabilité limitée",
                    "numeroImmatriculation": {
                        "codeRCS": "RCS",
                        "numeroIdentification": "552 049 447",
                        "nomGreffeImmat": "Lyon",
                    },
                    "adresseSiegeSocial": {"numeroVoie": "2", "typeVoie": "place", "nomVoie": "Bellecour"},
                }
            },
            ensure_ascii=False,
        ),
        "jugement": json.dumps(jugement, ensure_ascii=False) if isinstance(jugement, dict) else jugement,
        "acte": None,
        "modificationsgenerales": None,
        "radiationaurcs": None,
        "depot": None,
        "parutionavisprecedent": json.dumps(precedent) if precedent else None,
    }


def jugement(nature: str, *, date_: str = "2026-01-20", famille: str = "Jugement d'ouverture", complement: str = ""):
    value = {"type": "initial", "famille": famille, "nature": nature, "date": date_}
    if complement:
        value["complementJugement"] = complement
    return value


def many_records(count: int) -> list[dict]:
    start = date(2026, 2, 4)
    return [
        record(f"A2026{index:07d}", (start - timedelta(days=index)).isoformat(), numeroannonce=index)
        for index in range(count)
    ]


def serve_pages(http, records: list[dict], total_count: int | None = None):
    """Answer like Opendatasoft: `limit` records from `offset`."""

    def callback(request):
        query = parse_qs(urlsplit(request.url).query)
        offset, limit = int(query["offset"][0]), int(query["limit"][0])
        body = {"total_count": len(records) if total_count is None else total_count}
        body["results"] = records[offset : offset + limit]
        return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(body)

    http.add_callback(responses.GET, RECORDS_URL, callback=callback)


def sent_params(http) -> list[dict]:
    return [{key: values[0] for key, values in parse_qs(urlsplit(c.request.url).query).items()} for c in http.calls]


def test_fetch_follows_every_page(http, call, call_records):
    records = many_records(250)
    serve_pages(http, records)

    result = bodacc.fetch_annonces(SIREN, call=call)

    params = sent_params(http)
    assert [(page["offset"], page["limit"]) for page in params] == [
        ("0", "100"),
        ("100", "100"),
        ("200", "100"),
    ]
    for page in params:
        assert page["where"] == 'registre="552049447" OR registre="552 049 447"'
        assert page["order_by"] == "dateparution desc"
    assert result.total_count == 250
    assert len(result.annonces) == 250
    assert result.truncated is False
    assert result.payload == {"total_count": 250, "results": records}
    assert [annonce.id for annonce in result.annonces] == [item["id"] for item in records]
    assert [record.provider for record in call_records] == ["bodacc"] * 3
    assert all(record.http_status == 200 for record in call_records)


def test_fetch_single_page_and_no_notice(http, call):
    serve_pages(http, [])
    result = bodacc.fetch_annonces(SIREN, call=call)
    assert result.total_count == 0
    assert result.annonces == ()
    assert result.payload == {"total_count": 0, "results": []}
    assert len(http.calls) == 1


def test_fetch_stops_at_the_api_window(http, call, caplog):
    serve_pages(http, many_records(10_000), total_count=12_345)

    with caplog.at_level("WARNING", logger="connectors.bodacc"):
        result = bodacc.fetch_annonces(SIREN, call=call)

    params = sent_params(http)
    assert len(params) == 100
    assert (params[-1]["offset"], params[-1]["limit"]) == ("9900", "99")
    assert all(int(page["offset"]) + int(page["limit"]) < 10_000 for page in params)
    assert len(result.annonces) == 9_999
    assert result.total_count == 12_345
    assert result.truncated is True
    # The window is logged, never the SIREN (personal data for a sole trader).
    (message,) = [entry.getMessage() for entry in caplog.records if entry.name == "connectors.bodacc"]
    assert "12345 annonces" in message
    assert SIREN not in message
    assert siren_spaced(SIREN) not in message


def test_a_notice_shifting_the_pages_is_kept_once(http, call):
    records = many_records(200)
    pages = [records[0:100], records[99:199]]  # a new notice pushed record 99 onto the second page

    def callback(request):
        page = pages.pop(0)
        return 200, {"Content-Type": "application/json"}, json.dumps({"total_count": 200, "results": page})

    http.add_callback(responses.GET, RECORDS_URL, callback=callback)
    result = bodacc.fetch_annonces(SIREN, call=call)
    ids = [annonce.id for annonce in result.annonces]
    assert len(ids) == len(set(ids)) == 199


COMPLEMENT = "Mandataire judiciaire : Maître Dupont. Date de cessation des paiements : 1er août 2025."


def test_json_string_fields_are_parsed():
    payload = {
        "total_count": 2,
        "results": [
            record(
                "A202600230456",
                "2026-02-04",
                jugement=jugement(
                    "Jugement d'ouverture d'une procédure de redressement judiciaire",
                    complement=COMPLEMENT,
                ),
            ),
            record(
                "A202600310078",
                "2026-02-16",
                typeavis="rectificatif",
                parution="20260031",
                numeroannonce=78,
                jugement=jugement("Jugement d'ouverture d'une procédure de redressement judiciaire"),
                precedent={"nomPublication": "BODACC A", "numeroParution": "20260023", "numeroAnnonce": 456},
            ),
        ],
    }

    result = bodacc.parse_annonces(payload)

    rectificatif, initial = result.annonces  # newest first
    assert initial.id == "A202600230456"
    assert initial.publication == "A"
    assert initial.dateparution == date(2026, 2, 4)
    assert initial.typeavis == "annonce"
    assert initial.familleavis == "collective"
    assert initial.tribunal == "TRIBUNAL DE COMMERCE DE LYON"
    assert initial.url == "https://www.bodacc.fr/pages/annonces-commerciales-detail/?q.id=id:A202600230456"
    assert initial.numero_parution == "20260023"
    assert initial.numero_annonce == "456"
    assert initial.parution_precedente is None
    assert initial.jugement == Jugement(
        famille="Jugement d'ouverture",
        nature="Jugement d'ouverture d'une procédure de redressement judiciaire",
        date=date(2026, 1, 20),
        complement=COMPLEMENT,
    )
    assert rectificatif.typeavis == "rectificatif"
    assert rectificatif.parution_precedente == {
        "nomPublication": "BODACC A",
        "numeroParution": "20260023",
        "numeroAnnonce": 456,
    }
    assert result.payload is payload


def test_mojibake_is_repaired():
    broken = jugement(
        "Jugement de clÃ´ture pour insuffisance d'actif",
        famille="Jugement de clÃ´ture",
        complement="Jugement prononÃ§ant la clÃ´ture dâ€™une procÃ©dure",
    )
    item = record("A202600450012", "2026-03-02", jugement=broken, tribunal="TRIBUNAL JUDICIAIRE DE SAINT-Ã‰TIENNE")
    (annonce,) = bodacc.parse_annonces({"total_count": 1, "results": [item]}).annonces
    assert annonce.jugement.nature == "Jugement de clôture pour insuffisance d'actif"
    assert annonce.jugement.famille == "Jugement de clôture"
    assert annonce.jugement.complement == "Jugement prononçant la clôture d’une procédure"
    assert annonce.tribunal == "TRIBUNAL JUDICIAIRE DE SAINT-ÉTIENNE"


@pytest.mark.parametrize(
    "text",
    ["Jugement de clôture pour insuffisance d'actif", "Liquidation (Ã  vérifier)", "Société ÉTOILE"],
    ids=["clean", "mixed", "capitals"],
)
def test_repair_leaves_other_text_alone(text):
    # Correct text, and a mix that does not decode as UTF-8, are returned as they are.
    assert bodacc.repair_mojibake(text) == text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-01-20", date(2026, 1, 20)),
        ("20/01/2026", date(2026, 1, 20)),
        ("20 janvier 2026", date(2026, 1, 20)),
        ("1er février 2026", date(2026, 2, 1)),
        ("3 fÃ©vrier 2026", date(2026, 2, 3)),
        ("27 Novembre 2008", date(2008, 11, 27)),
        ("15 août 2025", date(2025, 8, 15)),
        ("7/3/2009", date(2009, 3, 7)),
        ("31/02/2026", None),
        ("bientôt", None),
        ("", None),
    ],
)
def test_judgement_dates(raw, expected):
    item = record("A202600230456", "2026-02-04", jugement=jugement("Jugement de conversion", date_=raw))
    (annonce,) = bodacc.parse_annonces({"total_count": 1, "results": [item]}).annonces
    assert annonce.jugement is not None
    assert annonce.jugement.date == expected


@pytest.mark.parametrize(
    "raw",
    ['{"type": "initial", "famille": "Jugement d', "[1, 2]", '"texte"', '{"nature": ["liste"]}'],
    ids=["truncated", "list", "string", "wrong_type"],
)
def test_unreadable_jugement_keeps_the_notice(raw):
    items = [record("A202600230456", "2026-02-04", jugement=raw), record("B202600230457", "2026-02-03")]
    result = bodacc.parse_annonces({"total_count": 2, "results": items})
    assert [annonce.id for annonce in result.annonces] == ["A202600230456", "B202600230457"]
    assert result.annonces[0].jugement is None


def test_notices_are_sorted_newest_first():
    items = [
        record("C202600100001", "2025-06-01", familleavis="dpc"),
        record("A202600230456", "2026-02-04"),
        record("B202600150002", "2025-11-20", familleavis="modification"),
    ]
    result = bodacc.parse_annonces({"total_count": 3, "results": items})
    assert [annonce.publication for annonce in result.annonces] == ["A", "B", "C"]
    assert [annonce.jugement for annonce in result.annonces] == [None, None, None]


def _record_without(key: str) -> dict:
    item = record("A202600230456", "2026-02-04")
    del item[key]
    return item


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"results": []}, id="no_total_count"),
        pytest.param({"total_count": "3", "results": []}, id="total_count_text"),
        pytest.param({"total_count": 1}, id="no_results"),
        pytest.param({"total_count": 1, "results": [_record_without("id")]}, id="record_without_id"),
        pytest.param({"total_count": 1, "results": [_record_without("dateparution")]}, id="no_dateparution"),
        pytest.param({"total_count": 1, "results": [record("A202600230456", "demain")]}, id="dateparution_unreadable"),
        pytest.param({"total_count": 1, "results": ["A202600230456"]}, id="record_not_object"),
    ],
)
def test_malformed_payload(payload):
    with pytest.raises(errors.ProviderError, match="BODACC") as excinfo:
        bodacc.parse_annonces(payload)
    assert excinfo.value.code == "malformed"


@pytest.mark.parametrize("siren", ["55204944", "552 049 447", '552049447" OR "1"="1', "５５２０４９４４７"])
def test_invalid_siren_is_refused_without_calling(http, call, siren):
    with pytest.raises(errors.BadRequest):
        bodacc.fetch_annonces(siren, call=call)
    assert len(http.calls) == 0


def test_rate_limited(http, call):
    http.get(RECORDS_URL, json={"error_code": "TooManyRequests"}, status=429, headers={"Retry-After": "30"})
    with pytest.raises(errors.RateLimited) as excinfo:
        bodacc.fetch_annonces(SIREN, call=call)
    assert excinfo.value.retry_after == 30
    assert excinfo.value.http_status == 429


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(http, call, status):
    http.get(RECORDS_URL, body="Internal Server Error", status=status, content_type="text/plain")
    with pytest.raises(errors.Transient) as excinfo:
        bodacc.fetch_annonces(SIREN, call=call)
    assert type(excinfo.value) is errors.Transient
    assert excinfo.value.http_status == status


def test_bad_request_is_explained_in_french_and_keeps_the_server_text(http, call, call_records):
    message = "ODSQL query is malformed: invalid literal"
    http.get(RECORDS_URL, json={"error_code": "ODSQLError", "message": message}, status=400)
    with pytest.raises(errors.BadRequest) as excinfo:
        bodacc.fetch_annonces(SIREN, call=call)
    assert excinfo.value.http_status == 400
    # People read our sentence only; Opendatasoft's English stays on the body and in the audit excerpt.
    assert excinfo.value.explanation == "Requête refusée par BODACC."
    assert "ODSQL" not in excinfo.value.explanation
    assert excinfo.value.body == {"error_code": "ODSQLError", "message": message}
    (audit,) = call_records
    assert message in audit.response_excerpt


def test_failure_on_a_later_page_fails_the_source(http, call):
    records = many_records(150)
    http.get(RECORDS_URL, json={"total_count": 150, "results": records[:100]})
    http.get(RECORDS_URL, body="Service Unavailable", status=503)
    with pytest.raises(errors.Transient):
        bodacc.fetch_annonces(SIREN, call=call)
    assert len(http.calls) == 2


@pytest.mark.parametrize(
    ("exception", "code"),
    [
        (requests.exceptions.ReadTimeout("read timed out"), "timeout"),
        (requests.exceptions.ConnectionError("connection refused"), "connection_error"),
    ],
)
def test_network_failures(http, call, exception, code):
    http.get(RECORDS_URL, body=exception)
    with pytest.raises(errors.Transient) as excinfo:
        bodacc.fetch_annonces(SIREN, call=call)
    assert excinfo.value.code == code


@pytest.mark.parametrize(
    "body",
    ["<html>maintenance</html>", json.dumps({"total_count": 1}), json.dumps({"results": []})],
    ids=["not_json", "no_results", "no_total_count"],
)
def test_unusable_answers_are_provider_errors(http, call, body):
    http.get(RECORDS_URL, body=body, content_type="application/json")
    with pytest.raises(errors.ProviderError) as excinfo:
        bodacc.fetch_annonces(SIREN, call=call)
    assert excinfo.value.code == "malformed"
