from canaryspec.api import Exchange, redact, redact_text


def test_secret_fields_are_masked_at_any_depth():
    body = {"user": "ktrdr", "db": {"DB_PASSWORD": "hunter2", "hosts": [{"api_key": "k"}]}}
    assert redact(body) == {"user": "ktrdr", "db": {"DB_PASSWORD": "***",
                                                   "hosts": [{"api_key": "***"}]}}


def test_secrets_in_text_and_urls_are_masked():
    assert redact_text('{"strategy_name": "x", "password": "hunter2",') == \
        '{"strategy_name": "x", "password": "***",'
    assert redact_text("/api/v1/x?token=abc123&limit=5") == "/api/v1/x?token=***&limit=5"
    assert redact_text("Authorization: Bearer-xyz") == "Authorization: ***"


def test_a_rendered_exchange_never_shows_a_secret():
    exchange = Exchange("POST", "http://h/api?api_key=s3cret", '{"secret": "s3cret"', 422,
                        "DB_PASSWORD=s3cret", 3.0)
    assert "s3cret" not in exchange.render()
