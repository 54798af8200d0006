"""Errors the suite reports as one clear sentence, each with its own exit code."""

from __future__ import annotations

import json

from canaryspec.settings_paths import SETUP_ERROR_FILE


class CanaryspecError(Exception):
    """A problem with the set-up, not with the product: reported as one line, no traceback."""

    exit_code = 3


class ConfigError(CanaryspecError):
    """Unknown profile or userdata key, or a value that does not parse."""

    exit_code = 4


class EngineUnavailable(CanaryspecError):
    """No Docker engine answers where DOCKER_HOST (or the default socket) points."""

    exit_code = 5


class ImageUnavailable(CanaryspecError):
    """An image the run needs is absent and building is disabled, or its build failed."""

    exit_code = 6


class ComposeUnavailable(CanaryspecError):
    """No Compose v2 to run the canary with."""

    exit_code = 7


class PortInUse(CanaryspecError):
    """A host port the canary was told to use is taken."""

    exit_code = 8


def record_setup_error(error: CanaryspecError) -> None:
    """Leave the set-up error where `python -m canaryspec` finds it after behave returns."""
    SETUP_ERROR_FILE.parent.mkdir(parents=True, exist_ok=True)
    SETUP_ERROR_FILE.write_text(json.dumps({"message": str(error), "exit_code": error.exit_code,
                                            "kind": type(error).__name__}))


def take_setup_error() -> dict[str, object] | None:
    """The set-up error recorded by this run, if any (and forget it)."""
    if not SETUP_ERROR_FILE.exists():
        return None
    recorded = json.loads(SETUP_ERROR_FILE.read_text())
    SETUP_ERROR_FILE.unlink()
    return recorded
