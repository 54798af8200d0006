import pytest

from canaryspec.waiting import Observation, WaitTimeout, wait_until


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def pause(self, seconds):
        self.now += seconds


def test_wait_until_returns_value_when_condition_holds():
    clock = FakeClock()
    seen = iter([Observation(False, 1, "one"), Observation(True, 2, "two")])
    assert wait_until(lambda: next(seen), timeout=5, what="x", clock=clock,
                      pause=clock.pause) == 2


def test_wait_until_times_out_with_last_observation_and_evidence():
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as raised:
        wait_until(lambda: Observation(False, {"status": "running"}, "status running"),
                   timeout=3, interval=1, what="operation completing", hint="check the worker",
                   evidence=lambda: "worker log tail", clock=clock, pause=clock.pause)
    message = str(raised.value)
    assert "operation completing did not happen within 3 s" in message
    assert "Last observed: status running" in message
    assert "Hint: check the worker" in message
    assert raised.value.evidence == "worker log tail"
    assert raised.value.last_observation == {"status": "running"}


def test_wait_until_treats_listed_errors_as_not_yet():
    clock = FakeClock()
    calls = {"n": 0}

    def check():
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError("refused")
        return Observation(True, "up", "up")

    assert wait_until(check, timeout=10, what="x", transient=(ConnectionError,), clock=clock,
                      pause=clock.pause) == "up"


def test_wait_until_reports_transient_error_on_timeout():
    clock = FakeClock()

    def check():
        raise ConnectionError("connection refused")

    with pytest.raises(WaitTimeout, match="ConnectionError: connection refused"):
        wait_until(check, timeout=2, what="backend", transient=(ConnectionError,), clock=clock,
                   pause=clock.pause)


def test_wait_until_does_not_swallow_unlisted_errors():
    with pytest.raises(KeyError):
        wait_until(lambda: {}["missing"], timeout=1, what="x")


def _pauses_until_timeout(timeout: float, interval: float) -> list[float]:
    """The pauses a wait that never succeeds takes before its deadline."""
    clock = FakeClock()
    pauses = []

    def pause(seconds):
        pauses.append(seconds)
        clock.pause(seconds)

    with pytest.raises(WaitTimeout):
        wait_until(lambda: Observation(False, None, "no"), timeout=timeout, interval=interval,
                   what="x", clock=clock, pause=pause)
    return pauses


def test_wait_until_never_pauses_past_the_deadline():
    pauses = _pauses_until_timeout(2.2, 1)
    assert pauses[-1] == pytest.approx(2.2 - sum(pauses[:-1]))
    assert sum(pauses) == pytest.approx(2.2)


def test_pauses_start_short_and_double_up_to_the_interval():
    pauses = _pauses_until_timeout(3, 0.5)
    assert pauses[:5] == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.5])
    assert set(pauses[5:-1]) == {0.5}


def test_a_condition_that_holds_soon_is_seen_soon():
    clock = FakeClock()
    # Done 0.1 s after the wait starts: seen at 0.15 s, not at the 2 s interval.
    assert wait_until(lambda: Observation(clock() >= 0.1, clock(), "t"), timeout=10, interval=2,
                      what="x", clock=clock, pause=clock.pause) == pytest.approx(0.15)


def test_a_check_that_is_slow_itself_is_repeated_less_often():
    # Each check takes 0.5 s (a 15 MB answer read): the pauses grow to four times that, not
    # the 0.1 s interval, so watching takes at most a fifth of the time.
    clock = FakeClock()
    pauses = []

    def check():
        clock.pause(0.5)
        return Observation(False, None, "running")

    def pause(seconds):
        pauses.append(seconds)
        clock.pause(seconds)

    with pytest.raises(WaitTimeout):
        wait_until(check, timeout=20, interval=0.1, what="x", clock=clock, pause=pause)
    assert pauses[:-1] and pauses[:-1] == pytest.approx([2.0] * (len(pauses) - 1))
