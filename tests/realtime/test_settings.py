"""Settings refuse placeholder and weak secrets, without echoing them, and bad trading hours."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from realtime.settings import Settings

GOOD_KEY = SecretStr("k3y-for-tests-only-0123")
GOOD_JWT = SecretStr("jwt-secret-for-tests-0123456789abcdef")


@pytest.mark.parametrize(
    "value",
    [
        "changeme",
        "CHANGEME ",
        "secret",
        "password",
        "",
        "changeme-changeme-changeme",
        "x" * 40,
        "your-api-key-here",
    ],
)
@pytest.mark.parametrize("field", ["api_key", "jwt_secret"])
def test_placeholder_secrets_are_refused(field: str, value: str) -> None:
    kw = {"api_key": GOOD_KEY, "jwt_secret": GOOD_JWT} | {field: value}
    with pytest.raises(ValidationError, match=f"REALTIME_{field.upper()} is a placeholder value"):
        Settings(**kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "min_len"),
    [("api_key", "k3y-0123456", 12), ("jwt_secret", "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p", 32)],
)
def test_short_secrets_are_refused_without_echoing_them(field: str, value: str, min_len: int) -> None:
    kw = {"api_key": GOOD_KEY, "jwt_secret": GOOD_JWT} | {field: value}
    with pytest.raises(ValidationError, match=f"REALTIME_{field.upper()} is shorter than {min_len}") as err:
        Settings(**kw)  # type: ignore[arg-type]
    assert value not in str(err.value)  # start-up logs must not carry a real (if short) secret


def test_real_secrets_are_accepted_and_masked() -> None:
    s = Settings(api_key=GOOD_KEY, jwt_secret=GOOD_JWT)
    assert s.api_key.get_secret_value() == GOOD_KEY.get_secret_value()
    assert GOOD_KEY.get_secret_value() not in repr(s) and GOOD_JWT.get_secret_value() not in repr(s)
    assert Settings(api_key=GOOD_KEY).jwt_secret is None  # JWT sessions are optional


def test_secrets_from_the_environment_are_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REALTIME_API_KEY", "changeme")
    with pytest.raises(ValidationError, match="REALTIME_API_KEY is a placeholder value"):
        Settings()  # type: ignore[call-arg]


@pytest.mark.parametrize("hours", [(22, 6), (0, 24), (9, 17), (23, 1)])
def test_trading_hours_accept_wrapped_windows(hours: tuple[int, int]) -> None:
    assert Settings(api_key=GOOD_KEY, trading_hours_utc=hours).trading_hours_utc == hours


@pytest.mark.parametrize("hours", [(6, 6), (-1, 5), (0, 25), (24, 3), (3, 0)])
def test_trading_hours_refuse_empty_or_out_of_range_windows(hours: tuple[int, int]) -> None:
    with pytest.raises(ValidationError, match="trading_hours_utc"):
        Settings(api_key=GOOD_KEY, trading_hours_utc=hours)


def test_equity_check_interval_cannot_be_negative() -> None:
    with pytest.raises(ValidationError, match="equity_check_s"):
        Settings(api_key=GOOD_KEY, equity_check_s=-1.0)
