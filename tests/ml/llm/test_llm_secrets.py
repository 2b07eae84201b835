"""No API key ever appears in logs (ours, openai's, the HTTP transport's) or in exceptions."""

from __future__ import annotations

import logging
import traceback

import pytest

from ml.llm.errors import AllProvidersFailed
from ml.llm.masking import SecretMaskingFilter, install_masking_filter, mask
from ml.llm.settings import LLMSettings
from tests.ml.llm.conftest import MODELS

REQUEST_LOGGERS = ["", "ml.llm", "openai", "openai._base_client", "httpx2", "httpcore2",
                   "httpx", "httpcore"]


@pytest.fixture
def debug_logs(caplog):
    for name in REQUEST_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_keys_stay_out_of_logs_and_errors_on_every_path(make_router, server, keys, debug_logs):
    router = make_router(max_retries=1)
    server.script("gpt-local", "429", "timeout")
    assert router.complete("first").provider == "deepseek"  # retry, timeout, fallback
    for model in MODELS.values():
        server.set_default(model, "echo_key")  # 401 whose message repeats the bearer token
    with pytest.raises(AllProvidersFailed) as info:
        router.complete("second")
    exc = info.value
    rendered = [str(exc), repr(exc), "".join(traceback.format_exception(exc)),
                debug_logs.text, *(r.getMessage() for r in debug_logs.records)]
    for key in keys.values():
        assert all(key not in text for text in rendered), "an API key leaked"
    # the keys really were sent and echoed back, so the masking did the work
    assert all(r["has_bearer"] for r in server.requests)
    assert str(exc).count("Incorrect API key provided: ***") == 3
    assert exc.__cause__ is None and exc.__context__ is None
    assert "openai._base_client" in {r.name for r in debug_logs.records}  # DEBUG was captured
    assert any(r.name.startswith("httpcore") for r in debug_logs.records)


def test_settings_and_provider_reprs_hide_keys(monkeypatch, keys):
    monkeypatch.setenv("ALPHAFORGE_OPENAI_API_KEY", keys["openai"])
    monkeypatch.setenv("ALPHAFORGE_OPENAI_MODEL", "gpt-local")
    settings = LLMSettings()
    texts = [repr(settings), str(settings), repr(settings.providers()),
             settings.model_dump_json()]
    assert all(keys["openai"] not in t for t in texts)


def test_masking_filter_scrubs_third_party_records(debug_logs, keys):
    install_masking_filter([keys["openai"]])
    logging.getLogger("openai._base_client").debug("headers: %s", {"auth": keys["openai"]})
    logging.getLogger("httpx2").info("url with %s inside", keys["openai"])
    assert keys["openai"] not in debug_logs.text
    assert debug_logs.text.count("***") == 2


def test_mask_function():
    assert mask("key sk-abcdef and sk-abcdef-long", ["sk-abcdef", "sk-abcdef-long"]) == \
        "key *** and ***"
    assert mask("a b c", ["", "b"]) == "a b c"  # too-short secrets are not masked
    record = logging.LogRecord("x", logging.INFO, "f", 1, "%s", ("tok-123456",), None)
    SecretMaskingFilter(["tok-123456"]).filter(record)
    assert record.getMessage() == "***"
