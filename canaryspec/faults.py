"""Faults a production deployment meets, done for real to a running canary: the backend
restarted or away, a worker started while it is away, a backend started before its database,
a worker cut off from the network or asked to stop, a second training worker added and one
of them killed.

Each fault is a Docker operation on the canary's containers (never a mock), and each reading
after it polls the platform against a deadline. A scenario that breaks the shared canary hands
it back with `restore`: whatever it stopped is started again, and the backend answers and every
worker type is available before the next scenario runs (checked, against `recovery`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from canaryspec.canary import StopResult
from canaryspec.handle import TRANSIENT, CanaryHandle, RegisteredWorker
from canaryspec.jobs import describe
from canaryspec.readiness import wait_for_services_ready
from canaryspec.vocabulary import WORKERS, WorkerKind
from canaryspec.waiting import Observation, wait_until

BACKEND = "backend"
DATABASE = "db"
WORKER_SERVICES = tuple(w.service for w in WORKERS.values())

# A container's (restart count, start time): it changes whenever anyone restarts it.
Mark = tuple[int, str]


def marks(handle: CanaryHandle, services: Iterable[str] = WORKER_SERVICES) -> dict[str, Mark]:
    """Each service's container (restart count, start time) as the engine has them now."""
    return {service: handle.canary.restarts(service)[:2] for service in services}


def restarted_since(handle: CanaryHandle, before: dict[str, Mark]) -> list[str]:
    """The services whose container was restarted (by the engine or anyone) since `before`."""
    now = marks(handle, before)
    return [f"{service} (started at {now[service][1]}, before {mark[1]})"
            for service, mark in before.items() if now[service] != mark]


def every_worker_available(handle: CanaryHandle, *, timeout: float) -> list[RegisteredWorker]:
    """A worker of every type registered and available; the registry as it was then."""
    def check() -> Observation[list[RegisteredWorker]]:
        every = handle.registered_workers()
        missing = [kind.worker_type for kind in _missing(every)]
        return Observation(not missing, every,
                           f"no available {' or '.join(missing)} worker; registered: "
                           f"{', '.join(map(str, every)) or 'none'}")

    return wait_until(check, timeout=timeout, interval=0.5, transient=TRANSIENT,
                      what="a worker of every type registered and available",
                      evidence=handle.evidence(BACKEND, *WORKER_SERVICES),
                      hint="a worker the backend forgot must register again by itself")


def registered_running(handle: CanaryHandle, worker: WorkerKind, operation_id: str, *,
                       timeout: float) -> RegisteredWorker | None:
    """A worker of the kind registered, the registry naming `operation_id` as the one it runs;
    None when the operation completed first (it ended while the backend was away, so there was
    nothing left to report: its completion is the proof). Fails at once when it ends otherwise
    before any worker claimed it again."""
    def check() -> Observation[RegisteredWorker | None]:
        found = [w for w in handle.registered_workers(worker)
                 if w.current_operation == operation_id]
        op = None if found else handle.operation(operation_id)
        if op is not None and op.finished and op.status != "completed":
            raise AssertionError(f"{operation_id} ended {op.status} before a "
                                 f"{worker.worker_type} worker registered again reporting it: "
                                 f"{op.describe()}")
        return Observation(bool(found) or (op is not None and op.finished),
                           found[0] if found else None,
                           f"registered: {', '.join(map(str, handle.registered_workers()))}"
                           f" or none; the operation {describe(op)}")

    return wait_until(check, timeout=timeout, interval=0.25, transient=TRANSIENT,
                      what=f"a {worker.worker_type} worker registered again, running "
                           f"{operation_id}",
                      evidence=handle.evidence(BACKEND, worker.service),
                      hint="a worker the backend forgot must register again and say which "
                           "operation it runs, or the backend takes it for an orphan")


def restart_while_backend_down(handle: CanaryHandle, worker: WorkerKind) -> RegisteredWorker:
    """Stop the backend, then stop and start the worker (its own health check passes without
    a backend); the backend stays down. Returns the worker's entry from before."""
    before = handle.registered_worker(worker)
    handle.stop_service(BACKEND)
    handle.canary.stop(worker.service)
    handle.canary.start(worker.service)
    wait_for_services_ready(handle.canary, [worker.service], timeout=handle.deadlines.ready)
    return before


def registry_entry(handle: CanaryHandle, worker_id: str) -> RegisteredWorker | None:
    """The worker's entry in the backend's registry, read now (None when it has none)."""
    return next((w for w in handle.registered_workers() if w.worker_id == worker_id), None)


def entry_status(handle: CanaryHandle, worker_id: str) -> str:
    """The worker's status in the backend's registry ("absent" when it has no entry)."""
    entry = registry_entry(handle, worker_id)
    return entry.status if entry else "absent"


def status_becomes(handle: CanaryHandle, worker: RegisteredWorker, wanted: Callable[[str], bool],
                   *, what: str, timeout: float, services: Iterable[str]) -> str:
    """Poll the worker's status in the registry until `wanted` holds; that status."""
    def check() -> Observation[str]:
        status = entry_status(handle, worker.worker_id)
        return Observation(wanted(status), status, f"{worker.worker_id} {status} in the "
                                                   "registry")

    return wait_until(check, timeout=timeout, interval=0.25, transient=TRANSIENT,
                      what=f"the backend marking {worker.worker_id} {what}",
                      evidence=handle.evidence(BACKEND, *services))


def marked_unavailable(handle: CanaryHandle, worker: RegisteredWorker, *,
                       timeout: float) -> str:
    """The registry no longer offers the worker jobs (any status but available or busy, or no
    entry at all); that status."""
    return status_becomes(handle, worker, lambda s: s not in {"available", "busy"},
                          what="unavailable", timeout=timeout, services=[])


def available_again(handle: CanaryHandle, worker: RegisteredWorker, kind: WorkerKind, *,
                    timeout: float) -> str:
    """The same worker (its identity unchanged: it never restarted) available again."""
    return status_becomes(handle, worker, lambda s: s == "available", what="available again",
                          timeout=timeout, services=[kind.service])


def failed_checks_counted(handle: CanaryHandle, worker: RegisteredWorker) -> object:
    """The failed health checks the registry counts against the worker now (the contract's
    `health_check_failures`; "absent" when it has no entry)."""
    entry = registry_entry(handle, worker.worker_id)
    return entry.raw.get("health_check_failures") if entry else "absent"


# What a worker's own SIGTERM handling leaves last in its log: uvicorn's line once the app's
# shutdown (a job cancelled and checkpointed, its final report sent) has run. Both platforms'
# workers are uvicorn apps. A process killed by the signal's default action never writes it,
# and its exit code (143) is the same as a graceful uvicorn's, which re-raises the signal.
SHUTDOWN_COMPLETE = re.compile(r"Application shutdown complete")


def stop_and_listen(handle: CanaryHandle, worker: WorkerKind) -> tuple[StopResult, str]:
    """SIGTERM the worker and keep the last lines it logged before it ended; then start it
    again and wait until it is back."""
    stopped = handle.canary.stop(worker.service)
    last_words = handle.canary.logs(worker.service, 30)
    handle.start_service(worker.service)
    return stopped, last_words


def shut_down_by_itself(last_words: str) -> bool:
    """Whether the last lines show the process's own shutdown having run to its end."""
    return bool(SHUTDOWN_COMPLETE.search(last_words))


# The canary's training worker scaled to two, as the real platform's scale profiles do: the
# second is a service of its own, reached at its own address.
SECOND_TRAINING_WORKER = "training-worker-2"


def available_of_kind(handle: CanaryHandle, kind: WorkerKind, count: int, *,
                      timeout: float) -> list[RegisteredWorker]:
    """`count` workers of the kind registered and available, each at an address of its own;
    every entry of the kind as the registry lists it then."""
    def check() -> Observation[list[RegisteredWorker]]:
        of_kind = handle.registered_workers(kind)
        addresses = {w.endpoint_url for w in of_kind if w.status == "available"}
        return Observation(len(addresses) >= count, of_kind,
                           f"{len(addresses)} available at distinct addresses; registered: "
                           f"{', '.join(map(str, of_kind)) or 'none'}")

    return wait_until(check, timeout=timeout, interval=0.5, transient=TRANSIENT,
                      what=f"{count} {kind.worker_type} workers available",
                      evidence=handle.evidence(BACKEND, kind.service, SECOND_TRAINING_WORKER))


def add_training_worker(handle: CanaryHandle) -> list[RegisteredWorker]:
    """Start a second training worker beside the first; both registered and available."""
    kind = WORKERS["training"]
    handle.canary.add_replica(kind.service, SECOND_TRAINING_WORKER)
    wait_for_services_ready(handle.canary, [SECOND_TRAINING_WORKER],
                            timeout=handle.deadlines.ready)
    return available_of_kind(handle, kind, 2, timeout=handle.deadlines.registration)


def service_of(handle: CanaryHandle, worker_id: str) -> str:
    """The canary service whose worker registered as `worker_id` (by the address it gave)."""
    entry = next((w for w in handle.registered_workers() if w.worker_id == worker_id), None)
    if entry is None:
        raise AssertionError(f"{worker_id} is not registered")
    for service in (*WORKER_SERVICES, SECOND_TRAINING_WORKER):
        if handle.canary.env_of(service).get("WORKER_PUBLIC_BASE_URL") == entry.endpoint_url:
            return service
    raise AssertionError(f"no service of the canary is reached at {entry.endpoint_url}")


def listed_more_than_once(workers: Iterable[RegisteredWorker]) -> list[str]:
    """Addresses the registry lists under more than one entry."""
    seen: dict[str, list[str]] = {}
    for worker in workers:
        seen.setdefault(worker.endpoint_url, []).append(worker.worker_id)
    return [f"{url}: {', '.join(ids)}" for url, ids in seen.items() if len(ids) > 1]


def start_before_database(handle: CanaryHandle) -> dict[str, Mark]:
    """Stop the backend and the database, then start the backend alone: it must come up and
    answer while its database does not accept connections yet. Its mark from then on."""
    handle.stop_service(BACKEND)
    handle.canary.stop(DATABASE)
    handle.canary.start(BACKEND)
    # Coming up without its database is what the scenario judges: silent at the deadline fails.
    wait_for_services_ready(handle.canary, [BACKEND], timeout=handle.deadlines.ready,
                            judged=True)
    handle.reconnect()
    return marks(handle, [BACKEND])


def restore(handle: CanaryHandle) -> None:
    """Hand a canary back healthy: start what a fault left stopped (the database first, then
    the backend, then the workers), then wait until the backend answers and, where the canary
    runs workers, every worker type is available again (the `recovery` deadline)."""
    services = handle.canary.all_services
    for service in (s for s in (DATABASE, BACKEND, *WORKER_SERVICES) if s in services):
        if handle.canary.start(service):
            wait_for_services_ready(handle.canary, [service], timeout=handle.deadlines.ready)
    handle.reconnect()
    handle.wait_until_answering()
    if set(WORKER_SERVICES) <= set(services):
        try:
            every_worker_available(handle, timeout=handle.deadlines.recovery)
        except AssertionError:
            # The platform did not take a worker back by itself: that is the finding of the
            # scenario that made the fault. A person would restart that worker; so does the
            # suite, so that the scenarios after it find the canary whole (else it fails here).
            for worker in _unavailable(handle):
                handle.canary.restart(worker.service)
                wait_for_services_ready(handle.canary, [worker.service],
                                        timeout=handle.deadlines.ready)
            every_worker_available(handle, timeout=handle.deadlines.recovery)


def _unavailable(handle: CanaryHandle) -> list[WorkerKind]:
    return _missing(handle.registered_workers())


def _missing(registered: list[RegisteredWorker]) -> list[WorkerKind]:
    """The worker kinds no available worker of `registered` is."""
    return [kind for kind in WORKERS.values()
            if not any(w.worker_type == kind.worker_type and w.status == "available"
                       for w in registered)]
