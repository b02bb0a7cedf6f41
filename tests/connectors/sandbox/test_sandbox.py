"""The API sandbox over real HTTP: wire format, personas, documents, rate limits, faults, latency, BODACC."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from connectors.sandbox import documents, personas
from connectors.sandbox.catalogue import INSEE, PERSONAS_FILE, STAGING_DIR, Catalogue, Route
from connectors.sandbox.server import SandboxConfig, start_in_thread

TOKEN = "sandbox-token"
SECRET = "test-secret"
PARAMS = {"context": "Tests du bac à sable", "object": "Test", "recipient": personas.RECIPIENT_SIRET}
BODACC_RECORDS = "/bodacc/api/explore/v2.1/catalog/datasets/annonces-commerciales/records"
URSSAF_SAMPLE = STAGING_DIR / "api_entreprise_v4_acoss_attestations_sociales" / "attestation_vigilance_test.pdf"

INSEE_ETABLISSEMENT = "/v4/insee/sirene/etablissements/{}"
INSEE_ETABLISSEMENT_DIFFUSIBLE = "/v4/insee/sirene/etablissements/diffusibles/{}"
INSEE_UNITE_LEGALE = "/v4/insee/sirene/unites_legales/{}"
INSEE_UNITE_LEGALE_DIFFUSIBLE = "/v4/insee/sirene/unites_legales/diffusibles/{}"
INPI_EXTRAIT = "/v3/inpi/rne/unites_legales/{}/extrait_rne"
URSSAF = "/v4/urssaf/unites_legales/{}/attestation_vigilance"
DGFIP = "/v4/dgfip/unites_legales/{}/attestation_fiscale"
CHIFFRES_AFFAIRES = "/v3/dgfip/etablissements/{}/chiffres_affaires"


def _config(**overrides):
    config = {"token": TOKEN, "secret": SECRET, "latency_ms": 0, "latency": ""}
    config["rate_limits"] = "json=250/60s,documents=50/60s"
    config.update(overrides)
    return config


@pytest.fixture(scope="module")
def sandbox():
    handle = start_in_thread(**_config())
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def clean_state(sandbox):
    yield
    for control in ("faults", "calls", "rate_limits"):
        requests.delete(f"{sandbox.base_url}/__sandbox__/{control}", timeout=5).raise_for_status()


def api_get(sandbox, path, *, token=TOKEN, params=None, timeout=10, headers=None):
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(
        sandbox.base_url + path, params=PARAMS if params is None else params, headers=headers, timeout=timeout
    )


def bodacc_get(sandbox, **params):
    return requests.get(sandbox.base_url + BODACC_RECORDS, params=params, timeout=10)


def add_fault(sandbox, **spec):
    response = requests.post(f"{sandbox.base_url}/__sandbox__/faults", json=spec, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def error_codes(response):
    return [error["code"] for error in response.json()["errors"]]


# Control API ---------------------------------------------------------------------------------------------
def test_health(sandbox):
    response = requests.get(f"{sandbox.base_url}/__sandbox__/health", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_unknown_path_is_404(sandbox):
    assert api_get(sandbox, "/v4/nothing/here").status_code == 404


def test_call_log_lists_and_resets(sandbox):
    api_get(sandbox, INSEE_ETABLISSEMENT.format(personas.DEMO_SIRET))
    calls = requests.get(f"{sandbox.base_url}/__sandbox__/calls", timeout=5).json()["calls"]
    assert len(calls) == 1
    call = calls[0]
    assert call["method"] == "GET"
    assert call["path"] == INSEE_ETABLISSEMENT.format(personas.DEMO_SIRET)
    assert call["params"] == PARAMS
    assert call["status"] == 200
    assert abs(call["time"] - time.time()) < 60
    requests.delete(f"{sandbox.base_url}/__sandbox__/calls", timeout=5)
    assert requests.get(f"{sandbox.base_url}/__sandbox__/calls", timeout=5).json()["calls"] == []


def test_config_from_env():
    config = SandboxConfig.from_env(
        {
            "SANDBOX_TOKEN": "other",
            "SANDBOX_RATE_LIMITS": "json=10/30s,documents=2/60s",
            "SANDBOX_LATENCY_MS": "25",
            "SANDBOX_LATENCY": "realistic",
        },
        rate_limits={"documents": "5/60s"},
    )
    assert config.token == "other"
    assert config.rate_limits == {"json": (10, 30.0), "documents": (5, 60.0)}
    assert config.latency_ms == 25
    assert config.latency == "realistic"
    with pytest.raises(TypeError):
        SandboxConfig.from_env({}, colour="blue")


# Case matching -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "status", "check"),
    [
        (INSEE_ETABLISSEMENT.format("55204944776279"), 200, lambda b: b["data"]["siret"] == "55204944776279"),
        (
            INSEE_ETABLISSEMENT.format("77567227221138"),
            200,
            lambda b: b["data"]["unite_legale"]["siren"] == "775672272",
        ),
        (
            INSEE_ETABLISSEMENT_DIFFUSIBLE.format("47846480300319"),
            200,
            lambda b: b["data"]["siret"] == "47846480300319",
        ),
        (INSEE_ETABLISSEMENT_DIFFUSIBLE.format("35004292500031"), 404, lambda b: b["errors"][0]["code"] == "01003"),
        (INSEE_UNITE_LEGALE.format("552049447"), 200, lambda b: b["data"]["siren"] == "552049447"),
        (INSEE_UNITE_LEGALE_DIFFUSIBLE.format("350051447"), 200, lambda b: b["data"]["etat_administratif"] == "C"),
        (INPI_EXTRAIT.format("552049447"), 200, lambda b: b["data"]["identite_entreprise"]["siren"] == "552049447"),
        (URSSAF.format("000000002"), 200, lambda b: b["data"]["entity_status"]["code"] == "refus_de_delivrance"),
        (URSSAF.format("440752244"), 404, lambda b: b["errors"][0]["code"] == "04003"),
        (DGFIP.format("418166096"), 200, lambda b: b["data"]["date_delivrance_attestation"] == "2023-04-11"),
        (DGFIP.format("000000002"), 404, lambda b: b["errors"][0]["code"] == "03003"),
        (CHIFFRES_AFFAIRES.format("13002526500001"), 200, lambda b: len(b["data"]) == 3),
        (CHIFFRES_AFFAIRES.format("00000000000000"), 404, lambda b: b["errors"][0]["code"] == "03003"),
    ],
)
def test_staging_case_matching(sandbox, path, status, check):
    response = api_get(sandbox, path)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    assert check(response.json())


def test_chiffres_affaires_merge_years_newest_first(sandbox):
    body = api_get(sandbox, CHIFFRES_AFFAIRES.format("13002526500001")).json()
    assert set(body) == {"data", "meta", "links"}
    assert [item["data"]["date_fin_exercice"] for item in body["data"]] == ["2024-12-01", "2023-12-01", "2022-12-01"]
    assert all(set(item) == {"data", "links", "meta"} for item in body["data"])


def test_unknown_identifier_answers_the_directory_404(sandbox):
    insee = api_get(sandbox, INSEE_ETABLISSEMENT.format(personas.UNKNOWN_SIRET))
    assert insee.status_code == 404
    assert insee.json() == Catalogue().cases["insee_etablissement"]["404"].json()
    urssaf = api_get(sandbox, URSSAF.format(personas.UNKNOWN_SIREN))
    assert urssaf.status_code == 404
    assert error_codes(urssaf) == ["04003"]
    for path in (CHIFFRES_AFFAIRES.format(personas.UNKNOWN_SIRET), INPI_EXTRAIT.format(personas.UNKNOWN_SIREN)):
        assert api_get(sandbox, path).status_code == 404


def test_generic_not_found_when_the_directory_has_no_404():
    route = Route("nothing", "/v3/nothing/{siren}", "no_such_directory", INSEE)
    error = Catalogue().not_found(route)["errors"][0]
    assert error["code"] == "01003"
    assert error["title"] == "Entité non trouvée"
    assert error["meta"] == {"provider": "INSEE"}


# Personas ------------------------------------------------------------------------------------------------
def test_persona_constants_match_the_yaml():
    raw = yaml.safe_load(PERSONAS_FILE.read_text(encoding="utf-8"))["personas"]
    assert raw["demo"]["siret"] == personas.DEMO_SIRET == "55204944776279"
    assert raw["urssaf_refused"]["siret"] == personas.URSSAF_REFUSED_SIRET == "47846480300319"
    assert raw["closed"]["siret"] == personas.CLOSED_SIRET == "35005144700018"
    assert raw["liquidation"]["siret"] == personas.LIQUIDATION_SIRET
    assert raw["non_diffusible"]["siret"] == personas.NON_DIFFUSIBLE_SIRET == "35004292500031"
    for item in raw.values():
        assert stdnum_siret.is_valid(item["siret"])
        assert item["siret"][:9] == item["siren"]
    assert stdnum_siret.is_valid(personas.UNKNOWN_SIRET)
    known = Catalogue().known_identifiers
    assert personas.UNKNOWN_SIRET not in known
    assert personas.UNKNOWN_SIREN not in known


def entity_status(sandbox, siren):
    response = api_get(sandbox, URSSAF.format(siren))
    return response.json()["data"]["entity_status"]["code"] if response.status_code == 200 else response.status_code


@pytest.mark.parametrize(
    ("siret", "urssaf", "dgfip", "chiffres_affaires", "inpi"),
    [
        (personas.DEMO_SIRET, "ok", 200, 200, 200),
        (personas.URSSAF_REFUSED_SIRET, "refus_de_delivrance", 200, 404, 404),
        (personas.CLOSED_SIRET, 404, 404, 404, 404),
        (personas.LIQUIDATION_SIRET, "ok", 200, 200, 404),
        (personas.NON_DIFFUSIBLE_SIRET, "ok", 200, 404, 404),
    ],
)
def test_personas_alias_every_endpoint(sandbox, siret, urssaf, dgfip, chiffres_affaires, inpi):
    siren = siret[:9]
    assert entity_status(sandbox, siren) == urssaf
    assert api_get(sandbox, DGFIP.format(siren)).status_code == dgfip
    assert api_get(sandbox, CHIFFRES_AFFAIRES.format(siret)).status_code == chiffres_affaires
    assert api_get(sandbox, INPI_EXTRAIT.format(siren)).status_code == inpi
    for template in (INSEE_ETABLISSEMENT, INSEE_UNITE_LEGALE):
        assert api_get(sandbox, template.format(siret if "etablissements" in template else siren)).status_code == 200


def test_closed_persona_is_closed_at_insee(sandbox):
    etablissement = api_get(sandbox, INSEE_ETABLISSEMENT.format(personas.CLOSED_SIRET)).json()["data"]
    assert etablissement["etat_administratif"] == "F"
    assert etablissement["unite_legale"]["etat_administratif"] == "C"


def test_urssaf_refused_persona_has_no_document(sandbox):
    data = api_get(sandbox, URSSAF.format(personas.URSSAF_REFUSED_SIREN)).json()["data"]
    assert data["document_url"] is None


def test_non_diffusible_persona(sandbox):
    data = api_get(sandbox, INSEE_ETABLISSEMENT.format(personas.NON_DIFFUSIBLE_SIRET)).json()["data"]
    assert data["status_diffusion"] != "diffusible"
    assert api_get(sandbox, INSEE_ETABLISSEMENT_DIFFUSIBLE.format(personas.NON_DIFFUSIBLE_SIRET)).status_code == 404


def test_liquidation_persona_is_a_derived_fictional_company(sandbox):
    assert stdnum_siret.is_valid(personas.LIQUIDATION_SIRET)
    assert stdnum_siren.is_valid(personas.LIQUIDATION_SIREN)
    for template in (INSEE_ETABLISSEMENT, INSEE_ETABLISSEMENT_DIFFUSIBLE):
        data = api_get(sandbox, template.format(personas.LIQUIDATION_SIRET)).json()["data"]
        assert data["siret"] == personas.LIQUIDATION_SIRET
        assert data["etat_administratif"] == "A"
        unite = data["unite_legale"]
        assert unite["siren"] == personas.LIQUIDATION_SIREN
        assert unite["personne_morale_attributs"]["raison_sociale"] == "EXEMPLE BTP EN LIQUIDATION"
        assert unite["forme_juridique"]["code"] == "5710"
        assert data["adresse"]["code_postal"] == "69003"
    for template in (INSEE_UNITE_LEGALE, INSEE_UNITE_LEGALE_DIFFUSIBLE):
        data = api_get(sandbox, template.format(personas.LIQUIDATION_SIREN)).json()["data"]
        assert data["siren"] == personas.LIQUIDATION_SIREN
        assert data["siret_siege_social"] == personas.LIQUIDATION_SIRET
        assert data["forme_juridique"]["libelle"].startswith("SAS")
    # the staging SNCF case it derives from is untouched
    sncf = api_get(sandbox, INSEE_ETABLISSEMENT.format(personas.DEMO_SIRET)).json()["data"]
    assert sncf["unite_legale"]["personne_morale_attributs"]["raison_sociale"] == "SOCIETE NATIONALE SNCF"


# Authentication and parameters ---------------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_401_without_a_valid_token(sandbox, token):
    response = api_get(sandbox, INSEE_ETABLISSEMENT.format(personas.DEMO_SIRET), token=token)
    assert response.status_code == 401
    assert response.json() == {
        "errors": [
            {
                "code": "00101",
                "title": "Interdit",
                "detail": "Votre token n'est pas valide ou n'est pas renseigné",
                "source": {"parameter": "token"},
                "meta": {},
            }
        ]
    }


def test_422_lists_every_missing_parameter(sandbox):
    response = api_get(sandbox, URSSAF.format(personas.DEMO_SIREN), params={})
    assert response.status_code == 422
    assert error_codes(response) == ["00201", "00202", "00203"]
    first = response.json()["errors"][0]
    assert first == {
        "code": "00201",
        "title": "Entité non traitable",
        "detail": "Le paramètre context est obligatoire",
        "source": {"parameter": "context"},
        "meta": {},
    }


@pytest.mark.parametrize(("missing", "code"), [("context", "00201"), ("object", "00202"), ("recipient", "00203")])
def test_422_each_missing_parameter(sandbox, missing, code):
    params = {name: value for name, value in PARAMS.items() if name != missing}
    response = api_get(sandbox, URSSAF.format(personas.DEMO_SIREN), params=params)
    assert response.status_code == 422
    assert error_codes(response) == [code]


def test_422_invalid_recipient(sandbox):
    response = api_get(sandbox, URSSAF.format(personas.DEMO_SIREN), params={**PARAMS, "recipient": "12345678901234"})
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["code"] == "00210"
    assert error["detail"] == "Le paramètre recipient doit être un numéro de SIRET valide"


@pytest.mark.parametrize("path", [INSEE_ETABLISSEMENT.format(personas.DEMO_SIRET), URSSAF.format(personas.DEMO_SIREN)])
def test_422_recipient_is_the_entity_looked_up(sandbox, path):
    response = api_get(sandbox, path, params={**PARAMS, "recipient": personas.DEMO_SIRET})
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["code"] == "00211"
    assert error["detail"] == "Le paramètre recipient ne peut pas être l'entité appelée"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        (INSEE_ETABLISSEMENT.format("1234"), "00302"),
        (INSEE_ETABLISSEMENT.format("55204944776278"), "00302"),
        (CHIFFRES_AFFAIRES.format("abcdefghijklmn"), "00302"),
        (INSEE_UNITE_LEGALE.format("55204944"), "00301"),
        (URSSAF.format("552049448"), "00301"),
    ],
)
def test_422_malformed_identifier(sandbox, path, code):
    response = api_get(sandbox, path)
    assert response.status_code == 422
    assert error_codes(response) == [code]
    assert response.json()["errors"][0]["title"] == "Entité non traitable"


# Documents -----------------------------------------------------------------------------------------------
def test_document_link_serves_the_sample_pdf(sandbox):
    data = api_get(sandbox, URSSAF.format(personas.DEMO_SIREN)).json()["data"]
    url = data["document_url"]
    assert url.startswith(f"{sandbox.base_url}/files/api_entreprise_v4_acoss_attestations_sociales/")
    download = requests.get(url, timeout=10)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.content == URSSAF_SAMPLE.read_bytes()
    expires = int(url.split("expires=")[1].split("&")[0])
    assert abs(expires - (time.time() + data["document_url_expires_in"])) < 60


@pytest.mark.parametrize(
    ("path", "stand_in"),
    [
        (
            DGFIP.format(personas.DEMO_SIREN),
            "api_entreprise_v4_dgfip_attestations_fiscales/attestation-fiscale-dgfip-exemple.pdf",
        ),
        (INPI_EXTRAIT.format(personas.DEMO_SIREN), "api_entreprise_v3_inpi_rne_extrait_rne/extrait-rne-exemple.pdf"),
    ],
)
def test_stand_in_documents(sandbox, path, stand_in):
    url = api_get(sandbox, path).json()["data"]["document_url"]
    assert url.startswith(f"{sandbox.base_url}/files/{stand_in}?")
    download = requests.get(url, timeout=10)
    assert download.status_code == 200
    assert download.content.startswith(b"%PDF-")
    assert download.content == (STAGING_DIR / stand_in).read_bytes()


def test_links_use_the_host_of_the_request(sandbox):
    response = api_get(sandbox, URSSAF.format(personas.DEMO_SIREN), headers={"Host": "sandbox.example:8010"})
    assert response.json()["data"]["document_url"].startswith("http://sandbox.example:8010/files/")


def test_expired_or_tampered_link_is_refused(sandbox):
    relative = "api_entreprise_v4_acoss_attestations_sociales/attestation_vigilance_test.pdf"
    expired = documents.signed_url(sandbox.base_url, SECRET, relative, int(time.time()) - 10)
    assert requests.get(expired, timeout=10).status_code == 404
    valid = documents.signed_url(sandbox.base_url, SECRET, relative, int(time.time()) + 60)
    assert requests.get(valid, timeout=10).status_code == 200
    tampered = valid[:-4] + "0000"
    assert requests.get(tampered, timeout=10).status_code == 404
    other_secret = documents.signed_url(sandbox.base_url, "not-the-secret", relative, int(time.time()) + 60)
    assert requests.get(other_secret, timeout=10).status_code == 404
    outside = documents.signed_url(sandbox.base_url, SECRET, "../personas.yaml", int(time.time()) + 60)
    assert requests.get(outside, timeout=10).status_code == 404


@pytest.mark.parametrize(
    "relative",
    [
        "api_entreprise_v4_acoss_attestations_sociales/attestation_delivree.yaml",
        "api_entreprise_v3_probtp_attestations_cotisation_retraite/200.yml",
    ],
)
def test_staging_cases_are_never_served_as_files(sandbox, relative):
    assert (STAGING_DIR / relative).is_file()
    assert documents.resolve(relative) is None
    signed = documents.signed_url(sandbox.base_url, SECRET, relative, int(time.time()) + 60)
    assert requests.get(signed, timeout=10).status_code == 404


# Rate limits ---------------------------------------------------------------------------------------------
def test_rate_limit_headers_on_every_answer(sandbox):
    for path in (INSEE_ETABLISSEMENT.format(personas.DEMO_SIRET), INSEE_ETABLISSEMENT.format(personas.UNKNOWN_SIRET)):
        response = api_get(sandbox, path)
        assert response.headers["RateLimit-Limit"] == "250"
        assert int(response.headers["RateLimit-Remaining"]) < 250
        assert 0 < int(response.headers["RateLimit-Reset"]) - time.time() <= 61
    assert "RateLimit-Limit" in api_get(sandbox, URSSAF.format(personas.DEMO_SIREN), params={}).headers


def test_429_over_the_limit():
    with start_in_thread(**_config(rate_limits="json=3/60s,documents=2/60s")) as small:
        path = INSEE_ETABLISSEMENT.format(personas.DEMO_SIRET)
        remaining = [int(api_get(small, path).headers["RateLimit-Remaining"]) for _ in range(3)]
        assert remaining == [2, 1, 0]
        over = api_get(small, path)
        assert over.status_code == 429
        assert error_codes(over) == ["00429"]
        assert over.json()["errors"][0]["title"] == "Trop de requêtes"
        assert 0 < int(over.headers["Retry-After"]) <= 60
        assert over.headers["RateLimit-Remaining"] == "0"

        url = documents.signed_url(
            small.base_url,
            SECRET,
            "api_entreprise_v4_acoss_attestations_sociales/attestation_vigilance_test.pdf",
            int(time.time()) + 60,
        )
        statuses = [requests.get(url, timeout=10).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]


# Faults --------------------------------------------------------------------------------------------------
def test_status_fault_is_consumed_after_times(sandbox):
    path = URSSAF.format(personas.DEMO_SIREN)
    add_fault(sandbox, path="/v4/urssaf/", kind="status", status=502, times=2)
    for _ in range(2):
        response = api_get(sandbox, path)
        assert response.status_code == 502
        error = response.json()["errors"][0]
        assert error["code"] == "04999"
        assert error["meta"] == {"provider": "ACOSS"}
    assert api_get(sandbox, path).status_code == 200
    # other paths were never affected
    add_fault(sandbox, path="/v4/urssaf/", status=502)
    assert api_get(sandbox, DGFIP.format(personas.DEMO_SIREN)).status_code == 200


def test_faults_are_consumed_in_order(sandbox):
    path = INSEE_ETABLISSEMENT.format(personas.DEMO_SIRET)
    add_fault(sandbox, path="/v4/insee/", status=502, times=1)
    add_fault(sandbox, path="/v4/insee/", status=504, times=1, retry_in=10)
    first, second, third = (api_get(sandbox, path) for _ in range(3))
    assert (first.status_code, error_codes(first)) == (502, ["01999"])
    assert (second.status_code, error_codes(second)) == (504, ["01002"])
    assert second.json()["errors"][0]["meta"] == {"provider": "INSEE", "retry_in": 10}
    assert third.status_code == 200


def test_permanent_fault_until_cleared(sandbox):
    path = DGFIP.format(personas.DEMO_SIREN)
    add_fault(sandbox, path="attestation_fiscale", status=503, times=None)
    for _ in range(3):
        response = api_get(sandbox, path)
        assert response.status_code == 503
        assert error_codes(response) == ["03001"]
    listed = requests.get(f"{sandbox.base_url}/__sandbox__/faults", timeout=5).json()
    assert listed["faults"][0]["times"] is None
    requests.delete(f"{sandbox.base_url}/__sandbox__/faults", timeout=5)
    assert api_get(sandbox, path).status_code == 200


@pytest.mark.parametrize(
    ("status", "code", "extra"),
    [
        (409, "00015", {}),
        (429, "00429", {"retry_after": 2}),
        (500, "00999", {}),
        (504, "04002", {"retry_in": 10}),
    ],
)
def test_status_fault_bodies(sandbox, status, code, extra):
    add_fault(sandbox, path="/v4/urssaf/", status=status, **extra)
    response = api_get(sandbox, URSSAF.format(personas.DEMO_SIREN))
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    assert error_codes(response) == [code]
    if status == 429:
        assert response.headers["Retry-After"] == "2"
    if "retry_in" in extra:
        assert response.json()["errors"][0]["meta"]["retry_in"] == 10


def test_timeout_fault_delays_then_answers(sandbox):
    add_fault(sandbox, path="/v4/insee/", kind="timeout", delay=0.6, times=2)
    path = INSEE_ETABLISSEMENT.format(personas.DEMO_SIRET)
    with pytest.raises(requests.Timeout):
        api_get(sandbox, path, timeout=0.2)
    started = time.monotonic()
    response = api_get(sandbox, path)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.6


def test_malformed_fault_truncates_the_json(sandbox):
    add_fault(sandbox, path="/v4/insee/", kind="malformed")
    response = api_get(sandbox, INSEE_ETABLISSEMENT.format(personas.DEMO_SIRET))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        response.json()
    assert api_get(sandbox, INSEE_ETABLISSEMENT.format(personas.DEMO_SIRET)).json()["data"]


def test_html_document_fault_applies_to_downloads_only(sandbox):
    add_fault(sandbox, path=".*", kind="html_document")
    response = api_get(sandbox, URSSAF.format(personas.DEMO_SIREN))
    assert response.status_code == 200  # the JSON endpoint is untouched
    download = requests.get(response.json()["data"]["document_url"], timeout=10)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.content.lstrip().startswith(b"<html")
    assert requests.get(response.json()["data"]["document_url"], timeout=10).content.startswith(b"%PDF-")


def test_status_fault_on_download(sandbox):
    url = api_get(sandbox, URSSAF.format(personas.DEMO_SIREN)).json()["data"]["document_url"]
    add_fault(sandbox, path="^/files/", status=502, retry_after=1)
    failed = requests.get(url, timeout=10)
    assert failed.status_code == 502
    assert failed.headers["Retry-After"] == "1"
    assert requests.get(url, timeout=10).content == URSSAF_SAMPLE.read_bytes()
    calls = requests.get(f"{sandbox.base_url}/__sandbox__/calls", timeout=5).json()["calls"]
    assert [(call["status"], call["fault"]) for call in calls[-2:]] == [(502, "status"), (200, None)]


def test_404_fault_answers_the_directory_404(sandbox):
    add_fault(sandbox, path="/v4/dgfip/", status=404)
    response = api_get(sandbox, DGFIP.format(personas.DEMO_SIREN))
    assert response.status_code == 404
    assert error_codes(response) == ["03003"]


def test_fault_on_bodacc(sandbox):
    add_fault(sandbox, path="annonces-commerciales", status=503)
    assert bodacc_get(sandbox, where=f'registre="{personas.DEMO_SIREN}"').status_code == 503
    assert bodacc_get(sandbox, where=f'registre="{personas.DEMO_SIREN}"').status_code == 200


def test_fault_from_start_config():
    with start_in_thread(**_config(faults=[{"path": "/v4/", "status": 502, "times": 1}])) as faulty:
        assert api_get(faulty, INSEE_ETABLISSEMENT.format(personas.DEMO_SIRET)).status_code == 502
        assert api_get(faulty, INSEE_ETABLISSEMENT.format(personas.DEMO_SIRET)).status_code == 200


@pytest.mark.parametrize(
    "spec", [{"kind": "explode"}, {"path": "("}, {"status": "bad"}, {"times": 0}, {"kind": "timeout", "delay": -1}]
)
def test_invalid_fault_is_refused(sandbox, spec):
    response = requests.post(f"{sandbox.base_url}/__sandbox__/faults", json=spec, timeout=5)
    assert response.status_code == 400


# Latency -------------------------------------------------------------------------------------------------
def test_latency_rule_applies_to_matching_paths(sandbox):
    response = requests.post(
        f"{sandbox.base_url}/__sandbox__/latency", json={"path": "/v4/insee/", "ms": 300}, timeout=5
    )
    assert response.status_code == 201
    started = time.monotonic()
    api_get(sandbox, INSEE_ETABLISSEMENT.format(personas.DEMO_SIRET))
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    api_get(sandbox, URSSAF.format(personas.DEMO_SIREN))
    assert time.monotonic() - started < 0.3


def test_concurrent_calls_overlap(sandbox):
    requests.post(f"{sandbox.base_url}/__sandbox__/latency", json={"path": "/v4/insee/", "ms": 400}, timeout=5)
    path = INSEE_ETABLISSEMENT.format(personas.DEMO_SIRET)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: api_get(sandbox, path).status_code, range(8)))
    assert statuses == [200] * 8
    assert time.monotonic() - started < 8 * 0.4 / 2


def test_realistic_latency_profile():
    with start_in_thread(**_config(latency="realistic")) as slow:
        started = time.monotonic()
        api_get(slow, INSEE_ETABLISSEMENT.format(personas.DEMO_SIRET))
        assert time.monotonic() - started >= 0.15


# BODACC --------------------------------------------------------------------------------------------------
def test_bodacc_where_registre_both_spellings(sandbox):
    for siren in (personas.DEMO_SIREN, "552 049 447"):
        body = bodacc_get(sandbox, where=f'registre="{siren}"').json()
        assert body["total_count"] == 2
        assert {record["publicationavis"] for record in body["results"]} == {"A", "C"}


def test_bodacc_or_and_famille(sandbox):
    either = f'registre="{personas.CLOSED_SIREN}" OR registre="{personas.LIQUIDATION_SIREN}"'
    assert bodacc_get(sandbox, where=either).json()["total_count"] == 5
    collective = bodacc_get(sandbox, where=f'registre="{personas.DEMO_SIREN}" and familleavis="collective"').json()
    assert collective == {"total_count": 0, "results": []}
    refined = bodacc_get(sandbox, where=f'registre="{personas.LIQUIDATION_SIREN}"', refine="familleavis:collective")
    assert refined.json()["total_count"] == 3
    assert bodacc_get(sandbox, where=f'registre="{personas.UNKNOWN_SIREN}"').json()["total_count"] == 0


def natures(records):
    return [json.loads(record["jugement"])["nature"] for record in records]


def test_bodacc_order_by(sandbox):
    where = f'registre="{personas.LIQUIDATION_SIREN}"'
    desc = bodacc_get(sandbox, where=where, order_by="dateparution desc").json()["results"]
    assert natures(desc) == [
        "Jugement de conversion en liquidation judiciaire",
        "Dépôt de l'état des créances",
        "Jugement d'ouverture d'une procédure de redressement judiciaire",
    ]
    asc = bodacc_get(sandbox, where=where, order_by="dateparution asc").json()["results"]
    assert [r["id"] for r in asc] == [r["id"] for r in reversed(desc)]
    closed = bodacc_get(sandbox, where=f'registre="{personas.CLOSED_SIREN}"', order_by="dateparution").json()
    assert natures(closed["results"]) == [
        "Jugement d'ouverture de liquidation judiciaire",
        "Jugement de clôture pour insuffisance d'actif",
    ]


def test_bodacc_limit_offset(sandbox):
    everything = bodacc_get(sandbox, order_by="dateparution desc").json()
    assert everything["total_count"] == 7
    assert len(everything["results"]) == 7  # default limit 10
    page = bodacc_get(sandbox, order_by="dateparution desc", limit=2, offset=1).json()
    assert page["total_count"] == 7
    assert [r["id"] for r in page["results"]] == [r["id"] for r in everything["results"][1:3]]
    assert len(bodacc_get(sandbox, limit=3).json()["results"]) == 3


def test_bodacc_limit_over_100_is_refused(sandbox):
    response = bodacc_get(sandbox, limit=101)
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "InvalidRESTParameterError"
    assert "limit" in body["message"]
    assert bodacc_get(sandbox, limit=100).status_code == 200


@pytest.mark.parametrize("where", ['registre="552049447" AND', 'nosuchfield="x"', "registre = = 'x'"])
def test_bodacc_bad_where(sandbox, where):
    response = bodacc_get(sandbox, where=where)
    assert response.status_code == 400
    assert response.json()["error_code"] == "ODSQLError"


def test_bodacc_records_have_the_real_field_format(sandbox):
    records = bodacc_get(sandbox, limit=100).json()["results"]
    for record in records:
        assert record["id"][0] == record["publicationavis"]
        assert record["publicationavis_facette"] == f"Bodacc {record['publicationavis']}"
        siren, spaced = record["registre"]
        assert spaced.replace(" ", "") == siren and len(spaced) == 11
        assert record["url_complete"] == (
            f"https://www.bodacc.fr/pages/annonces-commerciales-detail/?q.id=id:{record['id']}"
        )
        personne = json.loads(record["listepersonnes"])["personne"]
        assert personne["numeroImmatriculation"]["numeroIdentification"] == spaced
        for name in ("jugement", "parutionavisprecedent", "acte", "depot"):
            assert record[name] is None or isinstance(json.loads(record[name]), dict)
        if record["familleavis"] == "collective":
            jugement = json.loads(record["jugement"])
            assert {"type", "famille", "nature", "date"} <= set(jugement)
        assert record["tribunal"]


def test_bodacc_select(sandbox):
    body = bodacc_get(sandbox, select="id,dateparution", limit=1).json()
    assert set(body["results"][0]) == {"id", "dateparution"}


def test_records_file_is_valid_json():
    path = Path(STAGING_DIR).parent / "bodacc" / "records.json"
    assert isinstance(json.loads(path.read_text(encoding="utf-8")), list)


# BTP sources (PRO BTP, CIBTP, CNETP, FNTP, Qualibat) and the BTP personas ------------------------------
PROBTP_ATTESTATION = "/v3/probtp/etablissements/{}/attestation_cotisations_retraite"
PROBTP_CONFORMITE = "/v3/probtp/etablissements/{}/conformite_cotisations_retraite"
CIBTP = "/v3/cibtp/etablissements/{}/attestation_cotisations_conges_payes_chomage_intemperies"
CNETP = "/v3/cnetp/unites_legales/{}/attestation_cotisations_conges_payes_chomage_intemperies"
FNTP = "/v3/fntp/unites_legales/{}/carte_professionnelle_travaux_publics"
QUALIBAT = "/v4/qualibat/etablissements/{}/certification_batiment"
# The CIBTP/CNETP/FNTP staging identifiers are the DINUM's, our default recipient: ask for another buyer.
OTHER_BUYER_PARAMS = PARAMS | {"recipient": "21750001600019"}
# route template -> its sample document (the conformité has none)
BTP_DOCUMENTS = {
    PROBTP_ATTESTATION: "api_entreprise_v3_probtp_attestations_cotisation_retraite/test_probtp_attestation.pdf",
    CIBTP: "api_entreprise_v3_cibtp_attestation_cotisations_conges_payes_chomage_intemperies/test_cibtp_certificat.pdf",
    CNETP: "api_entreprise_v3_cnetp_attestation_cotisations_conges_payes_chomage_intemperies/test_cnetp_certificat.pdf",
    FNTP: "api_entreprise_v3_fntp_carte_professionnelle_travaux_publics/carte_professionnelle_tp_test.pdf",
    QUALIBAT: "api_entreprise_v4_qualibat_certifications_batiment/exemple-qualibat.pdf",
}


def _identifier(template, siret):
    return siret[:9] if "/unites_legales/" in template else siret


@pytest.mark.parametrize(
    ("path", "status", "check"),
    [
        (PROBTP_ATTESTATION.format("30613890001294"), 200, lambda b: b["data"]["expires_in"] == 7889238),
        (PROBTP_ATTESTATION.format("55203253400001"), 404, lambda b: b["errors"][0]["code"] == "09003"),
        (PROBTP_CONFORMITE.format("30613890001294"), 200, lambda b: b["data"] == {"eligible": True}),
        (PROBTP_CONFORMITE.format("00000000000000"), 404, lambda b: b["errors"][0]["code"] == "09003"),
        (CIBTP.format("13002526500013"), 200, lambda b: b["data"]["expires_in"] == 600),
        (CIBTP.format("84445156452589"), 404, lambda b: b["errors"][0]["code"] == "38003"),
        (CIBTP.format("20459446201414"), 504, lambda b: b["errors"][0]["code"] == "38002"),
        (CNETP.format("130025265"), 200, lambda b: b["data"]["expires_in"] == 600),
        (CNETP.format("844451564"), 404, lambda b: b["errors"][0]["meta"]["provider"] == "CNETP"),
        (CNETP.format("204594462"), 504, lambda b: b["errors"][0]["code"] == "38002"),
        (FNTP.format("130025265"), 200, lambda b: "document_url" in b["data"]),
        (FNTP.format("844451564"), 404, lambda b: b["errors"][0]["code"] == "12003"),
        (QUALIBAT.format("30613890001294"), 200, lambda b: b["data"]["date_fin_validite"] == "2024-02-02"),
        (QUALIBAT.format("55203253400001"), 404, lambda b: b["errors"][0]["code"] == "06003"),
    ],
)
def test_btp_staging_case_matching(sandbox, path, status, check):
    response = api_get(sandbox, path, params=OTHER_BUYER_PARAMS)
    assert response.status_code == status, response.text
    assert check(response.json())


def test_btp_routes_read_the_yml_staging_cases():
    cases = Catalogue().cases
    assert set(cases["probtp_attestation"]) == {"200", "404"}
    assert set(cases["fntp_carte_pro"]) == {"200", "404"}
    assert set(cases["qualibat"]) == {"200", "404"}
    assert set(cases["cibtp_attestation"]) == {"200", "404", "404_non_a_jour", "504"}


@pytest.mark.parametrize("template", list(BTP_DOCUMENTS))
def test_btp_document_links_serve_the_sample_pdfs(sandbox, template):
    staging_id = {CNETP: "130025265", FNTP: "130025265", CIBTP: "13002526500013"}.get(template, "30613890001294")
    url = api_get(sandbox, template.format(staging_id), params=OTHER_BUYER_PARAMS).json()["data"]["document_url"]
    assert url.startswith(f"{sandbox.base_url}/files/{BTP_DOCUMENTS[template]}?")
    download = requests.get(url, timeout=10)
    assert download.status_code == 200
    assert download.content == (STAGING_DIR / BTP_DOCUMENTS[template]).read_bytes()
    assert download.content.startswith(b"%PDF-")


def test_demo_persona_is_eligible_at_probtp(sandbox):
    """The staging case 200_non_conforme carries the demo's SIRET: the persona pins the eligible case."""
    siret = personas.DEMO_SIRET
    assert Catalogue().cases["probtp_conformite"]["200_non_conforme"].params == {"siret": siret}
    response = api_get(sandbox, PROBTP_CONFORMITE.format(siret))
    assert response.status_code == 200
    assert response.json()["data"] == {"eligible": True}


@pytest.mark.parametrize(
    ("template", "staging_id", "expires_in"),
    [(FNTP, "130025265", 7889238), (PROBTP_ATTESTATION, "30613890001294", 7889238), (CIBTP, "13002526500013", 600)],
)
def test_v3_links_last_the_expires_in_of_the_payload(sandbox, template, staging_id, expires_in):
    url = api_get(sandbox, template.format(staging_id), params=OTHER_BUYER_PARAMS).json()["data"]["document_url"]
    expires = int(url.split("expires=")[1].split("&")[0])
    assert abs(expires - (time.time() + expires_in)) < 60


def test_btp_persona_constants_match_the_yaml():
    raw = yaml.safe_load(PERSONAS_FILE.read_text(encoding="utf-8"))["personas"]
    for key, siret, siren in (
        ("btp", personas.BTP_SIRET, personas.BTP_SIREN),
        ("btp_non_a_jour", personas.BTP_NON_A_JOUR_SIRET, personas.BTP_NON_A_JOUR_SIREN),
    ):
        assert (raw[key]["siret"], raw[key]["siren"]) == (siret, siren)
        assert stdnum_siret.is_valid(siret)
        assert stdnum_siren.is_valid(siren)


def test_btp_persona_is_an_active_construction_company_in_order(sandbox):
    siret, siren = personas.BTP_SIRET, personas.BTP_SIREN
    etablissement = api_get(sandbox, INSEE_ETABLISSEMENT.format(siret)).json()["data"]
    assert etablissement["siret"] == siret
    assert etablissement["etat_administratif"] == "A"
    assert etablissement["activite_principale"]["code"] == "43.99C"
    unite = api_get(sandbox, INSEE_UNITE_LEGALE.format(siren)).json()["data"]
    assert unite["personne_morale_attributs"]["raison_sociale"] == "EXEMPLE BATIMENT ET TRAVAUX PUBLICS"
    assert unite["etat_administratif"] == "A"
    assert entity_status(sandbox, siren) == "ok"
    assert api_get(sandbox, DGFIP.format(siren)).status_code == 200
    assert len(api_get(sandbox, CHIFFRES_AFFAIRES.format(siret)).json()["data"]) == 3
    assert api_get(sandbox, PROBTP_CONFORMITE.format(siret)).json()["data"] == {"eligible": True}
    for template, relative in BTP_DOCUMENTS.items():
        response = api_get(sandbox, template.format(_identifier(template, siret)))
        assert response.status_code == 200, (template, response.text)
        url = response.json()["data"]["document_url"]
        assert url.startswith(f"{sandbox.base_url}/files/{relative}?")
        assert requests.get(url, timeout=10).content.startswith(b"%PDF-")


def test_btp_non_a_jour_persona(sandbox):
    siret, siren = personas.BTP_NON_A_JOUR_SIRET, personas.BTP_NON_A_JOUR_SIREN
    etablissement = api_get(sandbox, INSEE_ETABLISSEMENT.format(siret)).json()["data"]
    assert (etablissement["siret"], etablissement["etat_administratif"]) == (siret, "A")
    cibtp = api_get(sandbox, CIBTP.format(siret))
    assert cibtp.status_code == 404
    assert cibtp.json()["errors"][0] | {"detail": ""} == {
        "code": "38422",
        "title": "Attestation non disponible",
        "detail": "",
        "source": None,
        "meta": {"provider": "CIBTP"},
    }
    assert api_get(sandbox, PROBTP_CONFORMITE.format(siret)).json()["data"] == {"eligible": False}
    assert api_get(sandbox, PROBTP_ATTESTATION.format(siret)).status_code == 404
    assert api_get(sandbox, CNETP.format(siren)).status_code == 404
    assert api_get(sandbox, FNTP.format(siren)).status_code == 404
    assert entity_status(sandbox, siren) == "ok"


@pytest.mark.parametrize(
    ("template", "code"),
    [(PROBTP_ATTESTATION, "09999"), (CIBTP, "38999"), (CNETP, "08999"), (FNTP, "12999"), (QUALIBAT, "06999")],
)
def test_btp_status_fault_uses_the_provider_prefix(sandbox, template, code):
    add_fault(sandbox, path=template.split("{}")[0], kind="status", status=502)
    response = api_get(sandbox, template.format(_identifier(template, personas.BTP_SIRET)))
    assert response.status_code == 502
    assert error_codes(response) == [code]


# Certifications (Qualifelec, ADEME RGE, OPQIBI, Carif-Oref), MSA, INPI actes et bilans; the ingenierie persona --
INPI_ACTES_BILANS = "/v3/inpi/rne/unites_legales/open_data/{}/actes_bilans"
MSA = "/v3/msa/etablissements/{}/conformite_cotisations"
QUALIFELEC = "/v3/qualifelec/etablissements/{}/certificats"
ADEME_RGE = "/v3/ademe/etablissements/{}/certification_rge"
OPQIBI = "/v3/opqibi/unites_legales/{}/certification_ingenierie"
CARIF_OREF = "/v3/carif_oref/etablissements/{}/certifications_qualiopi_france_competences"
# Several staging identifiers are the DINUM's, our default recipient: ask for another buyer.
CERTIFICATION_BUYER_PARAMS = PARAMS | {"recipient": "21750001600019"}


@pytest.mark.parametrize(
    ("path", "status", "check"),
    [
        (INPI_ACTES_BILANS.format("130025265"), 200, lambda b: len(b["data"]["bilans"]) == 3),
        (INPI_ACTES_BILANS.format("754508695"), 404, lambda b: b["errors"][0]["code"] == "34003"),
        (MSA.format("20005379100014"), 200, lambda b: b["data"] == {"status": "up_to_date"}),
        (MSA.format("13002526500013"), 404, lambda b: b["errors"][0]["code"] == "10003"),
        (QUALIFELEC.format("77567227221138"), 200, lambda b: [i["data"]["numero"] for i in b["data"]] == [2840, 2841]),
        (QUALIFELEC.format("42417936400023"), 200, lambda b: b["data"][0]["data"]["rge"] is True),
        (QUALIFELEC.format("00000000000000"), 404, lambda b: b["errors"][0]["meta"]["provider"] == "Qualifelec"),
        (ADEME_RGE.format("13002526500013"), 200, lambda b: len(b["data"]) == 2),
        (ADEME_RGE.format("84445156452589"), 404, lambda b: b["errors"][0]["code"] == "19003"),
        (OPQIBI.format("130025265"), 200, lambda b: b["data"]["url"] == "https://www.opqibi.com/fiche/1777"),
        (OPQIBI.format("844451564"), 404, lambda b: b["errors"][0]["code"] == "11003"),
        (CARIF_OREF.format("30613890001294"), 200, lambda b: b["data"]["siret"] == "30613890001294"),
        (CARIF_OREF.format("00000000000000"), 404, lambda b: b["errors"][0]["meta"]["provider"] == "CARIF-OREF"),
        # An identifier no case knows: the directory's 404.
        (CARIF_OREF.format(personas.UNKNOWN_SIRET), 404, lambda b: b["errors"][0]["title"] == "Entité non trouvée"),
        (MSA.format(personas.DEMO_SIRET), 404, lambda b: b["errors"][0]["code"] == "10003"),
    ],
)
def test_certification_staging_case_matching(sandbox, path, status, check):
    response = api_get(sandbox, path, params=CERTIFICATION_BUYER_PARAMS)
    assert response.status_code == status, response.text
    assert check(response.json())


def test_inpi_bilan_links_are_signed_and_serve_the_sample(sandbox):
    """INPI gives its links as `url`: rewritten like a `document_url`, and served."""
    data = api_get(sandbox, INPI_ACTES_BILANS.format(personas.DEMO_SIREN)).json()["data"]
    sample = "api_entreprise_v3_inpi_rne_actes_bilans/exemple-bilan-inpi.pdf"
    for item in (*data["bilans"], *data["actes"]):
        assert item["url"].startswith(f"{sandbox.base_url}/files/{sample}?expires=")
    download = requests.get(data["bilans"][0]["url"], timeout=10)
    assert download.status_code == 200
    assert download.content == (STAGING_DIR / sample).read_bytes()


def test_qualifelec_link_serves_the_sample_image(sandbox):
    (item,) = api_get(sandbox, QUALIFELEC.format(personas.DEMO_SIRET)).json()["data"]
    url = item["data"]["document_url"]
    sample = "api_entreprise_v3_qualifelec_certificats/exemple-certificat-qualifelec-bac-a-sable.jpg"
    assert url.startswith(f"{sandbox.base_url}/files/{sample}?")
    download = requests.get(url, timeout=10)
    assert download.status_code == 200
    assert download.content.startswith(b"\xff\xd8\xff")  # a JPEG, whatever the Content-Type says


def test_ademe_and_opqibi_links_to_the_certifier_are_left_as_they_are(sandbox):
    staging = Catalogue().cases
    ademe = api_get(sandbox, ADEME_RGE.format(personas.BTP_SIRET)).json()["data"]
    assert [item["data"]["url"] for item in ademe] == [
        item["data"]["url"] for item in staging["ademe_rge"]["200"].json()["data"]
    ]
    opqibi = api_get(sandbox, OPQIBI.format(personas.INGENIERIE_SIREN)).json()["data"]
    assert opqibi["url"] == "https://www.opqibi.com/fiche/1777"


def test_ingenierie_persona_is_a_derived_fictional_company(sandbox):
    raw = yaml.safe_load(PERSONAS_FILE.read_text(encoding="utf-8"))["personas"]["ingenierie"]
    assert raw["siret"] == personas.INGENIERIE_SIRET == "91357924900016"
    assert raw["siren"] == personas.INGENIERIE_SIREN == personas.INGENIERIE_SIRET[:9]
    assert stdnum_siret.is_valid(personas.INGENIERIE_SIRET)
    assert stdnum_siren.is_valid(personas.INGENIERIE_SIREN)
    siret, siren = personas.INGENIERIE_SIRET, personas.INGENIERIE_SIREN
    for template in (INSEE_ETABLISSEMENT, INSEE_ETABLISSEMENT_DIFFUSIBLE):
        data = api_get(sandbox, template.format(siret)).json()["data"]
        assert data["siret"] == siret
        assert data["unite_legale"]["siren"] == siren
        assert data["unite_legale"]["personne_morale_attributs"]["raison_sociale"] == "EXEMPLE INGENIERIE ET FORMATION"
        assert data["activite_principale"]["code"] == "71.12B"
    for template in (INSEE_UNITE_LEGALE, INSEE_UNITE_LEGALE_DIFFUSIBLE):
        assert api_get(sandbox, template.format(siren)).json()["data"]["siren"] == siren
    carif = api_get(sandbox, CARIF_OREF.format(siret)).json()["data"]
    assert carif["siret"] == siret
    assert carif["declarations_activites_etablissement"][0]["certification_qualiopi"]["action_formation"] is True
    assert api_get(sandbox, OPQIBI.format(siren)).json()["data"]["qualifications"][0]["code_qualification"] == "1331"
    assert entity_status(sandbox, siren) == "ok"
    assert api_get(sandbox, DGFIP.format(siren)).status_code == 200
    assert api_get(sandbox, CHIFFRES_AFFAIRES.format(siret)).status_code == 200
    assert api_get(sandbox, INPI_ACTES_BILANS.format(siren)).status_code == 200
    assert api_get(sandbox, INPI_EXTRAIT.format(siren)).status_code == 404
    for path in (QUALIFELEC.format(siret), ADEME_RGE.format(siret), MSA.format(siret)):
        assert api_get(sandbox, path).status_code == 404


@pytest.mark.parametrize(
    ("siret", "qualifelec", "ademe", "actes_bilans"),
    [
        (personas.DEMO_SIRET, 200, 404, 200),
        (personas.BTP_SIRET, 200, 200, 200),
        (personas.CLOSED_SIRET, 404, 404, 404),
        (personas.LIQUIDATION_SIRET, 404, 404, 404),
    ],
)
def test_personas_on_the_certification_routes(sandbox, siret, qualifelec, ademe, actes_bilans):
    assert api_get(sandbox, QUALIFELEC.format(siret)).status_code == qualifelec
    assert api_get(sandbox, ADEME_RGE.format(siret)).status_code == ademe
    assert api_get(sandbox, INPI_ACTES_BILANS.format(siret[:9])).status_code == actes_bilans
    for path in (OPQIBI.format(siret[:9]), CARIF_OREF.format(siret), MSA.format(siret)):
        assert api_get(sandbox, path).status_code == 404
