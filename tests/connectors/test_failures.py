"""One test per failure branch, run against every API Entreprise connector (branch on the HTTP status)."""

from __future__ import annotations

import re

import pytest
import requests

from connectors import (
    ademe,
    btp_conges,
    carif_oref,
    dgfip,
    errors,
    fntp,
    inpi,
    insee,
    msa,
    opqibi,
    probtp,
    qualibat,
    qualifelec,
    registry,
    urssaf,
)

from . import payloads
from .payloads import API_ENTREPRISE_URL, load_case

SIRET = "55204944776279"
SIREN = "552049447"

CONNECTORS = [
    pytest.param(insee.fetch_etablissement, SIRET, f"/v4/insee/sirene/etablissements/{SIRET}", id="insee_etab"),
    pytest.param(insee.fetch_unite_legale, SIREN, f"/v4/insee/sirene/unites_legales/{SIREN}", id="insee_ul"),
    pytest.param(inpi.fetch_extrait_rne, SIREN, f"/v3/inpi/rne/unites_legales/{SIREN}/extrait_rne", id="inpi"),
    pytest.param(
        urssaf.fetch_attestation_vigilance,
        SIREN,
        f"/v4/urssaf/unites_legales/{SIREN}/attestation_vigilance",
        id="urssaf",
    ),
    pytest.param(
        dgfip.fetch_attestation_fiscale,
        SIREN,
        f"/v4/dgfip/unites_legales/{SIREN}/attestation_fiscale",
        id="dgfip_af",
    ),
    pytest.param(
        dgfip.fetch_chiffres_affaires,
        SIRET,
        f"/v3/dgfip/etablissements/{SIRET}/chiffres_affaires",
        id="dgfip_ca",
    ),
    pytest.param(
        probtp.fetch_attestation,
        SIRET,
        f"/v3/probtp/etablissements/{SIRET}/attestation_cotisations_retraite",
        id="probtp_attestation",
    ),
    pytest.param(
        probtp.fetch_conformite,
        SIRET,
        f"/v3/probtp/etablissements/{SIRET}/conformite_cotisations_retraite",
        id="probtp_conformite",
    ),
    pytest.param(
        btp_conges.fetch_attestation_cibtp,
        SIRET,
        f"/v3/cibtp/etablissements/{SIRET}/attestation_cotisations_conges_payes_chomage_intemperies",
        id="cibtp",
    ),
    pytest.param(
        btp_conges.fetch_attestation_cnetp,
        SIREN,
        f"/v3/cnetp/unites_legales/{SIREN}/attestation_cotisations_conges_payes_chomage_intemperies",
        id="cnetp",
    ),
    pytest.param(
        fntp.fetch_carte_professionnelle,
        SIREN,
        f"/v3/fntp/unites_legales/{SIREN}/carte_professionnelle_travaux_publics",
        id="fntp",
    ),
    pytest.param(
        qualibat.fetch_certification,
        SIRET,
        f"/v4/qualibat/etablissements/{SIRET}/certification_batiment",
        id="qualibat",
    ),
    pytest.param(
        inpi.fetch_actes_bilans,
        SIREN,
        f"/v3/inpi/rne/unites_legales/open_data/{SIREN}/actes_bilans",
        id="inpi_actes_bilans",
    ),
    pytest.param(msa.fetch_conformite, SIRET, f"/v3/msa/etablissements/{SIRET}/conformite_cotisations", id="msa"),
    pytest.param(
        qualifelec.fetch_certificats, SIRET, f"/v3/qualifelec/etablissements/{SIRET}/certificats", id="qualifelec"
    ),
    pytest.param(
        ademe.fetch_certifications, SIRET, f"/v3/ademe/etablissements/{SIRET}/certification_rge", id="ademe_rge"
    ),
    pytest.param(
        opqibi.fetch_certification,
        SIREN,
        f"/v3/opqibi/unites_legales/{SIREN}/certification_ingenierie",
        id="opqibi",
    ),
    pytest.param(
        carif_oref.fetch_certifications,
        SIRET,
        f"/v3/carif_oref/etablissements/{SIRET}/certifications_qualiopi_france_competences",
        id="carif_oref",
    ),
]

# (status, official body, extra headers) → (error class, code, retry_after)
STATUS_BRANCHES = [
    pytest.param(401, payloads.UNAUTHORIZED_00101, {}, errors.Unauthorized, "00101", None, id="401"),
    pytest.param(403, payloads.FORBIDDEN_00100, {}, errors.Unauthorized, "00100", None, id="403"),
    pytest.param(404, payloads.NOT_FOUND_01003, {}, errors.NotFound, "01003", None, id="404"),
    pytest.param(409, payloads.CONFLICT_00015, {}, errors.InFlight, "00015", 1, id="409"),
    pytest.param(422, payloads.UNPROCESSABLE_00201, {}, errors.BadRequest, "00201", None, id="422"),
    pytest.param(451, payloads.UNAVAILABLE_FOR_LEGAL_REASONS, {}, errors.Refused, "00451", None, id="451"),
    pytest.param(400, payloads.BAD_REQUEST, {}, errors.PermanentError, "00400", None, id="400-other"),
    pytest.param(
        429,
        payloads.TOO_MANY_REQUESTS_00429,
        {"Retry-After": "42"},
        errors.RateLimited,
        "00429",
        42,
        id="429",
    ),
    pytest.param(502, payloads.MANUAL_CHECK_04501, {}, errors.Transient, "04501", 172800, id="502-retry_in"),
    pytest.param(502, payloads.PROVIDER_UNKNOWN_04999, {}, errors.Transient, "04999", None, id="502"),
    pytest.param(504, payloads.GATEWAY_TIMEOUT_04002, {}, errors.Transient, "04002", None, id="504"),
    pytest.param(504, payloads.NETWORK_ERROR_00501, {}, errors.Transient, "00501", 10, id="504-retry_in"),
]


@pytest.mark.parametrize(("fetch", "identifier", "path"), CONNECTORS)
@pytest.mark.parametrize(("status", "body", "headers", "error_class", "code", "retry_after"), STATUS_BRANCHES)
def test_error_statuses(http, call, fetch, identifier, path, status, body, headers, error_class, code, retry_after):
    http.get(API_ENTREPRISE_URL + path, json=body, status=status, headers=headers)
    with pytest.raises(errors.ConnectorError) as excinfo:
        fetch(identifier, call=call)
    error = excinfo.value
    assert type(error) is error_class
    assert error.http_status == status
    assert error.code == code
    assert error.detail == body["errors"][0]["detail"]
    if isinstance(error, errors.Transient):
        assert error.retry_after == retry_after
    assert len(http.calls) == 1  # no document fetched, no retry inside the connector


@pytest.mark.parametrize(
    ("directory", "filename", "fetch", "identifier", "code"),
    [
        ("api_entreprise_v4_insee_etablissements", "404.yaml", insee.fetch_etablissement, SIRET, "04003"),
        ("api_entreprise_v3_inpi_rne_extrait_rne", "404.yaml", inpi.fetch_extrait_rne, SIREN, "07003"),
        (
            "api_entreprise_v4_acoss_attestations_sociales",
            "entite_hors_perimetre.yaml",
            urssaf.fetch_attestation_vigilance,
            SIREN,
            "04003",
        ),
        (
            "api_entreprise_v4_dgfip_attestations_fiscales",
            "404.yaml",
            dgfip.fetch_attestation_fiscale,
            SIREN,
            "03003",
        ),
        (
            "api_entreprise_v3_dgfip_chiffres_affaires",
            "404.yaml",
            dgfip.fetch_chiffres_affaires,
            SIRET,
            "03003",
        ),
        (
            "api_entreprise_v3_probtp_attestations_cotisation_retraite",
            "404.yml",
            probtp.fetch_attestation,
            SIRET,
            "09003",
        ),
        (
            "api_entreprise_v3_probtp_conformites_cotisations_retraite",
            "404.yaml",
            probtp.fetch_conformite,
            SIRET,
            "09003",
        ),
        (
            "api_entreprise_v3_cibtp_attestation_cotisations_conges_payes_chomage_intemperies",
            "404.yaml",
            btp_conges.fetch_attestation_cibtp,
            SIRET,
            "38003",
        ),
        (
            "api_entreprise_v3_cnetp_attestation_cotisations_conges_payes_chomage_intemperies",
            "404.yaml",
            btp_conges.fetch_attestation_cnetp,
            SIREN,
            "38003",
        ),
        (
            "api_entreprise_v3_fntp_carte_professionnelle_travaux_publics",
            "404.yml",
            fntp.fetch_carte_professionnelle,
            SIREN,
            "12003",
        ),
        ("api_entreprise_v4_qualibat_certifications_batiment", "404.yml", qualibat.fetch_certification, SIRET, "06003"),
        ("api_entreprise_v3_inpi_rne_actes_bilans", "404.yaml", inpi.fetch_actes_bilans, SIREN, "34003"),
        ("api_entreprise_v3_msa_conformites_cotisations", "404.yaml", msa.fetch_conformite, SIRET, "10003"),
        ("api_entreprise_v3_qualifelec_certificats", "404.yaml", qualifelec.fetch_certificats, SIRET, "04003"),
        ("api_entreprise_v3_ademe_certificats_rge", "404.yml", ademe.fetch_certifications, SIRET, "19003"),
        ("api_entreprise_v3_opqibi_certifications_ingenierie", "404.yml", opqibi.fetch_certification, SIREN, "11003"),
        (
            "api_entreprise_v3_carif_oref_certifications_qualiopi_france_competences",
            "404.yaml",
            carif_oref.fetch_certifications,
            SIRET,
            "36003",
        ),
    ],
)
def test_official_not_found_cases(http, call, directory, filename, fetch, identifier, code):
    status, body = load_case(directory, filename)
    http.get(re.compile(re.escape(API_ENTREPRISE_URL) + r"/v\d/.*"), json=body, status=status)
    with pytest.raises(errors.NotFound) as excinfo:
        fetch(identifier, call=call)
    assert excinfo.value.code == code


@pytest.mark.parametrize(("fetch", "identifier", "path"), CONNECTORS)
@pytest.mark.parametrize(
    ("exception", "code"),
    [
        (requests.exceptions.ReadTimeout("read timed out (5 s)"), "timeout"),
        (requests.exceptions.ConnectTimeout("connect timed out"), "timeout"),
        (requests.exceptions.ConnectionError("connection reset by peer"), "connection_error"),
    ],
    ids=["read_timeout", "connect_timeout", "connection_error"],
)
def test_network_failures_are_transient(http, call, fetch, identifier, path, exception, code):
    http.get(API_ENTREPRISE_URL + path, body=exception)
    with pytest.raises(errors.Transient) as excinfo:
        fetch(identifier, call=call)
    assert type(excinfo.value) is errors.Transient
    assert excinfo.value.code == code
    assert isinstance(excinfo.value.__cause__, requests.RequestException)


@pytest.mark.parametrize(("fetch", "identifier", "path"), CONNECTORS)
def test_non_json_200_is_a_provider_error(http, call, fetch, identifier, path):
    http.get(
        API_ENTREPRISE_URL + path,
        body="<html><body>Maintenance en cours</body></html>",
        content_type="text/html",
    )
    with pytest.raises(errors.ProviderError) as excinfo:
        fetch(identifier, call=call)
    assert excinfo.value.code == "malformed"
    assert excinfo.value.http_status == 200


@pytest.mark.parametrize(("fetch", "identifier", "path"), CONNECTORS)
def test_empty_data_is_a_provider_error(http, call, fetch, identifier, path):
    http.get(API_ENTREPRISE_URL + path, json={"data": {}, "links": {}, "meta": {}})
    with pytest.raises(errors.ProviderError) as excinfo:
        fetch(identifier, call=call)
    assert excinfo.value.code == "malformed"
    assert isinstance(excinfo.value.__cause__, KeyError | TypeError | ValueError)


def _document_url(body: dict) -> str:
    return body["data"]["document_url"]


# Every source that downloads a document: its id in CONNECTORS → (a staging case with a link, where the link is).
DOCUMENT_CASES = {
    "inpi": (("api_entreprise_v3_inpi_rne_extrait_rne", "200.yaml"), _document_url),
    "urssaf": (("api_entreprise_v4_acoss_attestations_sociales", "attestation_delivree.yaml"), _document_url),
    "dgfip_af": (("api_entreprise_v4_dgfip_attestations_fiscales", "200.yaml"), _document_url),
    "probtp_attestation": (("api_entreprise_v3_probtp_attestations_cotisation_retraite", "200.yml"), _document_url),
    "cibtp": (
        ("api_entreprise_v3_cibtp_attestation_cotisations_conges_payes_chomage_intemperies", "200.yaml"),
        _document_url,
    ),
    "cnetp": (
        ("api_entreprise_v3_cnetp_attestation_cotisations_conges_payes_chomage_intemperies", "200.yaml"),
        _document_url,
    ),
    "fntp": (("api_entreprise_v3_fntp_carte_professionnelle_travaux_publics", "200.yml"), _document_url),
    "qualibat": (("api_entreprise_v4_qualibat_certifications_batiment", "200.yml"), _document_url),
    # Collections: one link per item (Qualifelec certificates, INPI bilans).
    "qualifelec": (
        ("api_entreprise_v3_qualifelec_certificats", "200-certification-qualifelec_rge_sans-domaine.yaml"),
        lambda body: body["data"][0]["data"]["document_url"],
    ),
    "inpi_actes_bilans": (
        ("api_entreprise_v3_inpi_rne_actes_bilans", "200.yaml"),
        lambda body: body["data"]["bilans"][0]["url"],
    ),
}
DOCUMENT_SOURCES = [
    pytest.param(*param.values, *DOCUMENT_CASES[param.id], id=param.id)
    for param in CONNECTORS
    if param.id in DOCUMENT_CASES
]


def _answer_with_a_document(http, path, case, document_url) -> str:
    """Serve the staging answer; return its (first) document link, for the test to serve."""
    _, body = load_case(*case)
    http.get(API_ENTREPRISE_URL + path, json=body)
    return document_url(body)


def test_every_document_source_is_checked():
    """Each source the registry gives a document kind runs the document tests below."""
    documented = {source.fetch for source in registry.SOURCES.values() if source.document_kind}
    assert {param.values[0] for param in DOCUMENT_SOURCES} == documented
    assert len(DOCUMENT_SOURCES) == len(DOCUMENT_CASES)


@pytest.mark.parametrize(("fetch", "identifier", "path", "case", "document_url"), DOCUMENT_SOURCES)
def test_fake_document_is_an_invalid_document(http, call, fetch, identifier, path, case, document_url):
    # An expired link typically answers an HTML page, with a 200 and whatever content type.
    http.get(
        _answer_with_a_document(http, path, case, document_url),
        body=b"<!DOCTYPE html><html><head><title>Document</title></head><body>%PDF-</body></html>",
        content_type="application/pdf",
    )
    with pytest.raises(errors.InvalidDocument) as excinfo:
        fetch(identifier, call=call)
    assert excinfo.value.code == "document_invalide"
    assert len(http.calls) == 2


@pytest.mark.parametrize(("fetch", "identifier", "path", "case", "document_url"), DOCUMENT_SOURCES)
def test_document_download_timeout_is_transient(http, call, fetch, identifier, path, case, document_url):
    http.get(
        _answer_with_a_document(http, path, case, document_url),
        body=requests.exceptions.ReadTimeout("read timed out (12 s)"),
    )
    with pytest.raises(errors.Transient) as excinfo:
        fetch(identifier, call=call)
    assert excinfo.value.code == "timeout"


@pytest.mark.parametrize(("fetch", "identifier", "path", "case", "document_url"), DOCUMENT_SOURCES)
def test_expired_document_link(http, call, fetch, identifier, path, case, document_url):
    http.get(
        _answer_with_a_document(http, path, case, document_url),
        body="<html><body>404 Not Found</body></html>",
        status=404,
    )
    with pytest.raises(errors.InvalidDocument) as excinfo:
        fetch(identifier, call=call)
    assert excinfo.value.code == "document_indisponible"
