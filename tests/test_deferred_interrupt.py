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


def test_an_interrupt_the_interpreter_dropped_is_raised_at_the_next_check() -> None:
    # SIGTERM handled inside a garbage-collector callback: Python cannot raise it there, so it
    # reports it to sys.unraisablehook and carries on; the run must still stop.
    import gc
    import sys

    state = InterruptState()
    seen = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: seen.append(unraisable.exc_type)
    state.install()
    try:
        def callback(phase: str, info: dict) -> None:
            if phase == "start" and state.received is None:
                state.handle(15, None)

        gc.callbacks.append(callback)
        try:
            gc.collect()
        finally:
            gc.callbacks.remove(callback)
        assert seen == [Interrupted] and state.received == "SIGTERM" and not state.raised
        with pytest.raises(Interrupted, match="SIGTERM"):
            state.check()
        state.check()  # raised once
    finally:
        state.uninstall()
        sys.unraisablehook = previous


def test_a_wait_stops_at_an_interrupt_that_has_not_reached_the_run() -> None:
    from canaryspec import interrupts
    from canaryspec.waiting import Observation, wait_until

    interrupts.STATE.received, interrupts.STATE.raised = "SIGTERM", False
    try:
        with pytest.raises(Interrupted):
            wait_until(lambda: Observation(False, None, "running"), timeout=5, what="x",
                       pause=lambda seconds: None)
    finally:
        interrupts.STATE.received, interrupts.STATE.raised = None, False
