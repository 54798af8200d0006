"""Steps about training and backtest jobs: starting, watching, cancelling, refusing."""

import json

from behave import given, then, when
from behave.runner import Context
from hamcrest import (
    assert_that,
    contains_string,
    empty,
    equal_to,
    has_entries,
    has_item,
    is_in,
    is_not,
    matches_regexp,
    not_none,
)

from canaryspec import jobs
from canaryspec.canary import file_exists
from canaryspec.migrations import operation_count
from canaryspec.reporting import attach_json


def _api(context):
    return context.canary.api


def _deadlines(context):
    return context.settings.deadlines


def _responses(context):
    return context.settings.profile.responses


def _start(context, job, request):
    started = jobs.start_job(_api(context), context.canary.canary, job, request,
                             timeout=_deadlines(context).worker_free)
    context.jobs.append(started)
    context.job = started
    return started


def _count_operations(context):
    context.operations_before = operation_count(context.canary.canary)


def _finish(context, statuses, seconds):
    final = jobs.finish(_api(context), context.canary.canary, context.job, statuses,
                        timeout=seconds)
    context.run.record_job(context.job)
    attach_json(f"{context.job.job} operation", final)
    return final


# --- starting jobs ---------------------------------------------------------------------------
@when('a training of "{strategy}" is started')
def step_start_training(context: Context, strategy: str) -> None:
    _count_operations(context)
    # Judged by the Then steps: accepted for a real strategy, refused for an unknown one.
    jobs.wait_for_available_worker(_api(context), context.canary.canary, "training",
                                   timeout=_deadlines(context).worker_free)
    context.job = jobs.send_job(_api(context), "training", jobs.training_request(strategy))
    context.jobs.append(context.job)


@when('a long training of "{strategy}" is started')
@given('a long training of "{strategy}" is running')
def step_long_training_running(context: Context, strategy: str) -> None:
    _start(context, "training", jobs.training_request(strategy, long=True))
    jobs.wait_for_operation(_api(context), context.canary.canary, context.job.operation_id,
                            {"running"}, timeout=_deadlines(context).job_running,
                            worker_type="training")


@given('a long training of "{strategy}" is making progress')
def step_long_training_progressing(context: Context, strategy: str) -> None:
    step_long_training_running(context, strategy)
    jobs.wait_for_progress(_api(context), context.canary.canary, context.job,
                           timeout=_deadlines(context).progress)


@given('a trained model for "{strategy}"')
def step_trained_model(context: Context, strategy: str) -> None:
    model = context.run.trained_models.get(strategy)
    if model and file_exists(context.canary.canary, "backtest-worker", model):
        return
    _start(context, "training", jobs.training_request(strategy))
    _finish(context, {"completed"}, _deadlines(context).job_done)
    # A model the platform says it trained must be there: its absence is the platform's fault.
    step_model_saved(context)
    context.run.trained_models[strategy] = context.job.final["result_summary"]["model_path"]


def _backtest_request(context, strategy, **overrides):
    # Name the model this run trained: the real platform has no "latest model" default.
    model = context.run.trained_models.get(strategy)
    return jobs.backtest_request(strategy, **({"model_path": model} if model else {}),
                                 **overrides)


@when('a backtest of "{strategy}" is started')
def step_start_backtest(context: Context, strategy: str) -> None:
    _start(context, "backtest", _backtest_request(context, strategy))


@when('a backtest of "{strategy}" is started with a model that does not exist')
def step_start_backtest_without_model(context: Context, strategy: str) -> None:
    context.model_path = f"/mnt/ktrdr_data/models/{strategy}/never-trained.pt"
    _start(context, "backtest", jobs.backtest_request(strategy, model_path=context.model_path))


@given("a corrupt model file in the models volume")
def step_corrupt_model(context: Context) -> None:
    context.model_path = jobs.write_corrupt_model(context.canary.canary)


@when('a backtest of "{strategy}" is started with that model')
def step_start_backtest_with_model(context: Context, strategy: str) -> None:
    _start(context, "backtest", jobs.backtest_request(strategy, model_path=context.model_path))


@given('trained models for "{first}" and "{second}"')
def step_two_trained_models(context: Context, first: str, second: str) -> None:
    context.strategies = [first, second]
    for strategy in context.strategies:
        step_trained_model(context, strategy)


@when("each model is backtested over the same market data")
def step_backtest_each(context: Context) -> None:
    context.backtests = []
    for strategy in context.strategies:
        _start(context, "backtest", _backtest_request(context, strategy))
        _finish(context, {"completed"}, _deadlines(context).job_done)
        context.backtests.append(context.job)


@given('a completed backtest of "{strategy}"')
def step_completed_backtest(context: Context, strategy: str) -> None:
    step_trained_model(context, strategy)
    _start(context, "backtest", _backtest_request(context, strategy))
    _finish(context, {"completed"}, _deadlines(context).job_done)


@when('another training of "{strategy}" is started')
def step_another_training(context: Context, strategy: str) -> None:
    _count_operations(context)
    context.reply = jobs.send_job(_api(context), "training",
                                  jobs.training_request(strategy)).reply


@when("a job is requested with {problem}")
def step_bad_request(context: Context, problem: str) -> None:
    context.bad_request = jobs.BAD_REQUESTS[problem]
    _count_operations(context)
    context.reply = jobs.send_bad_request(_api(context), context.bad_request)


@when("an unknown operation is looked up")
def step_unknown_operation(context: Context) -> None:
    context.reply = _api(context).operation("op_training_19700101_000000_deadbeef")


@when("the training is cancelled")
def step_cancel_training(context: Context) -> None:
    context.reply = _api(context).cancel_operation(context.job.operation_id)
    assert_that(context.reply.status, equal_to(200),
                f"cancelling {context.job.operation_id}: {context.reply.brief()}")


@when("the finished operation is cancelled")
def step_cancel_finished(context: Context) -> None:
    _count_operations(context)
    context.reply = _api(context).cancel_operation(context.job.operation_id)


# --- outcomes --------------------------------------------------------------------------------
@then("the training is accepted with an operation id")
def step_accepted(context: Context) -> None:
    assert_that(context.job.reply.status, equal_to(200), context.job.reply.brief())
    # The contract's form: op_training_<YYYYMMDD_HHMMSS>_<8 hex>.
    assert_that(context.job.operation_id, matches_regexp(r"^op_training_\d{8}_\d{6}_[0-9a-f]{8}$"),
                f"not a training operation id: {context.job.reply.brief()}")


@then("the {job} completes within {seconds:d} seconds")
@when("the {job} completes within {seconds:d} seconds")
def step_completes_within(context: Context, job: str, seconds: int) -> None:
    _finish(context, {"completed"}, _deadlines(context).bound(seconds))


@then("its results include training and test metrics")
def step_training_metrics(context: Context) -> None:
    accuracy = _responses(context).training_accuracy(context.job.final["result_summary"] or {})
    attach_json("accuracy", accuracy)


@then("the trained model is in the models volume")
def step_model_saved(context: Context) -> None:
    path = (context.job.final["result_summary"] or {}).get("model_path")
    assert_that(path, not_none(), "the training reported no model_path")
    model_file = _responses(context).model_file_of(path)
    # Read from the other worker's container: the model is on the shared volume, not local.
    assert_that(file_exists(context.canary.canary, "backtest-worker", model_file), equal_to(True),
                f"{model_file} is not in the models volume seen by the backtest worker")


@then("its progress rises while it runs")
def step_progress_rises(context: Context) -> None:
    samples = jobs.watch_progress_rise(_api(context), context.canary.canary, context.job,
                                       timeout=_deadlines(context).progress)
    attach_json("progress samples", [s.__dict__ for s in samples])
    percentages = [s.percentage for s in samples if s.status == "running"]
    assert_that(percentages, equal_to(sorted(percentages)), f"progress went backwards: {samples}")


@then('the operation is recorded as "{status}"')
def step_operation_status(context: Context, status: str) -> None:
    _wait_for_status(context, status, _deadlines(context).status)


@then('the operation is recorded as "{status}" within {seconds:d} seconds')
def step_operation_status_within(context: Context, status: str, seconds: int) -> None:
    _wait_for_status(context, status, _deadlines(context).bound(seconds))


def _wait_for_status(context, status, timeout):
    final = jobs.wait_for_operation(_api(context), context.canary.canary,
                                    context.job.operation_id, {status}, timeout=timeout,
                                    worker_type=jobs.WORKER_OF[context.job.job])
    attach_json("operation", final)


@then('the "{worker_type}" worker stops the job itself and is idle again')
def step_worker_stops_job(context: Context, worker_type: str) -> None:
    view = jobs.wait_for_worker_to_stop(context.canary.canary, worker_type,
                                        context.job.operation_id,
                                        timeout=_deadlines(context).cancel)
    attach_json("the worker's own view", view)


@then("the request is refused because the strategy is unknown")
def step_refused_unknown_strategy(context: Context) -> None:
    reply = context.job.reply
    assert_that(reply.status, equal_to(400), f"unknown strategy: {reply.brief()}")
    strategy = context.job.request["strategy_name"]
    assert_that(json.dumps(reply.body), contains_string(strategy),
                f"the refusal does not name {strategy}: {reply.brief()}")


@then("the refusal lists the valid strategies")
def step_refusal_lists_valid(context: Context) -> None:
    text = json.dumps(context.job.reply.body)
    for name in jobs.strategy_names(_api(context)):
        assert_that(text, contains_string(name), f"the refusal does not name {name}: {text}")


@then("no operation is recorded")
@then("no new operation is recorded")
def step_no_operation(context: Context) -> None:
    after = operation_count(context.canary.canary)
    assert_that(after, equal_to(context.operations_before),
                f"the operations table went from {context.operations_before} to {after} rows")


@then('it is refused, saying "{fragment}"')
def step_refused_saying(context: Context, fragment: str) -> None:
    reply, expected = context.reply, context.bad_request.status
    assert_that(reply.status, equal_to(expected), f"expected {expected}: {reply.brief()}")
    assert_that(json.dumps(reply.body), contains_string(fragment),
                f"the refusal does not say {fragment!r}: {reply.brief()}")


@then("it is refused because no training worker is available")
def step_refused_no_worker(context: Context) -> None:
    reply = context.reply
    assert_that(reply.status, equal_to(503), f"second training while busy: {reply.brief()}")
    detail = reply.body.get("detail") if isinstance(reply.body, dict) else None
    assert_that(detail, has_entries(worker_type="training"),
                f"the refusal does not say which worker type is missing: {reply.brief()}")


@then('the operation records a "{worker_type}" worker as the one that ran it')
def step_ran_on_type(context: Context, worker_type: str) -> None:
    op = context.job.final or jobs.read_operation(_api(context), context.job.operation_id)
    worker_id = _responses(context).worker_of(op)
    types = {w["worker_id"]: w["worker_type"] for w in _api(context).workers().body}
    assert_that(worker_id, is_in(types),
                f"the operation names worker {worker_id}, which is not registered (registered: "
                f"{types})")
    assert_that(types[worker_id], equal_to(worker_type),
                f"{context.job.job} ran on {worker_id}, a {types[worker_id]} worker")


@then("a checkpoint of the operation is recorded")
def step_checkpoint_recorded(context: Context) -> None:
    jobs.wait_for_checkpoint(context.canary.canary, context.job.operation_id,
                             timeout=_deadlines(context).checkpoint)


@then("the backtest fails with an error naming the model")
def step_backtest_fails_clearly(context: Context) -> None:
    final = jobs.finish(_api(context), context.canary.canary, context.job, {"failed"},
                        timeout=_deadlines(context).job_done)
    attach_json("backtest operation", final)
    assert_that(final.get("error_message") or "", contains_string(context.model_path),
                f"the failure does not name the model: {jobs.describe(final)}")


@then("the two backtests report different results")
def step_backtests_differ(context: Context) -> None:
    results = [jobs.backtest_metrics(_api(context), job.operation_id)
               for job in context.backtests]
    attach_json("backtest metrics by model", dict(zip(context.strategies, results, strict=True)))
    assert_that(results[0], is_not(equal_to(results[1])),
                f"backtests of {' and '.join(context.strategies)} gave the same results: the "
                f"backtest does not depend on its model ({results[0]})")


@then("its metrics are within these bounds")
def step_metrics_in_bounds(context: Context) -> None:
    metrics = jobs.backtest_metrics(_api(context), context.job.operation_id)
    attach_json("backtest metrics", metrics)

    def number(cell):
        return float(cell) if cell.strip() else None

    bounds = [(row["metric"], number(row["at least"]), number(row["at most"]))
              for row in context.table]
    assert_that(jobs.metric_bounds_problems(metrics, bounds, _responses(context)), empty(),
                f"backtest metrics out of bounds: {metrics}")


@then('the operations list shows it as a "{status}" "{operation_type}" operation')
def step_listed(context: Context, status: str, operation_type: str) -> None:
    reply = _api(context).operations(operation_type=operation_type, limit=50)
    listed = reply.body.get("data", []) if isinstance(reply.body, dict) else []
    assert_that(listed, has_item(has_entries(operation_id=context.job.operation_id,
                                             operation_type=operation_type, status=status)),
                f"{context.job.operation_id} not listed as {status} {operation_type}: "
                f"{reply.brief()}")


@then("the platform says the operation was not found")
def step_not_found(context: Context) -> None:
    assert_that(context.reply.status, equal_to(404), context.reply.brief())


@then("the platform refuses, saying it is already finished")
def step_refused_finished(context: Context) -> None:
    assert_that(context.reply.status, equal_to(400), context.reply.brief())
    assert_that(json.dumps(context.reply.body), contains_string("completed"),
                context.reply.brief())
