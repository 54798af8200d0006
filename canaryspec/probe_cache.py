"""What a command run in an image answered, kept by image id, so an unchanged image costs no
container on the next run.

An image id is the hash of the image's configuration and layers: the same id is the same files,
user, entrypoint and environment, so a command run in a throwaway container of it (network off)
answers the same every time on the same engine. The answers are kept per engine and image in
build/probe-cache/ and say which run asked first; the report says, per image, whether its facts
were probed now or came from that run. An answer that says more about the machine than the image
is not kept: Docker's own failures (exit 125-127) and a container killed (137, e.g. out of
memory) are asked again next time.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from canaryspec.images import CommandResult

# Exit codes that describe the engine or the machine rather than the image.
NOT_KEPT_EXIT_CODES = frozenset({125, 126, 127, 137})
PROBED_NOW = "probed now"


@dataclass(frozen=True)
class Answer:
    result: CommandResult
    source: str  # PROBED_NOW, or "cached from run <id>"


class ProbeCache:
    """Answers by (engine, image id, command); a file per image, written atomically so that
    runs at once on one engine share it without tearing it."""

    def __init__(self, directory: Path, engine_id: str, run_id: str) -> None:
        self.directory = directory
        self.engine = "".join(c for c in engine_id if c.isalnum())[:12] or "engine"
        self.run_id = run_id
        self._lock = threading.Lock()

    def _path(self, image_id: str) -> Path:
        return self.directory / f"{self.engine}-{image_id.removeprefix('sha256:')[:24]}.json"

    def _read(self, path: Path) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def answer(self, image_id: str, command: list[str],
               ask: Callable[[], CommandResult]) -> Answer:
        """The kept answer to `command` in `image_id`, or `ask()`'s, kept for next time."""
        key = json.dumps(command)
        path = self._path(image_id)
        kept = self._read(path).get(key)
        if kept is not None:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                result = CommandResult(int(kept["exit_code"]), str(kept["output"]))  # type: ignore[call-overload]
                # The run, not the moment: one phrase per run that asked, in the report.
                return Answer(result, f"cached from run {kept['run']}")
        result = ask()
        if result.exit_code not in NOT_KEPT_EXIT_CODES:
            self._keep(path, key, result)
        return Answer(result, PROBED_NOW)

    def _keep(self, path: Path, key: str, result: CommandResult) -> None:
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            data = self._read(path)  # another run may have added answers meanwhile
            data[key] = {"exit_code": result.exit_code, "output": result.output,
                         "run": self.run_id,
                         "when": datetime.now(UTC).isoformat(timespec="seconds")}
            handle, scratch = tempfile.mkstemp(dir=path.parent, prefix=".probe-")
            with os.fdopen(handle, "w") as out:
                json.dump(data, out, indent=1)
            os.replace(scratch, path)


def provenance(sources: list[str]) -> str:
    """One phrase for where an image's facts came from: "probed now (3)", "cached from run X
    (4)", or both with their counts."""
    counts: dict[str, int] = {}
    for source in sources:
        counts[source] = counts.get(source, 0) + 1
    return "; ".join(f"{source} ({count})" for source, count in counts.items()) or "not probed"
