"""The dependency stub answers, records and misbehaves on command."""

from __future__ import annotations

import threading

import httpx
import pytest

from conformance.stubs.http_stub import DependencyStub


def test_the_stub_answers_ok_and_records_what_it_received() -> None:
    """By default every request gets 200 and is recorded with its headers and body."""
    with DependencyStub("inventory") as stub:
        response = httpx.post(
            stub.url + "/reservations", json={"a": 1}, headers={"traceparent": "x"}
        )

        recorded = stub.wait_for_request(
            lambda r: r.path == "/reservations", timeout_s=2
        )

    assert response.status_code == 200
    assert recorded is not None and recorded.header("traceparent") == "x"
    assert recorded.body == b'{"a":1}'


def test_the_stub_answers_503_on_command_and_recovers() -> None:
    """In 503 mode the stub refuses work; back in ok mode it serves again."""
    with DependencyStub("inventory") as stub:
        stub.set_mode("503")
        failing = httpx.get(stub.url + "/healthz")
        stub.set_mode("ok")
        recovered = httpx.get(stub.url + "/healthz")

    assert (failing.status_code, recovered.status_code) == (503, 200)


def test_the_stub_stalls_until_released() -> None:
    """In stall mode a request gets no answer until the mode changes."""
    with DependencyStub("inventory") as stub:
        stub.set_mode("stall")
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(stub.url + "/healthz", timeout=0.3)
        threading.Timer(0.3, stub.set_mode, args=("ok",)).start()
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(stub.url + "/healthz", timeout=3)


@pytest.mark.parametrize("mode", ["reset", "refuse"])
def test_the_stub_breaks_connections_on_command(mode: str) -> None:
    """Reset and refuse modes make the connection fail, and leaving them heals it."""
    with DependencyStub("inventory") as stub:
        stub.set_mode(mode)  # type: ignore[arg-type]
        with pytest.raises(httpx.TransportError):
            httpx.get(stub.url + "/healthz", timeout=2)
        stub.set_mode("ok")

        assert httpx.get(stub.url + "/healthz", timeout=2).status_code == 200
