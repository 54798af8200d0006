"""A signal during a teardown in the middle of a run interrupts the run right after it."""

import pytest

from canaryspec.interrupts import Interrupted, InterruptState


def test_a_signal_noted_during_a_mid_run_teardown_is_raised_after_it() -> None:
    state = InterruptState()
    finished = []
    with pytest.raises(Interrupted, match="SIGTERM"), state.deferred():
        state.handle(15, None)  # noted, not raised: the teardown must finish
        finished.append(True)
    assert finished == [True] and state.raised


def test_a_signal_already_raised_is_not_raised_twice() -> None:
    state = InterruptState()
    with pytest.raises(Interrupted):
        state.handle(2, None)
    with state.deferred():
        pass


def test_the_final_teardown_never_raises() -> None:
    state = InterruptState()
    with state.shielded():
        state.handle(15, None)
    assert state.received == "SIGTERM" and not state.raised
