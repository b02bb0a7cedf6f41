"""How a platform checks that a webhook comes from Passe Marché — the documented verification, standard library only.

Copy this file into the receiving application (it imports nothing but the standard library). Each delivery carries:

    X-Passemarche-Timestamp: 1767607200                      (Unix seconds, when this attempt was signed)
    X-Signature-SHA256: sha256=<hex HMAC-SHA256 of "<timestamp>." followed by the raw body, keyed by the secret>
    X-Passemarche-Event: candidature.submitted
    X-Passemarche-Delivery: <the event id: the same on every attempt, to ignore a duplicate>

Verify on the raw bytes of the body, before parsing them (a re-serialised JSON would not give the same bytes):

    from webhook_verification import InvalidSignature, verify

    try:
        verify(
            secret=SECRET,
            body=request.body,
            timestamp=request.headers["X-Passemarche-Timestamp"],
            signature=request.headers["X-Signature-SHA256"],
        )
    except (KeyError, InvalidSignature):
        return 400

The timestamp is covered by the signature, and a message older (or newer) than `tolerance_seconds` is refused: a
captured delivery cannot be replayed later. Within the tolerance, de-duplicate on X-Passemarche-Delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Passemarche-Timestamp"
SIGNATURE_HEADER = "X-Signature-SHA256"
EVENT_HEADER = "X-Passemarche-Event"
DELIVERY_HEADER = "X-Passemarche-Delivery"
SIGNATURE_PREFIX = "sha256="
DEFAULT_TOLERANCE_SECONDS = 300


class InvalidSignature(Exception):
    """The delivery must be refused; `reason` says why, as a stable code.

    malformed_timestamp, malformed_signature, timestamp_too_old, timestamp_in_future, signature_mismatch.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _digest(*, secret: str, body: bytes, timestamp: str) -> str:
    message = f"{timestamp}.".encode("ascii") + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(*, secret: str, body: bytes, timestamp: int | str) -> str:
    """The value of the X-Signature-SHA256 header for this body sent at this timestamp: `sha256=<hex>`."""
    return SIGNATURE_PREFIX + _digest(secret=secret, body=body, timestamp=str(int(timestamp)))


def verify(
    *,
    secret: str,
    body: bytes,
    timestamp: str,
    signature: str,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Return if the delivery is authentic and recent; raise InvalidSignature otherwise.

    `timestamp` and `signature`: the X-Passemarche-Timestamp and X-Signature-SHA256 headers as received;
    `body`: the raw bytes received; `now`: Unix seconds (tests).
    """
    timestamp = (timestamp or "").strip()
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise InvalidSignature("malformed_timestamp")
    signature = (signature or "").strip()
    if not signature.startswith(SIGNATURE_PREFIX):
        raise InvalidSignature("malformed_signature")
    received = signature[len(SIGNATURE_PREFIX) :].lower()
    if len(received) != 64 or any(char not in "0123456789abcdef" for char in received):
        raise InvalidSignature("malformed_signature")
    age = (time.time() if now is None else now) - int(timestamp)
    if age > tolerance_seconds:
        raise InvalidSignature("timestamp_too_old")
    if age < -tolerance_seconds:
        raise InvalidSignature("timestamp_in_future")
    # Constant time: a receiver must not tell, by how fast it refuses, how much of a forged signature is right.
    if not hmac.compare_digest(_digest(secret=secret, body=body, timestamp=timestamp), received):
        raise InvalidSignature("signature_mismatch")
