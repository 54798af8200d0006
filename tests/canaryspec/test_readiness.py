"""Readiness judged as a person watching would: what is final at once, what only the readiness
deadline ends, and a start-up measured against the deployment's own health window."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from canaryspec.canary import Canary, HealthWindow, ServiceState, StartUp, _epoch


def _canary(one_shots: frozenset[str] = frozenset({"seed-data"})) -> Canary:
    canary = object.__new__(Canary)
    canary.model = SimpleNamespace(one_shots=one_shots, healthchecked=frozenset())
    return canary


@pytest.mark.parametrize(("state", "starting", "final"), [
    pytest.param(ServiceState("worker", "running", "unhealthy", "0"), False, False,
                 id="running-and-unhealthy-may-still-pass"),
    pytest.param(ServiceState("worker", "running", "starting", "0"), True, False,
                 id="still-starting"),
    pytest.param(ServiceState("worker", "restarting", "none", "1"), False, True,
                 id="being-restarted-by-the-engine"),
    pytest.param(ServiceState("worker", "running", "starting", "0", restarts=1), True, True,
                 id="crashed-on-its-way-up"),
    pytest.param(ServiceState("worker", "running", "healthy", "0", restarts=1), False, False,
                 id="restarted-later-by-its-restart-policy"),
    pytest.param(ServiceState("worker", "exited", "none", "1"), False, True, id="exited"),
    pytest.param(ServiceState("seed-data", "exited", "none", "0"), True, False,
                 id="a-one-shot-that-finished"),
    pytest.param(ServiceState("backend", "running", "starting", "0", server_errors=5), True,
                 True, id="answering-with-server-errors"),
])
def test_only_a_service_that_cannot_recover_ends_the_wait_at_once(state, starting, final):
    assert _canary().has_failed(state, starting=starting) is final


def test_a_health_window_is_the_start_period_and_every_retry():
    window = HealthWindow.of({"Test": ["CMD", "true"], "Interval": 10_000_000_000,
                              "Retries": 5, "StartPeriod": 10_000_000_000})
    assert window.seconds == 60
    assert window.describe() == "60 s (start period 10 s + 5 probes 10 s apart)"


def test_an_unset_health_check_field_is_the_engines_default():
    assert HealthWindow.of({"Test": ["CMD", "true"]}).seconds == 90  # 0 + 3 x 30 s


WINDOW = HealthWindow(10.0, 10.0, 5)


@pytest.mark.parametrize(("start_up", "says"), [
    pytest.param(StartUp("training-worker", 71.5, WINDOW, 61.0),
                 "training-worker took 71.5 s to pass its health check; its deployment "
                 "declares it unhealthy after 60 s", id="slower-than-its-window"),
    pytest.param(StartUp("training-worker", 55.0, WINDOW, 52.0), "the engine did call it "
                 "unhealthy on the way up", id="called-unhealthy-by-the-engine"),
    pytest.param(StartUp("backend", 4.0, None, None), "backend declares no health check",
                 id="no-health-check"),
    pytest.param(StartUp("backend", None, WINDOW, None), "backend was never seen healthy",
                 id="never-healthy"),
])
def test_a_start_up_outside_its_declared_window_is_a_finding(start_up, says):
    assert says in start_up.shortfall()


def test_a_start_up_within_its_window_is_not():
    assert StartUp("db", 3.2, WINDOW, None).shortfall() == ""


def test_the_engine_not_calling_it_unhealthy_is_the_window_held():
    # 60.5 s against a 60 s window by the suite's arithmetic, but the engine's probes (which
    # take time themselves) never called it unhealthy: the deployment's promise held.
    assert StartUp("db", 60.5, WINDOW, None).shortfall() == ""


def test_engine_timestamps_are_read_to_the_microsecond():
    assert _epoch("2026-12-06T18:40:01.123456789Z") == pytest.approx(1796582401.123456)
    assert _epoch("0001-01-01T00:00:00Z") is None


@pytest.mark.parametrize(("state", "ready"), [
    pytest.param(ServiceState("backend", "running", "healthy", "0"), True, id="healthy"),
    pytest.param(ServiceState("backend", "running", "starting", "0"), False,
                 id="starting-and-silent"),
    pytest.param(ServiceState("backend", "running", "starting", "0", answering=True), True,
                 id="starting-but-answering-its-health-route"),
    pytest.param(ServiceState("backend", "running", "unhealthy", "0"), False, id="unhealthy"),
])
def test_a_starting_service_is_ready_once_its_health_route_answers(state, ready):
    canary = _canary()
    canary.model = SimpleNamespace(one_shots=frozenset(), healthchecked=frozenset({"backend"}))
    assert canary.is_ready(state) is ready


class _HealthRoute:
    """A local HTTP server standing in for a service's published health route."""

    def __init__(self, status: int):
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(status if self.path == "/api/v1/health" else 404)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def container(self) -> SimpleNamespace:
        port = self.server.server_address[1]
        return SimpleNamespace(attrs={"NetworkSettings": {"Ports": {"8000/tcp": [
            {"HostIp": "127.0.0.1", "HostPort": str(port)}]}}})


@pytest.mark.parametrize(("status", "answers"), [(200, True), (503, False)])
def test_the_health_route_is_asked_on_the_services_published_port(status, answers):
    route = _HealthRoute(status)
    canary = _canary()
    canary.model = SimpleNamespace(port_of=lambda service: 8000)
    try:
        assert (canary._health_route_status(route.container(), "backend") == 200) is answers
    finally:
        route.server.shutdown()


def test_a_service_without_a_health_route_or_a_published_port_is_not_asked():
    canary = _canary()
    canary.model = SimpleNamespace(port_of=lambda service: 8000)
    unpublished = SimpleNamespace(attrs={"NetworkSettings": {"Ports": {}}})
    assert canary._health_route_status(unpublished, "backend") is None
    assert canary._health_route_status(unpublished, "db") is None


class _SlowCanary:
    """A canary whose one service never becomes ready; `answers` is what its health route
    says meanwhile (None: nothing listens yet)."""

    def __init__(self, answers: int | None):
        self.answers = answers
        self.healthy_in = {"training-worker": 12.5}

    def service_state(self, service):
        return ServiceState(service, "running", "unhealthy", "0")

    def has_failed(self, state):
        return False

    def note_ready(self, states):
        pass

    def is_ready(self, state):
        return False

    def describe_not_ready(self, states):
        return "training-worker running/unhealthy"

    def still_starting(self, service):
        return self.answers is None

    def evidence(self, services):
        return "logs"


def test_a_restarted_service_silent_at_the_deadline_is_not_judged():
    from canaryspec.errors import ServiceStillStarting
    from canaryspec.outcomes import CANARY_DOWN, Outcome, category_for
    from canaryspec.readiness import wait_for_services_ready

    with pytest.raises(ServiceStillStarting, match=r"first started in 12\.5 s") as raised:
        wait_for_services_ready(_SlowCanary(None), ["training-worker"], timeout=0.1)
    assert category_for(Outcome.BROKEN, str(raised.value), "ServiceStillStarting") is CANARY_DOWN


def test_a_restarted_service_answering_with_an_error_at_the_deadline_fails():
    from canaryspec.errors import ServiceStillStarting
    from canaryspec.readiness import wait_for_services_ready
    from canaryspec.waiting import WaitTimeout

    with pytest.raises(WaitTimeout) as raised:
        wait_for_services_ready(_SlowCanary(503), ["training-worker"], timeout=0.1)
    assert not isinstance(raised.value, ServiceStillStarting)
