"""Steps about the backend's health and its worker registry."""

from behave import then, when
from behave.runner import Context
from hamcrest import assert_that, equal_to, has_entries, less_than_or_equal_to, matches_regexp

from canaryspec import readiness
from canaryspec.run import worker_service
from canaryspec.waiting import Observation, wait_until


@then("the backend reports healthy")
def step_backend_healthy(context: Context) -> None:
    reply = context.canary.api.health()
    assert_that(reply.status, equal_to(200), f"backend health: {reply.brief()}")
    assert_that(reply.body, has_entries(status="ok"), f"backend health: {reply.brief()}")
    if context.settings.profile.strict_health:
        assert_that(reply.body.get("database", {}), has_entries(connected=True, migrated=True),
                    f"backend health reports the database unusable: {reply.brief()}")


@then('a "{worker_type}" worker is registered and available')
def step_worker_available(context: Context, worker_type: str) -> None:
    deadlines = context.settings.deadlines
    context.worker = readiness.wait_for_available_worker(
        context.canary.api, context.canary.canary, worker_type, timeout=deadlines.registration)
    expected_host = worker_service(worker_type)
    assert_that(context.worker["endpoint_url"], matches_regexp(rf"^http://{expected_host}:\d+$"),
                f"the {worker_type} worker registered an address the backend cannot use: "
                f"{context.worker}")
    readiness.wait_for_health_poll(context.canary.api, context.canary.canary,
                                   context.worker["worker_id"], timeout=deadlines.registration)


@then('the "{worker_type}" worker\'s health endpoint answers from the backend\'s network')
def step_worker_reachable(context: Context, worker_type: str) -> None:
    worker = readiness.wait_for_available_worker(context.canary.api, context.canary.canary,
                                                 worker_type,
                                                 timeout=context.settings.deadlines.registration)
    health = readiness.health_seen_from_backend(context.canary.canary, worker["endpoint_url"])
    assert_that(health, has_entries(healthy=True, service=f"{worker_type}-worker"),
                f"{worker['endpoint_url']}/health from the backend: {health}")


@when('the "{worker_type}" worker is restarted')
def step_restart_worker(context: Context, worker_type: str) -> None:
    # Busy or not: a restart in the middle of a job is a case of its own.
    context.worker = readiness.registered_worker(context.canary.api, worker_type)
    context.run.restart_service(context.canary, worker_service(worker_type))


@when('the "{worker_type}" worker is asked to stop')
def step_stop_worker(context: Context, worker_type: str) -> None:
    context.worker = readiness.registered_worker(context.canary.api, worker_type)
    context.stopped = context.run.stop_and_start_service(context.canary,
                                                         worker_service(worker_type))


@then("it stops by itself within its grace period")
def step_stopped_by_itself(context: Context) -> None:
    stopped, limit = context.stopped, context.settings.deadlines.worker_stop
    assert_that(stopped.stopped_by_itself, equal_to(True),
                f"{stopped.service} did not stop on SIGTERM: the engine killed it after its "
                f"{stopped.grace_s:g} s grace period (exit {stopped.exit_code})")
    assert_that(stopped.seconds, less_than_or_equal_to(limit),
                f"{stopped.service} took {stopped.seconds:.1f} s to stop on SIGTERM (exit "
                f"{stopped.exit_code}), more than {limit:g} s of its {stopped.grace_s:g} s grace")


@when('the "{worker_type}" worker dies')
def step_worker_dies(context: Context, worker_type: str) -> None:
    context.worker = readiness.registered_worker(context.canary.api, worker_type)
    context.run.restart_service(context.canary, worker_service(worker_type), kill=True)


@then('a "{worker_type}" worker is registered again under a new identity within {seconds:d} s')
def step_reregistered(context: Context, worker_type: str, seconds: int) -> None:
    old_id = context.worker["worker_id"]

    def check():
        workers = readiness.registered_workers(context.canary.api, worker_type)
        fresh = [w for w in workers if w["worker_id"] != old_id and w["status"] == "available"]
        return Observation(bool(fresh), fresh, f"registered: {workers}")

    wait_until(check, timeout=context.settings.deadlines.bound(seconds),
               what=f"a new {worker_type} worker registering",
               evidence=lambda: context.canary.canary.evidence([worker_service(worker_type)]))


@then("its old identity is no longer registered")
def step_old_identity_gone(context: Context) -> None:
    reply = context.canary.api.worker(context.worker["worker_id"])
    assert_that(reply.status, equal_to(404), f"old worker entry still present: {reply.brief()}")
