"""An unchanged image (same id) answers a command from the cache: no container, and the report
says where the answer came from."""

from __future__ import annotations

import threading
from pathlib import Path

from canaryspec.images import CommandResult
from canaryspec.probe_cache import PROBED_NOW, ProbeCache, provenance


class Asker:
    """Counts the containers a probe would have run."""

    def __init__(self, result: CommandResult) -> None:
        self.result, self.calls = result, 0

    def __call__(self) -> CommandResult:
        self.calls += 1
        return self.result


def test_the_first_answer_is_probed_and_the_next_run_reads_it(tmp_path: Path) -> None:
    asker = Asker(CommandResult(1, "ModuleNotFoundError: No module named 'torch'"))
    first = ProbeCache(tmp_path, "ENGINE:1", "run-a").answer("sha256:abc", ["python", "-c",
                                                                          "import torch"], asker)
    second = ProbeCache(tmp_path, "ENGINE:1", "run-b").answer("sha256:abc", ["python", "-c",
                                                                           "import torch"], asker)
    assert asker.calls == 1
    assert first.source == PROBED_NOW
    assert second.result == first.result
    assert second.source == "cached from run run-a"


def test_another_image_id_or_command_or_engine_is_asked_again(tmp_path: Path) -> None:
    asker = Asker(CommandResult(0, "10001"))
    ProbeCache(tmp_path, "engine-1", "r").answer("sha256:abc", ["id", "-u"], asker)
    ProbeCache(tmp_path, "engine-1", "r").answer("sha256:def", ["id", "-u"], asker)
    ProbeCache(tmp_path, "engine-1", "r").answer("sha256:abc", ["id", "-g"], asker)
    ProbeCache(tmp_path, "engine-2", "r").answer("sha256:abc", ["id", "-u"], asker)
    assert asker.calls == 4


def test_an_answer_about_the_machine_rather_than_the_image_is_not_kept(tmp_path: Path) -> None:
    for code in (125, 126, 127, 137):
        asker = Asker(CommandResult(code, "killed"))
        cache = ProbeCache(tmp_path, "e", "r")
        cache.answer("sha256:abc", ["true", str(code)], asker)
        cache.answer("sha256:abc", ["true", str(code)], asker)
        assert asker.calls == 2, code


def test_a_torn_cache_file_is_asked_again_not_trusted(tmp_path: Path) -> None:
    cache = ProbeCache(tmp_path, "e", "r")
    cache.answer("sha256:abc", ["id", "-u"], Asker(CommandResult(0, "10001")))
    for path in tmp_path.glob("*.json"):
        path.write_text("{not json")
    asker = Asker(CommandResult(0, "10001"))
    assert cache.answer("sha256:abc", ["id", "-u"], asker).source == PROBED_NOW
    assert asker.calls == 1


def test_answers_kept_at_once_by_several_probes_all_stay(tmp_path: Path) -> None:
    cache = ProbeCache(tmp_path, "e", "r")
    threads = [threading.Thread(target=cache.answer, args=(
        "sha256:abc", ["echo", str(n)], Asker(CommandResult(0, str(n))))) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    asker = Asker(CommandResult(0, "never"))
    answers = [cache.answer("sha256:abc", ["echo", str(n)], asker) for n in range(8)]
    assert asker.calls == 0
    assert [a.result.output for a in answers] == [str(n) for n in range(8)]


def test_provenance_counts_each_source() -> None:
    assert provenance([]) == "not probed"
    assert provenance([PROBED_NOW, PROBED_NOW]) == "probed now (2)"
    assert provenance(["cached from run a", "cached from run a", PROBED_NOW]) == \
        "cached from run a (2); probed now (1)"
