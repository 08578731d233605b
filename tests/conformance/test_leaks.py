"""Leak detection in bodies the target sends back."""

from __future__ import annotations

from conformance.leaks import find_leaks, find_stack_trace


def test_stack_traces_of_common_runtimes_are_found() -> None:
    """Python, Java and Go traces are recognised."""
    assert find_stack_trace('Traceback (most recent call last):\n  File "a.py", line 1')
    assert find_stack_trace("Exception\n\tat com.acme.App.main(App.java:12)")
    assert find_stack_trace("goroutine 1 [running]:\nmain.main()")
    assert find_stack_trace('{"status": "ok"}') is None


def test_credentials_urls_and_secret_fields_are_found_without_quoting_them() -> None:
    """Leaks are named, and the leaked secret never appears in the finding."""
    body = {"db": "postgres://app:hunter22@db:5432/x", "api_key": "k-1"}
    text = str(body)

    leaks = find_leaks(text, body, secrets=["k-1-long"])

    kinds = {leak.what for leak in leaks}
    assert "a URL with an embedded password" in kinds
    assert "a secret-looking field 'api_key'" in kinds
    assert all("hunter22" not in leak.excerpt for leak in leaks)
