"""The redactor keeps secrets out of every recorded string."""

from __future__ import annotations

import base64

from conformance.redaction import MASK, Redactor


def test_known_secrets_are_masked_in_text() -> None:
    """A registered secret is masked wherever it appears, also base64-encoded."""
    redactor = Redactor(["s3cr3t-value"])
    encoded = base64.b64encode(b"s3cr3t-value").decode()

    text = redactor.text(f"token=s3cr3t-value and {encoded}")

    assert "s3cr3t-value" not in text
    assert encoded not in text
    assert text.count(MASK) == 2


def test_basic_credentials_are_masked_in_the_header_form() -> None:
    """The base64 of user:password is masked, as it travels in an Authorization header."""
    redactor = Redactor()
    redactor.add_basic_credentials("alice", "wonderland-42")
    header = "Basic " + base64.b64encode(b"alice:wonderland-42").decode()

    assert "wonderland" not in redactor.text(header)
    assert redactor.text(header) == f"Basic {MASK}"


def test_credential_headers_keep_only_their_scheme() -> None:
    """Authorization keeps its scheme word; API key headers are masked whole."""
    redactor = Redactor(headers=["X-Custom-Key"])

    assert redactor.header("Authorization", "Bearer abc.def.ghi") == f"Bearer {MASK}"
    assert redactor.header("x-custom-key", "k-123456") == MASK
    assert redactor.header("Cookie", "session=abcdef") == MASK
    assert redactor.header("Accept", "text/plain") == "text/plain"


def test_urls_lose_userinfo_and_secret_query_values() -> None:
    """Userinfo and credential-like query parameters are masked in URLs."""
    redactor = Redactor()

    url = redactor.url("http://bob:pw@127.0.0.1:8080/x?token=abc123&page=2&api_key=zz")

    assert "bob" not in url and "pw@" not in url
    assert "abc123" not in url and "zz" not in url
    assert "page=2" in url
