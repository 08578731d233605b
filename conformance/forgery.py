"""Forged and invalid JSON Web Tokens, the ways attackers try to get past a verifier.

The signed ones come from PyJWT. The forgeries are assembled by hand on purpose: PyJWT
refuses to produce unsigned tokens under other spellings of ``none`` and to HMAC-sign
with an asymmetric public key, which are exactly the tokens a verifier must reject
(RFC 8725, sections 2.1 and 3.1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from conformance.profile import CredentialRef

NONE_SPELLINGS: Final = ("none", "None", "NONE", "nOnE")
HOUR_S: Final = 3600


@dataclass(frozen=True)
class Forgery:
    """A token a verifier must refuse, and why it is invalid."""

    label: str
    token: str


def encode_segment(data: dict[str, Any] | bytes) -> str:
    raw = (
        data
        if isinstance(data, bytes)
        else json.dumps(data, separators=(",", ":")).encode()
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(
    reference: CredentialRef, scopes: list[str], **changes: Any
) -> dict[str, Any]:
    """Claims a verifier would accept, with ``changes`` applied (``None`` removes)."""
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "conformance-suite",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": secrets.token_hex(8),
        "scope": " ".join(scopes),
    }
    if reference.issuer:
        base["iss"] = reference.issuer
    if reference.audience:
        base["aud"] = reference.audience
    for key, value in changes.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def forgeries_without_key(
    reference: CredentialRef, scopes: list[str], public_key_pem: str | None
) -> list[Forgery]:
    """Tokens anyone can make: unsigned, badly signed, signed with the public key."""
    body = claims(reference, scopes)
    found: list[Forgery] = []
    for spelling in NONE_SPELLINGS:
        unsigned = (
            f"{encode_segment({'alg': spelling, 'typ': 'JWT'})}.{encode_segment(body)}"
        )
        found.append(Forgery(f"alg {spelling!r} without a signature", unsigned + "."))
        found.append(
            Forgery(f"alg {spelling!r} with a signature", unsigned + "." + _noise())
        )

    signed_part = (
        f"{encode_segment({'alg': 'HS256', 'typ': 'JWT'})}.{encode_segment(body)}"
    )
    found.append(Forgery("HS256 with an empty signature", signed_part + "."))
    found.append(
        Forgery(
            "HS256 signed with a random key",
            _hs256(signed_part, secrets.token_bytes(32)),
        )
    )
    if public_key_pem:
        for label, key_bytes in _public_key_forms(public_key_pem):
            found.append(
                Forgery(
                    f"HS256 signed with the public key as {label}",
                    _hs256(signed_part, key_bytes),
                )
            )
    return found


def forgeries_with_key(
    signing_key: str, reference: CredentialRef, scopes: list[str]
) -> list[Forgery]:
    """Correctly signed tokens whose claims must be refused."""
    algorithm = reference.algorithm or "HS256"
    now = int(time.time())

    def sign(**changes: Any) -> str:
        return jwt.encode(
            claims(reference, scopes, **changes), signing_key, algorithm=algorithm
        )

    found = [
        Forgery(
            "expired an hour ago",
            sign(exp=now - HOUR_S, iat=now - 2 * HOUR_S, nbf=now - 2 * HOUR_S),
        ),
        Forgery(
            "not valid for another hour", sign(nbf=now + HOUR_S, exp=now + 2 * HOUR_S)
        ),
        Forgery("without exp", sign(exp=None)),
    ]
    if reference.issuer:
        found.append(
            Forgery("from another issuer", sign(iss="https://attacker.invalid/"))
        )
    if reference.audience:
        found.append(Forgery("for another audience", sign(aud="another-service")))

    header, _, signature = sign().split(".")
    tampered = claims(
        reference, scopes, sub="admin", scope=" ".join([*scopes, "admin"])
    )
    found.append(
        Forgery(
            "tampered claims under the original signature",
            f"{header}.{encode_segment(tampered)}.{signature}",
        )
    )
    return found


def _hs256(signing_input: str, key: bytes) -> str:
    digest = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{encode_segment(digest)}"


def _noise() -> str:
    return encode_segment(secrets.token_bytes(32))


def _public_key_forms(pem: str) -> list[tuple[str, bytes]]:
    """The public key as PEM, DER and JWK bytes: each a confusion attempt."""
    forms = [("PEM", pem.encode())]
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except ValueError:
        return forms
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forms.append(("DER", der))
    if isinstance(key, rsa.RSAPublicKey):
        forms.append(("JWK", str(RSAAlgorithm.to_jwk(key)).encode()))
    elif isinstance(key, ec.EllipticCurvePublicKey):
        forms.append(("JWK", str(ECAlgorithm.to_jwk(key)).encode()))
    return forms
