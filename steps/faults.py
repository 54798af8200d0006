"""Steps about faults done to a running canary: the backend restarted or away, a worker
started while it is away. A step that breaks the shared canary registers its restore first."""

from behave import given, then, when
from behave.runner import Context
from hamcrest import assert_that, empty, equal_to, greater_than_or_equal_to

from canaryspec import faults, jobs
from canaryspec.database_health import health_holds, stop_database
from canaryspec.reports.attach import attach_text
from canaryspec.vocabulary import JOBS, WorkerKind

TRAINING = JOBS["training"]


@given('a training of "{strategy:Strategy}" has completed')
def step_training_completed(context: Context, strategy: str) -> None:
    context.job = context.canary.start(TRAINING, jobs.training_request(strategy))
    context.add_cleanup(context.canary.settle, context.job)
    context.canary.finish(context.job, {"completed"}, timeout=context.settings.deadlines.job_done)


@when("the backend alone is restarted")
def step_backend_restarted_alone(context: Context) -> None:
    context.add_cleanup(faults.restore, context.canary)
    context.worker_marks = faults.marks(context.canary)
    context.canary.restart(faults.BACKEND)


@when('the backend is down while the "{worker:WorkerKind}" worker restarts')
def step_worker_restarts_backend_down(context: Context, worker: WorkerKind) -> None:
    context.add_cleanup(faults.restore, context.canary)
    context.worker = faults.restart_while_backend_down(context.canary, worker)


@when("the backend is started again")
def step_backend_started(context: Context) -> None:
    context.canary.start_service(faults.BACKEND)


@then("every worker type is registered and available again within {seconds:d} s")
def step_every_worker_back(context: Context, seconds: int) -> None:
    faults.every_worker_available(context.canary,
                                  timeout=context.settings.deadlines.bound(seconds))


@then("no worker was restarted")
def step_no_worker_restarted(context: Context) -> None:
    restarted = faults.restarted_since(context.canary, context.worker_marks)
    assert_that(restarted, empty(), "workers were restarted to bring them back")


@then('the "{worker:WorkerKind}" worker registers again within {seconds:d} s, reporting the '
      'training it runs')
def step_registers_running(context: Context, worker: WorkerKind, seconds: int) -> None:
    found = faults.registered_running(context.canary, worker, context.job.operation_id,
                                      timeout=context.settings.deadlines.bound(seconds))
    attach_text("registered again", str(found) if found else
                "the training completed while the backend was away: nothing left to report")


@given("a canary of its own with a migrated database")
def step_own_canary(context: Context) -> None:
    pool = context.run.canaries
    if not pool.knows("faults"):
        context.add_cleanup(pool.release, "faults", layer="feature")
    context.canary = pool.own("faults", (faults.DATABASE, faults.BACKEND))
    context.canary.upgrade()


@when("the database is stopped under the running backend")
def step_database_stopped(context: Context) -> None:
    context.add_cleanup(faults.restore, context.canary)
    context.backend_marks = faults.marks(context.canary, [faults.BACKEND])
    context.operations_before = context.canary.operations_recorded()
    stop_database(context.canary)


@when("the backend starts while its database is still down")
def step_backend_before_database(context: Context) -> None:
    context.add_cleanup(faults.restore, context.canary)
    context.backend_marks = faults.start_before_database(context.canary)


@then("it keeps answering so through two of its own checks of the database")
def step_health_holds(context: Context) -> None:
    seconds = health_holds(context.canary, connected=False)
    attach_text("how long the backend was watched", f"{seconds:g} s")


@then("reading the operations meanwhile is refused with answers its API document declares")
def step_reads_refused_as_documented(context: Context) -> None:
    answers = context.canary.operation_reads(context.job.operation_id)
    attach_text("answers while the database is down",
                "\n".join(f"{a.route}: {a.reply.brief(300)}" for a in answers))
    assert_that([a.refusal_problem() for a in answers if a.refusal_problem()], empty(),
                "reading the operations while the database is down")


@then("the backend was not restarted")
def step_backend_not_restarted(context: Context) -> None:
    restarted = faults.restarted_since(context.canary, context.backend_marks)
    assert_that(restarted, empty(), "the backend had to be restarted to recover")


@then("every operation recorded before the outage is still recorded")
def step_operations_kept(context: Context) -> None:
    after = context.canary.operations_recorded()
    assert_that(after, greater_than_or_equal_to(context.operations_before),
                f"the operations table went from {context.operations_before} to {after} rows")
    assert_that(context.canary.listed(context.job), equal_to(("completed", "training")),
                f"{context.job.operation_id} as the operations list shows it")


@then('a training of "{strategy:Strategy}" started now completes within {seconds:d} seconds')
def step_training_now_completes(context: Context, strategy: str, seconds: int) -> None:
    context.job = context.canary.start(TRAINING, jobs.training_request(strategy))
    context.add_cleanup(context.canary.settle, context.job)
    context.canary.finish(context.job, {"completed"},
                          timeout=context.settings.deadlines.bound(seconds))


@when('the "{worker:WorkerKind}" worker is cut off from the network')
def step_cut_off(context: Context, worker: WorkerKind) -> None:
    context.worker = context.canary.registered_worker(worker)
    networks = context.canary.canary.cut_off(worker.service)
    context.add_cleanup(faults.restore, context.canary)
    context.add_cleanup(context.canary.canary.connect_back, worker.service, networks)
    context.cut_off = worker, networks


@then("the backend marks it unavailable within the window of its own health checks")
def step_marked_unavailable(context: Context) -> None:
    deadline_s, how = context.canary.unavailable_deadline()
    attach_text("deadline", f"{deadline_s:g} s: {how}")
    faults.marked_unavailable(context.canary, context.worker, timeout=deadline_s)


@when('a training of "{strategy:Strategy}" is asked for meanwhile')
def step_training_meanwhile(context: Context, strategy: str) -> None:
    context.operations_before = context.canary.operations_recorded()
    context.job = context.canary.send(TRAINING, jobs.training_request(strategy))
    context.add_cleanup(context.canary.settle, context.job)
    context.reply = context.job.reply


@when("the worker is connected again")
def step_connected_again(context: Context) -> None:
    worker, networks = context.cut_off
    context.canary.canary.connect_back(worker.service, networks)


@then("it is available again by the backend's next health check, under the same identity")
def step_available_again(context: Context) -> None:
    worker, _ = context.cut_off
    deadline_s, how = context.canary.back_deadline()
    attach_text("deadline", f"{deadline_s:g} s: {how}")
    faults.available_again(context.canary, context.worker, worker, timeout=deadline_s)


@then("the registry counts no failed health check against it any more")
def step_failures_cleared(context: Context) -> None:
    # A count that only grows makes any later single missed poll take the worker out of use.
    assert_that(faults.failed_checks_counted(context.canary, context.worker), equal_to(0),
                f"health_check_failures of {context.worker.worker_id}, available again")


@when('the idle "{worker:WorkerKind}" worker is asked to stop')
def step_stop_idle_worker(context: Context, worker: WorkerKind) -> None:
    context.worker = context.canary.available_worker(worker)
    context.stopped, context.last_words = faults.stop_and_listen(context.canary, worker)


@then("it ran its own shutdown, not the signal's default action")
def step_own_shutdown(context: Context) -> None:
    attach_text("its last log lines before it ended", context.last_words)
    assert_that(faults.shut_down_by_itself(context.last_words), equal_to(True),
                f"{context.stopped.service} ended (exit {context.stopped.exit_code}) without "
                f"running its shutdown: no SIGTERM handler; it last logged "
                f"{context.last_words.strip().splitlines()[-3:]}")


@given("a canary of its own with two training workers")
def step_scaled_canary(context: Context) -> None:
    pool = context.run.canaries
    if not pool.knows("faults-scaled"):
        context.add_cleanup(pool.release, "faults-scaled", layer="feature")
    context.canary = pool.own("faults-scaled", ())
    context.canary.upgrade()
    faults.add_training_worker(context.canary)


@when('two long trainings of "{strategy:Strategy}" are started one after the other')
def step_two_trainings(context: Context, strategy: str) -> None:
    context.trainings = []
    for _ in range(2):
        started = context.canary.start(TRAINING, jobs.training_request(
            strategy, dates=context.settings.profile.long_training))
        context.add_cleanup(context.canary.settle, started)
        context.trainings.append(started)
        context.canary.wait_until_running(started)


@then("each runs on a training worker of its own")
def step_each_on_its_own(context: Context) -> None:
    ran_on = [context.canary.worker_that_ran(started) for started in context.trainings]
    assert_that(len({worker_id for worker_id, _ in ran_on}), equal_to(2),
                f"the two trainings ran on {ran_on}")
    assert_that({kind for _, kind in ran_on}, equal_to({"training"}), f"ran on {ran_on}")


@when("the worker running the first one dies")
def step_first_worker_dies(context: Context) -> None:
    context.job = context.trainings[0]
    worker_id, _ = context.canary.worker_that_ran(context.job)
    service = faults.service_of(context.canary, worker_id)
    context.crashed = service, context.canary.crash(service)


@then("the other training completes, however long it keeps making progress")
def step_other_completes(context: Context) -> None:
    context.canary.completes_while_progressing(context.trainings[1])


@then("the training completes, however long it keeps making progress")
def step_training_completes(context: Context) -> None:
    context.canary.completes_while_progressing(context.job)


@then("the registry lists each of the two training workers once")
def step_each_listed_once(context: Context) -> None:
    listed = faults.available_of_kind(context.canary, TRAINING.worker, 2,
                                      timeout=context.settings.deadlines.registration)
    assert_that(faults.listed_more_than_once(listed), empty(),
                "the registry lists a training worker's address more than once")
