"""What a scenario needs beyond HTTP: declared by tags, noted as used, compared."""

import threading

from canaryspec import needs
from canaryspec.needs import Ledger, Need, UndeclaredNeed


def test_the_tags_declare_the_needs_and_nothing_else():
    assert needs.declared(["training", "needs.engine", "destructive", "critical"]) == {
        Need.ENGINE, Need.DESTRUCTIVE}


def test_what_was_used_and_not_declared_is_named_in_order():
    used = {Need.DESTRUCTIVE, Need.DATABASE, Need.ENGINE}
    assert needs.undeclared(used, ["needs.engine"]) == [Need.DATABASE, Need.DESTRUCTIVE]
    assert needs.undeclared(used, ["needs.engine", "needs.database", "destructive"]) == []


def test_a_declared_need_that_went_unused_is_no_problem():
    assert needs.undeclared(set(), ["needs.images"]) == []


def test_the_error_says_which_tags_to_add():
    message = str(UndeclaredNeed([Need.DATABASE, Need.DESTRUCTIVE]))
    assert "@needs.database @destructive" in message


def test_a_ledger_holds_what_was_used_since_it_was_opened():
    ledger = Ledger()
    ledger.note(Need.ENGINE)
    ledger.open()
    ledger.note(Need.IMAGES)
    assert ledger.take() == {Need.IMAGES}


def test_what_a_report_gathers_is_not_counted():
    ledger = Ledger()
    ledger.open()
    with ledger.not_counted():
        ledger.note(Need.ENGINE)
        with ledger.counted_as(Need.DATABASE):  # the outer "not counted" wins
            ledger.note(Need.ENGINE)
    assert ledger.take() == frozenset()


def test_a_block_counted_as_the_database_turns_engine_calls_into_it():
    ledger = Ledger()
    ledger.open()
    with ledger.counted_as(Need.DATABASE):
        ledger.note(Need.ENGINE)
    ledger.note(Need.ENGINE)
    assert ledger.take() == {Need.DATABASE, Need.ENGINE}


def test_uses_from_other_threads_count_and_their_modes_are_their_own():
    ledger = Ledger()
    ledger.open()
    with ledger.not_counted():
        worker = threading.Thread(target=ledger.note, args=(Need.ENGINE,))
        worker.start()
        worker.join()
    assert ledger.take() == {Need.ENGINE}


def test_a_run_without_a_capability_is_told_what_the_scenario_needs_and_how_to_give_it():
    missing = needs.unmet(["needs.engine", "destructive", "faults"], {Need.DESTRUCTIVE})
    assert missing == [Need.ENGINE]
    assert "a Docker engine that runs the services" in needs.describe_unmet(missing)
    assert needs.unmet(["needs.engine"], set(Need)) == []
