"""Steps about training and backtest jobs: starting, watching, cancelling, refusing.

Every request a step sends is a StartedJob on `context.job` with its answer on `context.reply`,
and registers its own clean-up (cancel if still running, wait for its worker to be free).
"""

from behave import given, then, when
from behave.runner import Context
from hamcrest import (
    assert_that,
    empty,
    equal_to,
    is_in,
    less_than,
    matches_regexp,
    none,
    not_none,
)

from canaryspec import jobs, needs
from canaryspec.errors import Finding
from canaryspec.handle import ending_cause
from canaryspec.jobs import StartedJob
from canaryspec.needs import Need
from canaryspec.reports.attach import attach_json, attach_text, attach_unreported_exchanges
from canaryspec.vocabulary import BAR_LENGTHS, JOBS, JobKind, WorkerKind

TRAINING, BACKTEST = JOBS["training"], JOBS["backtest"]


def _sent(context: Context, *started: StartedJob) -> StartedJob:
    """Remember what a step sent (the last of several), and leave the canary idle after the
    scenario (several settled together)."""
    context.job, context.reply = started[-1], started[-1].reply
    context.add_cleanup(_settle, context, *started)
    return started[-1]


def _settle(context: Context, *started: StartedJob) -> None:
    cancelled = context.canary.settle(*started)
    if cancelled:
        attach_text("clean-up", f"cancelled what the scenario left running: "
                                f"{', '.join(cancelled)}")
    attach_unreported_exchanges(context.canary.api, "HTTP exchanges (clean-up)")


def _start(context: Context, job: JobKind, request: dict) -> StartedJob:
    return _sent(context, context.canary.start(job, request))


def _finish(context: Context, statuses: set[str], timeout: float) -> jobs.Operation:
    return _recorded(context, context.canary.finish(context.job, statuses, timeout=timeout))


def _recorded(context: Context, final: jobs.Operation) -> jobs.Operation:
    context.run.record_job(context.job)
    attach_json(f"{context.job.job.name} operation", final.raw)
    return final


def _deadlines(context: Context):  # type: ignore[no-untyped-def]
    return context.settings.deadlines


# --- starting jobs ---------------------------------------------------------------------------
@when('a training of "{strategy:Strategy}" is started')
def step_start_training(context: Context, strategy: str) -> None:
    # Judged by the Then steps: accepted for a real strategy, refused for an unknown one.
    context.operations_before = context.canary.operations_recorded()
    context.canary.available_worker(TRAINING.worker, timeout=_deadlines(context).worker_free)
    _sent(context, context.canary.send(TRAINING, jobs.training_request(strategy)))


@when('a long training of "{strategy:Strategy}" is started')
@given('a long training of "{strategy:Strategy}" is running')
def step_long_training_running(context: Context, strategy: str) -> None:
    long_training = context.settings.profile.long_training
    _start(context, TRAINING, jobs.training_request(strategy, dates=long_training))
    context.canary.wait_until_running(context.job)


@given('a long training of "{strategy:Strategy}" is making progress')
def step_long_training_progressing(context: Context, strategy: str) -> None:
    step_long_training_running(context, strategy)
    context.canary.wait_for_progress(context.job)


def _trained(context: Context, model: jobs.ModelSpec) -> str:
    """The model's path, training it first unless this run already did."""
    if model not in context.run.trained_models:
        _start(context, TRAINING, model.training_request())
        # A precondition, not a judgement of speed: waited for as long as it makes progress
        # (a fixed deadline failed every training two real-platform runs at once needed).
        _recorded(context, context.canary.completes_while_progressing(context.job))
        # A model the platform says it trained must be there: its absence is its fault. Looked
        # for where the run can see the volume; the models-volume scenario owns the property
        # (declares the need), so a shared model's first training does not.
        if Need.ENGINE in context.settings.capabilities():
            with needs.not_counted():
                step_model_saved(context)
        context.run.trained_models[model] = context.job.model_path()
        context.run.training_results[model] = context.job.final.result_summary
    return context.run.trained_models[model]


def _default_model(strategy: str) -> jobs.ModelSpec:
    return jobs.ModelSpec(strategy, "EURUSD", jobs.TRAINING_PERIOD)


@given('a trained model for "{strategy:Strategy}"')
def step_trained_model(context: Context, strategy: str) -> None:
    _trained(context, _default_model(strategy))


@given('a "{strategy:Strategy}" model trained on {market:Market} over {period:Period}')
def step_model_trained_on(context: Context, strategy: str, market: str,
                          period: jobs.Period) -> None:
    step_model_trained_on_bars(context, strategy, market, BAR_LENGTHS["hourly"], period)


@given('a "{strategy:Strategy}" model trained on {market:Market} {bars:BarLength} bars over '
       '{period:Period}')
def step_model_trained_on_bars(context: Context, strategy: str, market: str, bars: str,
                               period: jobs.Period) -> None:
    context.model = jobs.ModelSpec(strategy, market, period, timeframe=bars)
    _trained(context, context.model)


def _backtest_request(context: Context, strategy: str, **overrides: str) -> dict:
    # Name the model this run trained: the real platform has no "latest model" default.
    model = context.run.trained_models.get(_default_model(strategy))
    return jobs.backtest_request(strategy, **({"model_path": model} if model else {}),
                                 **overrides)


@when('a backtest of "{strategy:Strategy}" is started')
def step_start_backtest(context: Context, strategy: str) -> None:
    _start(context, BACKTEST, _backtest_request(context, strategy))


def _never_trained(strategy: str) -> str:
    return f"/mnt/ktrdr_data/models/{strategy}/never-trained.pt"


@when('a backtest of "{strategy:Strategy}" is started with a model that does not exist')
def step_start_backtest_without_model(context: Context, strategy: str) -> None:
    context.model_path = _never_trained(strategy)
    _start(context, BACKTEST, jobs.backtest_request(strategy, model_path=context.model_path))


@when('a backtest of "{strategy:Strategy}" is started without naming a model')
def step_start_backtest_unnamed_model(context: Context, strategy: str) -> None:
    # The contract's model_path is optional: the platform may refuse it or fail it later.
    context.canary.available_worker(BACKTEST.worker, timeout=_deadlines(context).worker_free)
    _sent(context, context.canary.send(BACKTEST, jobs.backtest_request(strategy)))


@then("the platform answers without a server error")
def step_no_server_error(context: Context) -> None:
    assert_that(context.reply.status, less_than(500), context.reply.brief())


@given("a corrupt model file in the models volume")
def step_corrupt_model(context: Context) -> None:
    context.model_path = context.canary.write_corrupt_model()


@when('a backtest of "{strategy:Strategy}" is started with that model')
def step_start_backtest_with_model(context: Context, strategy: str) -> None:
    _start(context, BACKTEST, jobs.backtest_request(strategy, model_path=context.model_path))


@when("that model is backtested on {market:Market} over {period:Period}")
def step_backtest_model_on(context: Context, market: str, period: jobs.Period) -> None:
    context.known_answer = jobs.KnownAnswer(context.model, market, period)
    _start(context, BACKTEST, jobs.market_request(
        context.model.strategy, market, period, _trained(context, context.model)))
    _finish(context, {"completed"}, _deadlines(context).job_done)


@when("that model is backtested on {market:Market} over {period:Period} at {costs:Costs}")
def step_backtest_model_at_costs(context: Context, market: str, period: jobs.Period,
                                 costs: jobs.Costs) -> None:
    context.known_answer = jobs.KnownAnswer(context.model, market, period)
    context.costs = costs
    _start(context, BACKTEST, jobs.market_request(
        context.model.strategy, market, period, _trained(context, context.model), costs))
    _finish(context, {"completed"}, _deadlines(context).job_done)


@when("that model is backtested on {market:Market} over {period:Period}, where there are no bars")
def step_backtest_model_without_data(context: Context, market: str, period: jobs.Period) -> None:
    context.period = context.canary.period_without_data(period)
    model_path = _trained(context, context.model)
    context.canary.available_worker(BACKTEST.worker, timeout=_deadlines(context).worker_free)
    _sent(context, context.canary.send(BACKTEST, jobs.market_request(
        context.model.strategy, market, period, model_path)))
    if context.job.accepted:
        _finish(context, set(jobs.TERMINAL), _deadlines(context).job_done)


@then("the backtest is refused or fails, naming the period it has no data for")
def step_no_data_named(context: Context) -> None:
    problem = jobs.no_data_problem(context.job, context.period)
    if problem and context.job.final is not None:
        # It ran and ended otherwise: the cause is how it ended, shared with every job ended so.
        raise Finding(problem, root_cause=ending_cause(context.job, context.job.final))
    assert_that(problem, none(), problem or "")


@when("that model is backtested twice on {market:Market} over {period:Period}")
def step_backtest_model_twice(context: Context, market: str, period: jobs.Period) -> None:
    context.backtests = []
    for _ in range(2):
        step_backtest_model_on(context, market, period)
        context.backtests.append(context.job)


@given('a completed backtest of "{strategy:Strategy}"')
def step_completed_backtest(context: Context, strategy: str) -> None:
    step_trained_model(context, strategy)
    _start(context, BACKTEST, _backtest_request(context, strategy))
    _finish(context, {"completed"}, _deadlines(context).job_done)


@given('a failed backtest of "{strategy:Strategy}"')
def step_failed_backtest(context: Context, strategy: str) -> None:
    step_start_backtest_without_model(context, strategy)
    _finish(context, {"failed"}, _deadlines(context).job_done)


@when('a backtest of "{strategy:Strategy}" with a model that does not exist is watched until '
      'it fails')
def step_failing_backtest_watched(context: Context, strategy: str) -> None:
    context.worker_when_done = context.canary.worker_when_done(
        BACKTEST, jobs.backtest_request(strategy, model_path=_never_trained(strategy)),
        on_started=lambda started: _sent(context, started))


@when('a backtest of "{strategy:Strategy}" is watched until it is done')
def step_backtest_watched_to_done(context: Context, strategy: str) -> None:
    step_trained_model(context, strategy)
    context.worker_when_done = context.canary.worker_when_done(
        BACKTEST, _backtest_request(context, strategy),
        on_started=lambda started: _sent(context, started))


@then("the worker that ran it is already listed available when it is seen done")
def step_free_when_done(context: Context) -> None:
    seen = context.worker_when_done
    assert_that(seen.status, equal_to("available"),
                f"{seen.job.operation_id} was seen done while its worker {seen.worker_id} was "
                f"still listed {seen.status}: the worker waits for a health check to be offered "
                "jobs")


@when('another training of "{strategy:Strategy}" is started')
def step_another_training(context: Context, strategy: str) -> None:
    context.operations_before = context.canary.operations_recorded()
    _sent(context, context.canary.send(TRAINING, jobs.training_request(strategy)))


@when('a second training is handed straight to the busy "{worker:WorkerKind}" worker')
def step_straight_to_busy_worker(context: Context, worker: WorkerKind) -> None:
    assert_that(context.job.job.worker, equal_to(worker), "the running job is of another kind")
    context.reply = context.canary.send_to_busy_worker(context.job, jobs.direct_training())


@when('two trainings of "{strategy:Strategy}" are started at the same moment')
def step_two_at_once(context: Context, strategy: str) -> None:
    context.operations_before = context.canary.operations_recorded()
    context.canary.available_worker(TRAINING.worker, timeout=_deadlines(context).worker_free)
    request = jobs.training_request(strategy, dates=context.settings.profile.long_training)
    context.jobs_at_once = context.canary.send_at_once(TRAINING, [request, request])
    _sent(context, *context.jobs_at_once)


@when("an unknown operation is looked up")
def step_unknown_operation(context: Context) -> None:
    context.reply = context.canary.api.operation("op_training_19700101_000000_deadbeef")


@when("the training is cancelled")
def step_cancel_training(context: Context) -> None:
    context.reply = context.canary.cancel(context.job)
    assert_that(context.reply.status, equal_to(200),
                f"cancelling {context.job.operation_id}: {context.reply.brief()}")


@when("the finished operation is cancelled")
def step_cancel_finished(context: Context) -> None:
    context.operations_before = context.canary.operations_recorded()
    context.reply = context.canary.cancel(context.job)


# --- outcomes --------------------------------------------------------------------------------
@then("the training is accepted with an operation id")
def step_accepted(context: Context) -> None:
    assert_that(context.reply.status, equal_to(200), context.reply.brief())
    # The contract's form: op_training_<YYYYMMDD_HHMMSS>_<8 hex>.
    assert_that(context.job.operation_id, matches_regexp(r"^op_training_\d{8}_\d{6}_[0-9a-f]{8}$"),
                f"not a training operation id: {context.reply.brief()}")


@then("the {job:JobKind} completes within {seconds:d} seconds")
@when("the {job:JobKind} completes within {seconds:d} seconds")
def step_completes_within(context: Context, job: JobKind, seconds: int) -> None:
    assert_that(context.job.job, equal_to(job), f"the scenario's job is a {context.job.job.name}")
    _finish(context, {"completed"}, _deadlines(context).bound(seconds))


@then("its results include training and test accuracy")
def step_training_metrics(context: Context) -> None:
    summary = context.job.final.result_summary
    accuracy = context.settings.profile.responses.training_accuracy(summary)
    attach_json("accuracy", accuracy)
    outside = {part: value for part, value in accuracy.items() if not 0 <= value <= 1}
    assert_that(outside, empty(), f"accuracy outside [0, 1]: {accuracy}")


@then("the trained model is in the models volume")
def step_model_saved(context: Context) -> None:
    path, present = context.canary.model_file(context.job.model_path())
    assert_that(present, equal_to(True),
                f"{path} is not in the models volume seen by the backtest worker")


@then("it is watched until it completes, its progress rising and never falling back")
def step_watched_to_completion(context: Context) -> None:
    context.samples = context.canary.watch_to_the_end(context.job)
    context.run.record_job(context.job)
    attach_json("every reading, start to end", context.samples)
    problems = jobs.life_problems(context.samples, ends="completed")
    assert_that(problems, empty(), f"{context.job.operation_id}: {'; '.join(problems)} "
                                   f"(every reading: {jobs.shown(context.samples)})")


@then("its record says when it was created, started once and ended, in that order")
def step_moments_in_order(context: Context) -> None:
    problems = jobs.moment_problems(context.samples)
    assert_that(problems, empty(), f"{context.job.operation_id}: {'; '.join(problems)}")


@then("it ran longer than the backend's orphan timeout without being failed")
def step_outlived_orphan_timeout(context: Context) -> None:
    timeout_s, every_s = context.canary.orphan_timeout()
    # Shorter than the timeout plus two checks (seen at one, failed at the first past the
    # timeout), the sweeper could not have failed it yet: the scenario is not judged.
    if context.job.seconds < timeout_s + 2 * every_s:
        raise RuntimeError(f"the training took {context.job.seconds:.1f} s, not longer than "
                           f"the orphan timeout ({timeout_s:g} s) and two checks "
                           f"({every_s:g} s apart)")
    assert_that(context.job.final.status, equal_to("completed"), context.job.final.describe())


@then('the operation is recorded as "{status:OperationStatus}"')
def step_operation_status(context: Context, status: str) -> None:
    final = context.canary.wait_for(context.job, {status}, timeout=_deadlines(context).status)
    attach_json("operation", final.raw)


@when('its worker\'s late report says it is "{late:OperationStatus}"')
def step_late_report(context: Context, late: str) -> None:
    context.before_report = context.canary.operation(context.job.operation_id)
    context.reply = context.canary.send_late_report(context.job, status=late)


@then("its record is as it was before the report")
def step_record_unchanged(context: Context) -> None:
    after = context.canary.operation(context.job.operation_id)
    assert_that(jobs.record_changes(context.before_report, after), empty(),
                f"{context.job.operation_id} after a late report ({context.reply.brief()})")


@then('it is still recorded as "{status:OperationStatus}"')
def step_still_recorded(context: Context, status: str) -> None:
    # Read once, now: waiting for the status would wait out a sweeper that ends it again.
    assert_that(context.reply.status, less_than(500), f"the late report: {context.reply.brief()}")
    now = context.canary.operation(context.job.operation_id)
    assert_that(now.status if now else None, equal_to(status),
                f"{context.job.operation_id} after a late report ({context.reply.brief()}): "
                f"{jobs.describe(now)}")


@then('the operation is recorded as "{status:OperationStatus}" once the backend\'s orphan '
      'timeout has passed')
def step_status_after_orphan_timeout(context: Context, status: str) -> None:
    deadline, why = context.canary.orphan_deadline()
    attach_text("how long the suite waited", f"{deadline:g} s: {why}")
    final = context.canary.wait_for(context.job, {status}, timeout=deadline)
    attach_json("operation", final.raw)


@then('the "{worker:WorkerKind}" worker stops the job itself and is idle again')
def step_worker_stops_job(context: Context, worker: WorkerKind) -> None:
    assert_that(context.job.job.worker, equal_to(worker), "the job ran on another kind")
    attach_json("the worker's own view", context.canary.worker_stops(context.job))


@then("the request is refused because the strategy is unknown")
def step_refused_unknown_strategy(context: Context) -> None:
    reply, strategy = context.reply, context.job.strategy
    assert_that(reply.status, equal_to(400), f"unknown strategy: {reply.brief()}")
    assert_that(reply.mentions(strategy), equal_to(True),
                f"the refusal does not name {strategy}: {reply.brief()}")


@then("the refusal lists the valid strategies")
def step_refusal_lists_valid(context: Context) -> None:
    unnamed = [s for s in context.canary.strategies() if not context.reply.mentions(s)]
    assert_that(unnamed, empty(), f"the refusal does not name {unnamed}: "
                                  f"{context.reply.brief()}")


@then("no operation is recorded")
@then("no new operation is recorded")
def step_no_operation(context: Context) -> None:
    after = context.canary.operations_recorded()
    assert_that(after, equal_to(context.operations_before),
                f"the operations table went from {context.operations_before} to {after} rows")


@then('it is refused because no "{worker:WorkerKind}" worker is available')
def step_refused_no_worker(context: Context, worker: WorkerKind) -> None:
    reply = context.reply
    assert_that(reply.status, equal_to(503), f"a second job while busy: {reply.brief()}")
    assert_that(reply.detail("worker_type"), equal_to(worker.worker_type),
                f"the refusal does not say which worker type is missing: {reply.brief()}")


@then('the operation records a "{worker:WorkerKind}" worker as the one that ran it')
def step_ran_on_type(context: Context, worker: WorkerKind) -> None:
    worker_id, worker_type = context.canary.worker_that_ran(context.job)
    assert_that(worker_type, not_none(),
                f"the operation names worker {worker_id}, which is not registered")
    assert_that(worker_type, equal_to(worker.worker_type),
                f"{context.job.job.name} ran on {worker_id}, a {worker_type} worker")


@then("a checkpoint of the operation is recorded")
def step_checkpoint_recorded(context: Context) -> None:
    context.canary.checkpoint_recorded(context.job)


@then("the backtest fails with an error naming the model")
def step_backtest_fails_clearly(context: Context) -> None:
    final = context.canary.fails_naming(context.job, context.model_path,
                                        timeout=_deadlines(context).job_done)
    attach_json("backtest operation", final.raw)


@then("the backtest {result:KnownResult}, as the planted market data says")
def step_known_result(context: Context, result: str) -> None:
    metrics = context.canary.backtest_metrics(context.job)
    attach_json("backtest metrics", metrics)
    problem = context.known_answer.problem(metrics, context.settings.profile.responses, result)
    assert_that(problem, none(), problem)


@then("both backtests report the same metrics")
def step_backtests_same(context: Context) -> None:
    first, second = (context.canary.backtest_metrics(job) for job in context.backtests)
    attach_json("backtest metrics, twice", [first, second])
    assert_that(second, equal_to(first), f"the same model and market backtested twice gave "
                                         f"different results: {first} then {second}")


@then("the backtest reports the checksum of the model file it was given")
def step_backtest_checksum(context: Context) -> None:
    reported, on_volume = context.canary.backtest_model_checksums(context.job)
    assert_that(reported, equal_to(on_volume), f"the backtest says it loaded a model with "
                                               f"checksum {reported}; the file it was given "
                                               f"has {on_volume}")


@then("it learned from its strategy's inputs over exactly those bars, as the seeded data says")
def step_learned_from(context: Context) -> None:
    reported, problems = jobs.learned_from_problems(
        context.settings.profile.market_data, context.model,
        context.run.training_results[context.model])
    attach_json("what the training says it learned from", reported)
    assert_that(problems, empty(), f"the training of {context.model}: " + "; ".join(problems))


@then("it is right on most of the rows it trained on and wrong on most of the rows it held out, "
      "where the market turned")
def step_held_out_accuracy(context: Context) -> None:
    problems = jobs.held_out_accuracy_problems(
        context.settings.profile.market_data, context.model, context.settings.profile.responses,
        context.run.training_results[context.model])
    assert_that(problems, empty(), f"the accuracies of the training over {context.model}")


@then("it tested the model on a fifth of the rows those bars gave and trained on the rest")
def step_held_out(context: Context) -> None:
    problem = jobs.held_out_problem(context.run.training_results[context.model])
    assert_that(problem, none(), problem)


@then("every metric it reports is what its trades earn on those bars at those costs")
def step_metrics_earned(context: Context) -> None:
    results = context.canary.results(context.job)
    attach_json("backtest results", results)
    problems = jobs.earned_problems(context.settings.profile.market_data, context.known_answer,
                                    context.costs, results)
    assert_that(problems, empty(), f"the backtest of {context.known_answer}: " +
                "; ".join(problems))


@then("its metrics are within these bounds")
def step_metrics_in_bounds(context: Context) -> None:
    metrics = context.canary.backtest_metrics(context.job)
    attach_json("backtest metrics", metrics)
    problems = jobs.metric_bounds_problems(metrics, jobs.bounds_of(context.table),
                                           context.settings.profile.responses)
    assert_that(problems, empty(), f"backtest metrics out of bounds: {metrics}")


@then('the operations list shows it as a "{status:OperationStatus}" "{kind:OperationKind}" '
      'operation')
def step_listed(context: Context, status: str, kind: JobKind) -> None:
    assert_that(context.canary.listed(context.job), equal_to((status, kind.operation_type)),
                f"how the operations list shows {context.job.operation_id}")


@then("the worker refuses it, saying it is busy")
def step_worker_refuses_busy(context: Context) -> None:
    reply = context.reply
    assert_that(reply.status, is_in([409, 503]), f"a busy worker took a second job: "
                                                 f"{reply.brief()}")
    assert_that(reply.mentions("busy"), equal_to(True), f"the refusal does not say the worker "
                                                         f"is busy: {reply.brief()}")


@then('the "{worker:WorkerKind}" worker still runs the first training')
def step_worker_still_runs(context: Context, worker: WorkerKind) -> None:
    health = context.canary.own_health_of_worker_running(context.job)
    assert_that(health.get("current_operation"), equal_to(context.job.operation_id),
                f"the worker's own health after the second job: {health}")
    context.canary.wait_for(context.job, {"running"}, timeout=_deadlines(context).status)


@then('one is accepted and the other refused because no "{worker:WorkerKind}" worker is '
      'available')
def step_one_accepted(context: Context, worker: WorkerKind) -> None:
    accepted = [j for j in context.jobs_at_once if j.accepted]
    refused = [j.reply for j in context.jobs_at_once if not j.accepted]
    answers = [j.reply.brief(200) for j in context.jobs_at_once]
    assert_that(len(accepted), equal_to(1), f"accepted {len(accepted)} of 2: {answers}")
    assert_that([(r.status, r.detail("worker_type")) for r in refused],
                equal_to([(503, worker.worker_type)]), f"the other answer: {answers}")
    context.job = accepted[0]


@then('the "{worker:WorkerKind}" worker runs the accepted one')
def step_worker_runs_accepted(context: Context, worker: WorkerKind) -> None:
    health = context.canary.own_health_of_worker_running(context.job)
    assert_that(health.get("current_operation"), equal_to(context.job.operation_id),
                f"the worker's own health: {health}")


@then("exactly one new operation is recorded")
def step_one_new_operation(context: Context) -> None:
    after = context.canary.operations_recorded()
    assert_that(after - context.operations_before, equal_to(1),
                f"the operations table went from {context.operations_before} to {after} rows")


@then('it is listed among the "{status:OperationStatus}" "{kind:OperationKind}" operations')
def step_listed_among(context: Context, status: str, kind: JobKind) -> None:
    listing = context.canary.operations_list(status=status, operation_type=kind.operation_type)
    attach_json("operations list", listing.entries)
    assert_that(listing.entry(context.job.operation_id), not_none(),
                f"{context.job.operation_id} is not among the {len(listing.entries)} {status} "
                f"{kind.operation_type} operations listed")
    assert_that(listing.problems(), empty(), f"the list under {listing.filters}")


@then('it is not listed among the "{status:OperationStatus}" operations')
def step_not_listed_among(context: Context, status: str) -> None:
    listing = context.canary.operations_list(status=status)
    assert_that(listing.entry(context.job.operation_id), none(),
                f"{context.job.operation_id} is listed among the {status} operations")
    assert_that(listing.problems(), empty(), f"the list under {listing.filters}")


@then("it is listed among the active operations")
def step_listed_active(context: Context) -> None:
    listing = context.canary.operations_list(active_only=True)
    attach_json("operations list", listing.entries)
    assert_that(listing.entry(context.job.operation_id), not_none(),
                f"{context.job.operation_id} is not among the {len(listing.entries)} active "
                "operations listed")
    assert_that(listing.problems(), empty(), f"the list under {listing.filters}")


@then("it is not listed among the active operations")
def step_not_listed_active(context: Context) -> None:
    listing = context.canary.operations_list(active_only=True)
    assert_that(listing.entry(context.job.operation_id), none(),
                f"{context.job.operation_id} is listed among the active operations")
    assert_that(listing.problems(), empty(), f"the list under {listing.filters}")


@then("the operations list shows it first, each entry created no later than the one before")
def step_list_newest_first(context: Context) -> None:
    listing = context.canary.operations_list()
    attach_json("operations list", listing.entries)
    assert_that(listing.order_problems(context.job.operation_id), empty(),
                f"the whole operations list ({len(listing.entries)} entries), newest first")


@then("the list's totals agree with its entries")
def step_list_totals(context: Context) -> None:
    listing = context.canary.operations_list()
    assert_that(listing.problems(), empty(), f"the whole operations list ({len(listing.entries)}"
                                             f" entries)")


@then("reading the operations list {size:d} at a time gives every entry once, in its order, "
      "from the first, each page counting the whole list")
def step_list_pages(context: Context, size: int) -> None:
    assert_that(context.canary.operations_paging_problems(size), empty(),
                "the operations list read page by page")


@then("its entry in the operations list names the strategy and symbol it was asked for")
def step_entry_names_request(context: Context) -> None:
    entry = context.canary.operations_list().entry(context.job.operation_id) or {}
    asked = {k: context.job.request[k] for k in ("strategy_name", "symbol")}
    assert_that({k: entry.get(k) for k in asked}, equal_to(asked),
                f"the list's entry of {context.job.operation_id}: {entry}")


@then("the platform says the operation was not found")
def step_not_found(context: Context) -> None:
    assert_that(context.reply.status, equal_to(404), context.reply.brief())


@then("the platform refuses, saying the operation is {status:OperationStatus}")
def step_refused_finished(context: Context, status: str) -> None:
    reply, op_id = context.reply, context.job.operation_id
    assert_that(reply.status, equal_to(400), reply.brief())
    # Both: the refusal is about this operation and says what state it is in.
    assert_that(reply.mentions(op_id) and reply.says(status), equal_to(True),
                f"the refusal does not say that {op_id} is {status}: {reply.brief()}")
