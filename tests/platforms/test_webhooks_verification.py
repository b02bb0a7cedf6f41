"""The documented verification a platform copies (platforms/webhook_verification.py): what it accepts and refuses."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from platforms import webhook_verification
from platforms.webhook_verification import InvalidSignature, sign, verify

SECRET = "s" * 40
BODY = '{"data":{"consultation":{"reference":"MARCHE-2026-01","title":"Réfection"}},"type":"consultation.published"}'
RAW = BODY.encode()
NOW = 1_767_607_200


def signed(*, body: bytes = RAW, timestamp: int = NOW, secret: str = SECRET) -> dict:
    return {"timestamp": str(timestamp), "signature": sign(secret=secret, body=body, timestamp=timestamp)}


def test_a_fresh_signed_body_verifies():
    verify(secret=SECRET, body=RAW, now=NOW + 10, **signed())


def test_the_signature_is_the_hmac_of_the_timestamp_dot_body():
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + RAW, hashlib.sha256).hexdigest()

    assert sign(secret=SECRET, body=RAW, timestamp=NOW) == f"sha256={expected}"


def test_a_replay_with_an_old_timestamp_is_refused():
    with pytest.raises(InvalidSignature) as refused:
        verify(secret=SECRET, body=RAW, now=NOW + 301, **signed())

    assert refused.value.reason == "timestamp_too_old"


def test_a_timestamp_far_in_the_future_is_refused():
    with pytest.raises(InvalidSignature) as refused:
        verify(secret=SECRET, body=RAW, now=NOW - 301, **signed())

    assert refused.value.reason == "timestamp_in_future"


def test_a_replay_with_a_new_timestamp_but_the_old_signature_is_refused():
    headers = signed(timestamp=NOW)
    headers["timestamp"] = str(NOW + 600)

    with pytest.raises(InvalidSignature) as refused:
        verify(secret=SECRET, body=RAW, now=NOW + 600, **headers)

    assert refused.value.reason == "signature_mismatch"


def test_a_tampered_body_is_refused():
    tampered = RAW.replace(b"MARCHE-2026-01", b"MARCHE-2026-02")

    with pytest.raises(InvalidSignature) as refused:
        verify(secret=SECRET, body=tampered, now=NOW, **signed())

    assert refused.value.reason == "signature_mismatch"


def test_another_secret_is_refused():
    with pytest.raises(InvalidSignature) as refused:
        verify(secret="another-secret-of-forty-characters-xxxxxx", body=RAW, now=NOW, **signed())

    assert refused.value.reason == "signature_mismatch"


@pytest.mark.parametrize(
    "signature",
    ["", "abc", "sha1=" + "0" * 40, "sha256=", "sha256=" + "z" * 64, "sha256=" + "0" * 63],
)
def test_a_malformed_signature_header_is_refused(signature):
    with pytest.raises(InvalidSignature) as refused:
        verify(secret=SECRET, body=RAW, timestamp=str(NOW), signature=signature, now=NOW)

    assert refused.value.reason == "malformed_signature"


@pytest.mark.parametrize("timestamp", ["", "abc", "-5", "1.5", "١٢٣", "9" * 40])
def test_a_malformed_timestamp_is_refused(timestamp):
    signature = signed()["signature"]

    with pytest.raises(InvalidSignature) as refused:
        verify(secret=SECRET, body=RAW, timestamp=timestamp, signature=signature, now=NOW)

    assert refused.value.reason == "malformed_timestamp"


def test_the_module_imports_the_standard_library_only():
    """A platform copies the file as is: it must not need Django or anything of ours."""
    tree = ast.parse(Path(webhook_verification.__file__).read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}

    assert imported - {"__future__"} <= set(sys.stdlib_module_names)
