
import re

import pytest

from canaryspec.errors import ConfigError
from canaryspec.needs import Need
from canaryspec.settings import load_settings


def test_load_settings_defaults_to_tradelab_profile():
    settings = load_settings({}, environ={})
    assert settings.profile.name == "tradelab"
    assert settings.build is True
    assert settings.image("backend") == "tradelab-backend:test"
    assert settings.size_budget_mb("backend") == 200


def test_load_settings_env_overrides_userdata():
    settings = load_settings({"keep": "false", "image_tag": "a"},
                             environ={"CANARYSPEC_KEEP": "true", "CANARYSPEC_IMAGE_TAG": "b"})
    assert settings.keep is True
    assert settings.image("worker-cpu") == "tradelab-worker-cpu:b"


def test_worker_threads_are_the_platforms_own_unless_stated():
    assert load_settings({}, environ={}).worker_threads is None
    assert load_settings({"worker_threads": "1"}, environ={}).worker_threads == 1


def test_load_settings_rejects_unknown_key_naming_known_ones():
    with pytest.raises(ConfigError, match=r"unknown setting bogus; known settings: .*keep"):
        load_settings({"bogus": "1"}, environ={})


def test_load_settings_rejects_unknown_profile():
    with pytest.raises(ConfigError, match="unknown profile 'staging'; profiles: ktrdr, tradelab"):
        load_settings({"profile": "staging"}, environ={})


@pytest.mark.parametrize(("key", "value", "message"), [
    ("keep", "maybe", "not a yes/no value"),
    ("ready_timeout_s", "soon", "not a number"),
    ("backend_size_budget_mb", "-1", "greater than zero"),
    ("image_tag", " ", "must not be empty"),
    ("worker_threads", "1.5", "not a whole number"),
    ("worker_threads", "0", "greater than zero"),
])
def test_load_settings_rejects_bad_values(key, value, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({key: value}, environ={})


def test_ktrdr_profile_uses_real_image_names_and_needs_compose_file(tmp_path):
    settings = load_settings({"profile": "ktrdr", "build": "false"}, environ={})
    assert settings.image("backend") == "ktrdr-backend:test"
    assert settings.profile.strict_health is False
    with pytest.raises(ConfigError, match="needs compose_file"):
        _ = settings.canary_compose_file
    compose_file = tmp_path / "compose.yml"
    compose_file.write_text("services: {}\n")
    with_file = load_settings({"profile": "ktrdr", "compose_file": str(compose_file)},
                              environ={})
    assert with_file.canary_compose_file == compose_file
    missing = load_settings({"profile": "ktrdr", "compose_file": "x/compose.yml"}, environ={})
    with pytest.raises(ConfigError, match="does not exist"):
        _ = missing.canary_compose_file


def test_ktrdr_profile_refuses_to_build():
    with pytest.raises(ConfigError, match="does not build its images here"):
        load_settings({"profile": "ktrdr", "build": "true"}, environ={})


def test_deadlines_are_named_settings_scaled_by_the_slow_host_factor():
    settings = load_settings({"cancel_timeout_s": "8", "slow_host_factor": "2.5"}, environ={})
    assert settings.deadlines.cancel == 20
    assert settings.deadlines.ready == 300  # the default 120, scaled
    assert settings.deadlines.bound(60) == 150  # a bound a feature states, scaled too


def test_a_deadline_from_the_environment_wins(monkeypatch):
    settings = load_settings({"progress_timeout_s": "60"},
                             environ={"CANARYSPEC_PROGRESS_TIMEOUT_S": "90"})
    assert settings.deadlines.progress == 90


def test_a_deadline_must_be_a_positive_number():
    with pytest.raises(ConfigError, match="job_running_timeout_s='soon' is not a number"):
        load_settings({"job_running_timeout_s": "soon"}, environ={})


def test_no_step_holds_a_deadline_of_its_own():
    import re

    from canaryspec.settings import PROJECT_ROOT

    for path in (PROJECT_ROOT / "steps").glob("*.py"):
        literal = re.findall(r"timeout=\d", path.read_text())
        assert literal == [], f"{path.name} waits with a literal deadline: {literal}"


def test_a_run_starts_its_own_canary_and_may_do_anything_to_it_by_default():
    settings = load_settings({}, environ={})
    assert not settings.attached
    assert settings.capabilities() == set(Need)


def test_an_attached_run_builds_nothing_and_may_only_ask_over_http():
    settings = load_settings({"target": "attach", "backend_url": "http://10.0.0.5:8000/"},
                             environ={})
    assert settings.attached and settings.build is False
    assert settings.backend_url == "http://10.0.0.5:8000"
    assert settings.capabilities() == frozenset()
    allowed = load_settings({"target": "attach", "backend_url": "http://b:8000",
                             "allow_destructive": "true"}, environ={})
    assert allowed.capabilities() == {Need.DESTRUCTIVE}


@pytest.mark.parametrize(("given", "says"), [
    ({"target": "attach"}, "target=attach needs backend_url"),
    ({"target": "elsewhere"}, "'elsewhere' is not a target; targets: canary, attach"),
    ({"target": "attach", "backend_url": "backend:8000"}, "is not an http"),
    ({"backend_url": "http://b:8000"}, "backend_url and worker_urls are for target=attach"),
    ({"target": "attach", "backend_url": "http://b:8000", "worker_urls": "gpu=http://w:1"},
     "'gpu' is not a worker type"),
])
def test_an_attached_run_is_told_what_is_wrong_with_its_settings(given, says):
    with pytest.raises(ConfigError, match=re.escape(says)):
        load_settings(given, environ={})


def test_worker_urls_are_given_per_worker_type():
    settings = load_settings({"target": "attach", "backend_url": "http://b:8000",
                              "worker_urls": "training=http://t:5004, backtesting=http://b:5003"},
                             environ={})
    assert settings.worker_urls == {"training": ("http://t:5004",),
                                    "backtesting": ("http://b:5003",)}
    several = load_settings({"target": "attach", "backend_url": "http://b:8000",
                             "worker_urls": "training=http://t1:5004|http://t2:5004"}, environ={})
    assert several.worker_urls == {"training": ("http://t1:5004", "http://t2:5004")}


def test_a_deployment_expects_one_worker_of_each_type_unless_it_says_more():
    assert load_settings({}, environ={}).expected_workers() == {"training": 1, "backtesting": 1}
    settings = load_settings({"expect_workers": "training:3"}, environ={})
    assert settings.expected_workers() == {"training": 3, "backtesting": 1}


@pytest.mark.parametrize(("given", "says"), [
    ("gpu:2", "'gpu' is not a worker type"),
    ("training:0", "expect_workers='0' must be greater than zero"),
    ("training:two", "expect_workers='two' is not a number"),
])
def test_an_expected_worker_count_that_makes_no_sense_is_refused(given, says):
    with pytest.raises(ConfigError, match=re.escape(says)):
        load_settings({"expect_workers": given}, environ={})
