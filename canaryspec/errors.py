"""Errors of the suite itself: set-up problems (one sentence, an exit code of their own) and a
canary that could not be brought up (the scenarios that needed it are broken, not failed); and
a product defect a step met, carrying its root cause (`Finding`).

The first two are AssertionErrors only so that behave, when one is raised in a step, prints its
one sentence instead of a traceback; canaryspec.outcomes files them as broken (never as a
product failure) by their class.
"""

from __future__ import annotations


class CanaryspecError(AssertionError):
    """A problem with the set-up, not with the product: reported as one line, no traceback, and
    the run stops (scenarios not yet run are broken, "blocked by" it)."""

    exit_code = 3

    def as_record(self) -> dict[str, object]:
        return {"kind": type(self).__name__, "message": str(self), "exit_code": self.exit_code}


class ConfigError(CanaryspecError):
    """Unknown profile or userdata key, a value that does not parse, a compose file that is
    missing or that Compose cannot read."""

    exit_code = 4


class EngineUnavailable(CanaryspecError):
    """No Docker engine answers where DOCKER_HOST (or the default socket) points."""

    exit_code = 5


class ImageUnavailable(CanaryspecError):
    """An image the run needs is absent and building is disabled, or its build failed."""

    exit_code = 6


class ComposeUnavailable(CanaryspecError):
    """No Compose v2 whose exit status can be trusted."""

    exit_code = 7


class PortInUse(CanaryspecError):
    """A host port the canary was told to use is taken."""

    exit_code = 8


class ComposeFailed(CanaryspecError):
    """Compose refused to start the canary (a name in use, an image it cannot find, ...) before
    any service of it ran: the machine's problem, not the product's."""

    exit_code = 9


class CanaryUnavailable(AssertionError):
    """A canary's service exited or never became healthy: the scenarios that need the canary
    cannot be judged (broken, not failed). The message names the service, its state and its
    decisive log line; `evidence` holds the state and log tail of every service."""

    def __init__(self, message: str, evidence: str = ""):
        super().__init__(message)
        self.evidence = evidence


class ServiceStillStarting(CanaryUnavailable):
    """A service the scenario restarted was still on its way up at the readiness deadline:
    running, its health route not answering at all (not answering with an error). A hang and
    a host too busy to start it in time look the same from outside, so the scenario is broken,
    not failed; how fast the service starts is judged on its own ("starts within the health
    window its deployment declares")."""


class Finding(AssertionError):
    """The platform did not behave, and the step that saw it knows the defect's root cause: a
    short sentence that stays the same wherever the defect is met (the job and the platform's
    own error, no operation id), so that six scenarios stopped by it count as one finding.
    canaryspec.outcomes takes `root_cause` from here before deriving one from the message."""

    def __init__(self, message: str, root_cause: str):
        super().__init__(message)
        self.root_cause = root_cause


class WrongRefusal(Finding):
    """A hostile request answered otherwise than its refusal must be. Always the platform's:
    the suite chose what it sent on purpose, so the words in the answer ("No market data for
    ../data/EURUSD") never make it a test-data problem."""
