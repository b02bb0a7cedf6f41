"""Document links: every `document_url` of an answer points back to the sandbox, signed and expiring.

    {base}/files/<dir>/<file>?expires=<unix>&signature=<hmac-sha256 of "<dir>/<file>:<expires>">

The files are the sample PDFs of the staging data, plus two stand-ins (no official sample exists for the
DGFIP attestation fiscale and the INPI extrait; see README.md).
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from .catalogue import STAGING_DIR

STAGING_FILES_PREFIX = "https://raw.githubusercontent.com/etalab/siade_staging_data/refs/heads/develop/payloads/"
STAND_INS = {  # document_url prefix in the staging payloads -> file under data/api-entreprise
    "https://entreprise.api.gouv.fr/files/attestation-fiscale-dgfip-exemple.pdf": (
        "api_entreprise_v4_dgfip_attestations_fiscales/attestation-fiscale-dgfip-exemple.pdf"
    ),
    "https://data.inpi.fr/export/companies": "api_entreprise_v3_inpi_rne_extrait_rne/extrait-rne-exemple.pdf",
}
DEFAULT_EXPIRES_IN = 600  # when the payload gives the link no lifetime (INPI)
# The link's lifetime beside it: `document_url_expires_in` (v4), `expires_in` (v3: PRO BTP, CIBTP, FNTP…).
EXPIRES_IN_KEYS = ("document_url_expires_in", "expires_in")


def local_file(url: str) -> str | None:
    """'<dir>/<file>' of the sample standing for an upstream document URL, None when there is none."""
    relative = None
    if url.startswith(STAGING_FILES_PREFIX):
        relative = url[len(STAGING_FILES_PREFIX) :].split("?", 1)[0]
    for prefix, stand_in in STAND_INS.items():
        if url.startswith(prefix):
            relative = stand_in
    if relative and resolve(relative):
        return relative
    return None


def resolve(relative: str) -> Path | None:
    """The sample file for '<dir>/<file>', refusing anything outside the staging directory."""
    parts = relative.split("/")
    if len(parts) != 2 or any(part in ("", ".", "..") for part in parts):
        return None
    path = STAGING_DIR / parts[0] / parts[1]
    return path if path.is_file() and path.suffix not in (".yaml", ".yml") else None


def signature(secret: str, relative: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"{relative}:{expires}".encode(), hashlib.sha256).hexdigest()


def signed_url(base_url: str, secret: str, relative: str, expires: int) -> str:
    query = urlencode({"expires": expires, "signature": signature(secret, relative, expires)})
    return f"{base_url}/files/{relative}?{query}"


def is_valid(secret: str, relative: str, expires: str, given: str, now: float) -> bool:
    try:
        expires_at = int(expires)
    except (TypeError, ValueError):
        return False
    return expires_at >= now and hmac.compare_digest(signature(secret, relative, expires_at), given or "")


def rewrite_links(
    payload: Any, *, base_url: str, secret: str, now: float, keys: tuple[str, ...] = ("document_url",)
) -> None:
    """Point every document link of the payload (the `keys` of the route, at any depth) at the sandbox, in place."""
    if isinstance(payload, list):
        for item in payload:
            rewrite_links(item, base_url=base_url, secret=secret, now=now, keys=keys)
        return
    if not isinstance(payload, dict):
        return
    for key in keys:
        url = payload.get(key)
        relative = local_file(url) if isinstance(url, str) else None
        if relative:
            payload[key] = signed_url(base_url, secret, relative, int(now) + _expires_in(payload))
    for value in payload.values():
        if isinstance(value, (dict, list)):
            rewrite_links(value, base_url=base_url, secret=secret, now=now, keys=keys)


def _expires_in(item: dict) -> int:
    """The lifetime the payload gives the link beside it, in seconds; DEFAULT_EXPIRES_IN when none."""
    for key in EXPIRES_IN_KEYS:
        expires_in = item.get(key)
        if isinstance(expires_in, int) and not isinstance(expires_in, bool) and expires_in > 0:
            return expires_in
    return DEFAULT_EXPIRES_IN
