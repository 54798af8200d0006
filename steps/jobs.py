"""Steps about training and backtest jobs: starting, watching, cancelling, refusing."""

import json

from behave import given, then, when
from behave.runner import Context
from hamcrest import (
    assert_that,
    contains_string,
    empty,
    equal_to,
    greater_than,
    has_entries,
    has_item,
    has_key,
    is_in,
    matches_regexp,
    not_none,
)

from canaryspec import jobs
from canaryspec.canary import file_exists
from canaryspec.migrations import operation_count
from canaryspec.reporting import attach_json


def _api(context):
    return context.canary.api


def _start(context, job, request):
    started = jobs.start_job(_api(context), context.canary.canary, job, request)
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
    jobs.wait_for_available_worker(_api(context), context.canary.canary, "training", timeout=30)
    context.job = jobs.send_job(_api(context), "training", jobs.training_request(strategy))
    context.jobs.append(context.job)


@when('a long training of "{strategy}" is started')
@given('a long training of "{strategy}" is running')
def step_long_training_running(context: Context, strategy: str) -> None:
    _start(context, "training", jobs.training_request(strategy, long=True))
    jobs.wait_for_operation(_api(context), context.canary.canary, context.job.operation_id,
                            {"running"}, timeout=15, worker_type="training")


@given('a trained model for "{strategy}"')
def step_trained_model(context: Context, strategy: str) -> None:
    model = context.run.trained_models.get(strategy)
    if model and file_exists(context.canary.canary, "backtest-worker", model):
        return
    _start(context, "training", jobs.training_request(strategy))
    final = _finish(context, {"completed"}, 60)
    context.run.trained_models[strategy] = final["result_summary"]["model_path"]


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
    context.missing_model = f"/mnt/ktrdr_data/models/{strategy}/never-trained.pt"
    _start(context, "backtest", jobs.backtest_request(strategy,
                                                      model_path=context.missing_model))


@given('a completed backtest of "{strategy}"')
def step_completed_backtest(context: Context, strategy: str) -> None:
    step_trained_model(context, strategy)
    _start(context, "backtest", _backtest_request(context, strategy))
    _finish(context, {"completed"}, 30)


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
    _finish(context, {"completed"}, seconds)


@then("its results include training and test metrics")
def step_training_metrics(context: Context) -> None:
    summary = context.job.final["result_summary"] or {}
    assert_that(summary, has_entries(training_metrics=has_key("accuracy"),
                                     test_metrics=has_key("accuracy")),
                f"training result_summary lacks metrics: {summary}")


@then("the trained model is in the models volume")
def step_model_saved(context: Context) -> None:
    path = (context.job.final["result_summary"] or {}).get("model_path")
    assert_that(path, not_none(), "the training reported no model_path")
    # Read from the other worker's container: the model is on the shared volume, not local.
    assert_that(file_exists(context.canary.canary, "backtest-worker", path), equal_to(True),
                f"{path} is not in the models volume seen by the backtest worker")


@then("its progress rises while it runs")
def step_progress_rises(context: Context) -> None:
    samples = jobs.watch_progress(_api(context), context.canary.canary, context.job, timeout=60)
    context.run.record_job(context.job)
    attach_json("progress samples", [s.__dict__ for s in samples])
    running = [s for s in samples if s.status == "running" and 0 < s.percentage < 100]
    percentages = [s.percentage for s in running]
    assert_that(len(set(percentages)), greater_than(1),
                f"fewer than two different in-between percentages while running: {samples}")
    assert_that(percentages, equal_to(sorted(percentages)), f"progress went backwards: {samples}")
    assert_that(all(s.current_step for s in running), equal_to(True),
                f"a running reading names no current step: {samples}")


@then('the operation is recorded as "{status}"')
def step_operation_status(context: Context, status: str) -> None:
    step_operation_status_within(context, status, 15)


@then('the operation is recorded as "{status}" within {seconds:d} seconds')
def step_operation_status_within(context: Context, status: str, seconds: int) -> None:
    final = jobs.wait_for_operation(_api(context), context.canary.canary,
                                    context.job.operation_id, {status}, timeout=seconds,
                                    worker_type=jobs.WORKER_OF[context.job.job])
    attach_json("operation", final)


@then('the "{worker_type}" worker becomes available again within {seconds:d} seconds')
def step_worker_free_again(context: Context, worker_type: str, seconds: int) -> None:
    jobs.wait_for_available_worker(_api(context), context.canary.canary, worker_type,
                                   timeout=seconds)


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
    worker_id = op.get("worker_id") or (op.get("metadata") or {}).get("worker_id")
    types = {w["worker_id"]: w["worker_type"] for w in _api(context).workers().body}
    assert_that(worker_id, is_in(types), f"operation ran on an unregistered worker: {op}")
    assert_that(types[worker_id], equal_to(worker_type),
                f"{context.job.job} ran on {worker_id}, a {types[worker_id]} worker")


@then("a checkpoint of the operation is recorded")
def step_checkpoint_recorded(context: Context) -> None:
    jobs.wait_for_checkpoint(context.canary.canary, context.job.operation_id, timeout=15)


@then("the backtest fails with an error naming the missing model")
def step_backtest_fails_clearly(context: Context) -> None:
    final = jobs.finish(_api(context), context.canary.canary, context.job, {"failed"},
                        timeout=30)
    attach_json("backtest operation", final)
    assert_that(final.get("error_message") or "", contains_string(context.missing_model),
                f"the failure does not name the missing model: {jobs.describe(final)}")


@then("its metrics are within these bounds")
def step_metrics_in_bounds(context: Context) -> None:
    # Read through the results endpoint: what a client of the platform gets.
    reply = _api(context).operation_results(context.job.operation_id)
    assert_that(reply.status, equal_to(200), f"backtest results: {reply.brief()}")
    metrics = ((reply.body or {}).get("results") or {}).get("metrics", {})
    attach_json("backtest metrics", metrics)

    def number(cell):
        return float(cell) if cell.strip() else None

    bounds = [(row["metric"], number(row["at least"]), number(row["at most"]))
              for row in context.table]
    assert_that(jobs.metric_bounds_problems(metrics, bounds), empty(),
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
