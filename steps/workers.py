"""Steps about the backend's health and its worker registry."""

from behave import then, when
from behave.runner import Context
from hamcrest import (
    assert_that,
    empty,
    equal_to,
    has_entries,
    matches_regexp,
)

from canaryspec.errors import Finding
from canaryspec.reports.attach import attach_text
from canaryspec.vocabulary import WORKERS, WorkerKind


@then("the backend reports healthy")
def step_backend_healthy(context: Context) -> None:
    health = context.canary.health()
    assert_that((health.status, health.field("status")), equal_to((200, "ok")),
                f"backend health: {health.brief()}")
    if context.settings.profile.strict_health:
        assert_that(health.field("database") or {}, has_entries(connected=True, migrated=True),
                    f"backend health reports the database unusable: {health.brief()}")


@then("the {service:Service} passed its health check within the window its deployment declares")
def step_healthy_within_window(context: Context, service: str) -> None:
    start_up = context.canary.canary.start_up(service)
    attach_text("start-up against the health window", start_up.describe())
    assert_that(start_up.shortfall(), equal_to(""), start_up.describe())


@then('a "{worker:WorkerKind}" worker is registered and available')
def step_worker_available(context: Context, worker: WorkerKind) -> None:
    context.worker = context.canary.available_worker(worker)
    assert_that(context.worker.endpoint_url,
                matches_regexp(context.canary.canary.worker_address_pattern(worker)),
                f"the {worker.worker_type} worker registered an address the backend cannot use: "
                f"{context.worker}")
    context.canary.health_polled(context.worker.worker_id)


@then('the "{worker:WorkerKind}" worker\'s health endpoint answers from the backend\'s network')
def step_worker_reachable(context: Context, worker: WorkerKind) -> None:
    endpoint = context.canary.available_worker(worker).endpoint_url
    health = context.canary.worker_health_from_backend(endpoint)
    assert_that(health, has_entries(healthy=True, service=f"{worker.worker_type}-worker"),
                f"{endpoint}/health from the backend: {health}")


@when('the "{worker:WorkerKind}" worker is restarted')
def step_restart_worker(context: Context, worker: WorkerKind) -> None:
    # Busy or not: a restart in the middle of a job is a case of its own.
    context.worker = context.canary.registered_worker(worker)
    context.others = [w for w in context.canary.registered_workers()
                      if w.worker_id != context.worker.worker_id]
    context.canary.restart(worker.service)


@when('the "{worker:WorkerKind}" worker is asked to stop')
def step_stop_worker(context: Context, worker: WorkerKind) -> None:
    context.worker = context.canary.registered_worker(worker)
    context.stopped = context.canary.stop_and_start(worker.service)


@then("it exits within its grace period, before the engine has to kill it")
def step_stopped_by_itself(context: Context) -> None:
    # The deployment's own stop grace period is the deadline: the engine's timer judges.
    stopped = context.stopped
    if not (stopped.stopped_by_itself and stopped.seconds < stopped.grace_s):
        # One root cause whichever worker met it: the stop handling the worker types share.
        raise Finding(f"{stopped.service} did not stop by itself on SIGTERM: exit "
                      f"{stopped.exit_code} after {stopped.seconds:.1f} s of its "
                      f"{stopped.grace_s:g} s grace period (137: the engine killed it when the "
                      "grace ran out)",
                      root_cause=f"a worker asked to stop (SIGTERM) does not exit by itself "
                                 f"within its grace period: exit {stopped.exit_code}")


@when('the "{worker:WorkerKind}" worker dies')
def step_worker_dies(context: Context, worker: WorkerKind) -> None:
    context.worker = context.canary.registered_worker(worker)
    context.crashed = worker.service, context.canary.crash(worker.service)
    context.add_cleanup(context.canary.restore, worker.service)


@then("the engine starts it again by its restart policy")
def step_restarted_by_policy(context: Context) -> None:
    service, before = context.crashed
    context.canary.restarted_by_the_engine(service, before)


@then('a "{worker:WorkerKind}" worker is registered again under a new identity within '
      '{seconds:d} s')
def step_reregistered(context: Context, worker: WorkerKind, seconds: int) -> None:
    context.registered = context.canary.registered_anew(
        worker, context.worker.worker_id, timeout=context.settings.deadlines.bound(seconds))


@then("its new identity is a random one of its type, as the contract forms them")
def step_fresh_identity(context: Context) -> None:
    kind = WORKERS[context.worker.worker_type]
    for new in context.registered:
        assert_that(new.worker_id, matches_regexp(f"^{kind.fresh_id}$"),
                    f"the {kind.worker_type} worker came back under an id not of the contract's "
                    "form")


@then("its old identity is no longer registered")
def step_old_identity_gone(context: Context) -> None:
    reply = context.canary.worker_entry(context.worker.worker_id)
    assert_that(reply.status, equal_to(404), f"old worker entry still present: {reply.brief()}")


@then("every other worker keeps its entry")
def step_others_kept(context: Context) -> None:
    now = {w.worker_id for w in context.canary.registered_workers()}
    gone = [str(w) for w in context.others if w.worker_id not in now]
    assert_that(gone, empty(), f"re-registering {context.worker.worker_type} removed other "
                               f"workers' entries; registered now: {sorted(now)}")


@then("the workers listed for each status are exactly the registered workers in that status")
def step_status_filter(context: Context) -> None:
    assert_that(context.canary.status_filter_problems(), empty(),
                "the worker list filtered by status against the whole list")


@then("as many workers of each type are registered as the deployment expects")
def step_registered_as_expected(context: Context) -> None:
    found = context.canary.registered_as_expected(context.settings.expected_workers())
    attach_text("registered workers", "\n".join(map(str, found)))
