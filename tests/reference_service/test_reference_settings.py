"""Settings: Go durations, listen addresses, required variables, messages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from reference_service.settings import (
    ListenAddress,
    Settings,
    describe_errors,
    get_settings,
    parse_duration,
    parse_listen_address,
)

REQUIRED = {
    "DATABASE_URL": "sqlite:///orders.db",
    "BASIC_AUTH_PASSWORD": "secret-password",
    "API_KEYS": "key-1, key-2,",
    "JWT_SECRET": "j" * 40,
}


@pytest.fixture
def required_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)


def _errors(monkeypatch: pytest.MonkeyPatch, **variables: str) -> list[str]:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()  # type: ignore[call-arg]
    return describe_errors(caught.value)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10s", 10.0),
        ("1m30s", 90.0),
        ("500ms", 0.5),
        ("2h", 7200.0),
        ("1.5s", 1.5),
        ("1h2m3.5s", 3723.5),
        ("250us", 0.00025),
        ("0", 0.0),
    ],
)
def test_go_durations_parse_to_seconds(text: str, seconds: float) -> None:
    """Go duration strings become the same number of seconds Go would use."""
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("10", "missing a unit"),
        ("10x", "unknown unit 'x'"),
        ("", "empty"),
        ("-1s", "negative"),
        ("s", "expected a number"),
        ("1s2", "missing a unit"),
    ],
)
def test_bad_durations_name_the_problem(text: str, problem: str) -> None:
    """An invalid duration is refused with a message saying what is wrong."""
    with pytest.raises(ValueError, match=problem):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (":8080", ListenAddress("0.0.0.0", 8080)),
        ("127.0.0.1:9000", ListenAddress("127.0.0.1", 9000)),
        ("[::1]:8081", ListenAddress("::1", 8081)),
        ("localhost:0", ListenAddress("localhost", 0)),
    ],
)
def test_listen_address_forms(text: str, address: ListenAddress) -> None:
    """HTTP_ADDR accepts host:port, :port (all interfaces) and [IPv6]:port."""
    assert parse_listen_address(text) == address


@pytest.mark.parametrize("text", ["8080", "::1:80", "host:99999", "host:http"])
def test_bad_listen_addresses_are_refused(text: str) -> None:
    """A listen address without a usable port or with a bare IPv6 host fails."""
    with pytest.raises(ValueError):
        parse_listen_address(text)


@pytest.mark.usefixtures("required_env")
def test_defaults_follow_the_guide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset variables take the guide's defaults and the timeouts its values."""
    settings = get_settings()

    assert settings.http_addr == ListenAddress("0.0.0.0", 8080)
    assert settings.log_level == "info"
    assert settings.read_header_timeout == 10
    assert settings.read_timeout == 30
    assert settings.write_timeout == 60
    assert settings.idle_timeout == 120
    assert settings.shutdown_grace == 30
    assert settings.basic_auth_user == "admin"
    assert [key.get_secret_value() for key in settings.api_keys] == ["key-1", "key-2"]
    assert settings.database_path == "orders.db"


@pytest.mark.usefixtures("required_env")
def test_environment_values_are_read_once_until_the_cache_is_cleared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """get_settings() is cached; cache_clear() makes it read the environment again."""
    monkeypatch.setenv("READ_TIMEOUT", "1m30s")
    monkeypatch.setenv("HTTP_ADDR", "[::1]:9000")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    first = get_settings()
    monkeypatch.setenv("READ_TIMEOUT", "5s")

    assert get_settings() is first
    assert first.read_timeout == 90
    assert first.http_addr == ListenAddress("::1", 9000)
    assert first.log_level == "debug"

    get_settings.cache_clear()
    assert get_settings().read_timeout == 5


def test_absolute_database_paths_use_four_slashes() -> None:
    """sqlite:////abs/path names an absolute file, sqlite:///rel a relative one."""
    settings = Settings(
        database_url="sqlite:////var/lib/orders.db",
        basic_auth_password="p",
        api_keys="k",
        jwt_secret="j" * 32,
    )

    assert settings.database_path == "/var/lib/orders.db"


@pytest.mark.usefixtures("required_env")
def test_settings_are_frozen() -> None:
    """Settings cannot be changed after they are read."""
    settings = get_settings()

    with pytest.raises(ValidationError):
        settings.log_level = "debug"  # type: ignore[misc]


def test_missing_database_url_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A missing required variable is reported by name with an example value."""
    variables = {k: v for k, v in REQUIRED.items() if k != "DATABASE_URL"}

    assert _errors(monkeypatch, **variables) == [
        "DATABASE_URL is required (set it to sqlite:///path/to/orders.db)",
    ]


def test_invalid_duration_names_variable_value_and_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A duration that does not parse is reported with its variable and value."""
    messages = _errors(monkeypatch, **REQUIRED, READ_TIMEOUT="10x")

    assert len(messages) == 1
    assert messages[0].startswith("READ_TIMEOUT='10x' is invalid: unknown unit 'x'")


def test_invalid_log_level_lists_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    """LOG_LEVEL outside debug|info|warning|error is refused, naming the choices."""
    messages = _errors(monkeypatch, **REQUIRED, LOG_LEVEL="verbose")

    assert len(messages) == 1
    assert messages[0].startswith("LOG_LEVEL='verbose' is invalid")
    assert "'debug'" in messages[0]


def test_secret_values_never_appear_in_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Messages about secrets or the database URL never repeat the value."""
    variables = {
        **REQUIRED,
        "DATABASE_URL": "mysql://user:hunter2@db/orders",
        "API_KEYS": " , ",
    }
    messages = _errors(monkeypatch, **variables)

    assert len(messages) == 2
    assert all("hunter2" not in message for message in messages)
    assert messages[0].startswith("DATABASE_URL is invalid: must be a SQLite URL")
    assert messages[1].startswith("API_KEYS is invalid: must list at least one key")


def test_dependency_and_sampling_settings_have_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The inventory is optional; timeouts and sampling default to the README's values."""
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("INVENTORY_URL", "http://inventory:8080/")

    settings = Settings()  # type: ignore[call-arg]

    assert settings.inventory_url == "http://inventory:8080"
    assert settings.dependency_timeout == 2.0
    assert settings.trace_sample_rate_per_s == 10.0
    assert settings.trace_sample_burst == 100


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"INVENTORY_URL": "inventory:8080"}, "INVENTORY_URL is invalid: must be an"),
        ({"INVENTORY_URL": "http://user:pw@inv/?a=1"}, "INVENTORY_URL is invalid"),
        ({"DEPENDENCY_TIMEOUT": "0s"}, "DEPENDENCY_TIMEOUT='0s' is invalid: must be"),
        ({"TRACE_SAMPLE_BURST": "-1"}, "TRACE_SAMPLE_BURST='-1' is invalid"),
    ],
)
def test_bad_dependency_and_sampling_values_are_refused(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    """Bad inventory URLs, zero timeouts and negative bursts stop start-up by name."""
    [line] = _errors(monkeypatch, **REQUIRED, **variables)

    assert line.startswith(message)
    assert "pw" not in line
