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


def test_redaction_takes_time_in_proportion_to_the_text_not_its_square():
    # Seen on the real platform: an operation's body carries its whole strategy YAML; the
    # exchanges of a 20-minute watch took over ten minutes to redact for the report.
    import time

    long_word = "a" * 200_000
    started = time.process_time()
    assert redact_text(long_word) == long_word
    assert redact_text(f"{long_word} password: hunter2") == f"{long_word} password: ***"
    assert time.process_time() - started < 5  # quadratic: minutes; linear: milliseconds


def test_a_rendered_answer_is_cut_to_what_a_report_shows():
    exchange = Exchange("GET", "http://h/api/v1/operations/x", None, 200,
                        {"strategy_yaml": "# " + "=" * 50_000, "token": "s3cret"}, 3.0)
    rendered = exchange.render()
    assert "s3cret" not in rendered
    assert len(rendered) < 6_000 and "characters in all" in rendered


def test_a_large_answer_is_kept_only_as_far_as_the_report_shows_it():
    import httpx

    from canaryspec.api import MAX_SHOWN, PlatformClient
    history = {"operation_id": "op_x",
               "metrics": [{"epoch": n, "loss": 0.5} for n in range(20_000)]}
    client = PlatformClient("http://platform")
    client._http = httpx.Client(base_url="http://platform", transport=httpx.MockTransport(
        lambda request: httpx.Response(200, json=history)))
    reply = client.request("GET", "/api/v1/operations/op_x")
    assert reply.body == history  # the step reads all of it
    kept = client.exchanges[-1].response_body
    assert isinstance(kept, str) and len(kept) < MAX_SHOWN + 100
    assert "characters in all" in kept
