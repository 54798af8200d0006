"""Where a platform puts what its contract leaves open: as data, one small table per profile.

The contract fixes the routes and the envelopes; it does not fix, for example, the name of a
training's accuracy metric or where an operation names the worker that ran it. Each profile
says where to look; steps ask these questions and get an answer, or a sentence saying what was
there instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MISSING = object()


def dig(body: Any, path: str) -> Any:
    """The value at a dotted path (`metadata.parameters.worker_id`), or MISSING."""
    value = body
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return MISSING
        value = value[key]
    return value


@dataclass(frozen=True)
class Responses:
    """A platform's answers to the questions its contract leaves open."""

    # Accuracy of a finished training, by part of result_summary (training, test).
    accuracy: tuple[str, str] = ("training_metrics.accuracy", "test_metrics.accuracy")
    # Where an operation names the worker that ran it, first found wins.
    worker_id: Sequence[str] = ("worker_id", "metadata.worker_id")
    # A backtest metric as the features name it -> as the platform reports it (same unit).
    metric_names: Mapping[str, str] = field(default_factory=dict)
    # The file a training's `model_path` stands for (a file, or a file in that directory).
    model_file: str = "{model_path}"
    # Where a backtest's results give the SHA-256 of the model file it loaded.
    loaded_model_checksum: str = "model_sha256"

    def training_accuracy(self, result_summary: Mapping[str, Any]) -> dict[str, Any]:
        """{training: value, test: value}; AssertionError naming what was there instead."""
        found = {part: dig(result_summary, path)
                 for part, path in zip(("training", "test"), self.accuracy, strict=True)}
        missing = [path for path, value in zip(self.accuracy, found.values(), strict=True)
                   if not isinstance(value, int | float)]
        if missing:
            shown = {k: sorted(v) if isinstance(v, Mapping) else v
                     for k, v in result_summary.items()
                     if k in {"training_metrics", "test_metrics"}}
            raise AssertionError(f"the training's result_summary has no numeric "
                                 f"{', '.join(missing)}; its metrics are {shown}")
        return found

    def worker_of(self, operation: Mapping[str, Any]) -> str:
        """The id of the worker that ran the operation; AssertionError if it names none."""
        for path in self.worker_id:
            value = dig(operation, path)
            if isinstance(value, str) and value:
                return value
        raise AssertionError(f"the operation names no worker (looked at "
                             f"{', '.join(self.worker_id)}): {dict(operation)}")

    def metric(self, metrics: Mapping[str, Any], name: str) -> tuple[str, Any]:
        """(the platform's name, its value or None) of a metric the features name."""
        reported = self.metric_names.get(name, name)
        return reported, metrics.get(reported)

    def model_file_of(self, model_path: str) -> str:
        return self.model_file.format(model_path=model_path.rstrip("/"))
