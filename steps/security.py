"""Steps about hostile input: requests the platform must refuse (named and generated), and
what the canary must look like after them.

A hostile request is the case on `context.bad_request` with its answer on `context.reply`;
`context.baseline` is what the canary looked like just before (canaryspec.hostile.Baseline);
`context.generated` is a generated run's account (canaryspec.generated.GeneratedRun).
"""

from behave import given, then, when
from behave.runner import Context
from hamcrest import assert_that, empty, equal_to, is_in, is_not

from canaryspec.hostile import judge_refusal
from canaryspec.jobs import BadRequest
from canaryspec.reports.attach import attach_text
from canaryspec.vocabulary import WorkerKind


@when("a request with {case:BadInput} is sent")
def step_hostile_request(context: Context, case: BadRequest) -> None:
    context.bad_request, context.baseline = case, context.canary.baseline()
    context.reply, started = context.canary.send_bad_request(case)
    if started is not None:  # a job a broken platform accepted is not left running
        context.job = started
        context.add_cleanup(context.canary.settle, started)
    if case.worker_id:  # nor a worker it registered offered the next scenario's jobs
        context.add_cleanup(context.canary.settle_registration, case.worker_id)


@then('it is refused, saying "{fragment}"')
def step_refused_saying(context: Context, fragment: str) -> None:
    judge_refusal(context.bad_request, context.reply, fragment)


@then("nothing is recorded")
def step_nothing_recorded(context: Context) -> None:
    problems = context.canary.recorded_since(context.baseline)
    assert_that(problems, empty(), "; ".join(problems))


@then("no service has restarted and the backend is still healthy")
def step_unharmed(context: Context) -> None:
    problems = context.canary.harm_since(context.baseline)
    assert_that(problems, empty(), "; ".join(problems))


@when("the API is sent requests drawn from its own OpenAPI document")
def step_generated_requests(context: Context) -> None:
    context.baseline = context.canary.baseline()
    context.generated = context.canary.run_generated()
    attach_text("generated requests", context.generated.summary())


def _none_of(context: Context, failures: list) -> None:
    """Each failing request attached as a curl command to reproduce it; none may fail."""
    for failure in failures:
        attach_text(f"reproduce: {failure.route} ({failure.mode})", failure.curl)
    assert_that([f.describe() for f in failures], empty(), context.generated.summary())


@then("none of them is answered with a server error")
def step_no_server_error(context: Context) -> None:
    _none_of(context, context.generated.server_errors())


@then("every answer is one its document describes")
def step_answers_documented(context: Context) -> None:
    _none_of(context, context.generated.nonconforming())


@when('a "{worker:WorkerKind}" worker registers at an address where nothing answers')
def step_register_nowhere(context: Context, worker: WorkerKind) -> None:
    context.baseline = context.canary.baseline()
    context.worker_id, context.reply = context.canary.register_where_nothing_answers(worker)


@then("it is never offered jobs, and the registry lets it go")
def step_never_available(context: Context) -> None:
    reply = context.reply
    assert_that(reply.status // 100, is_in([2, 4]), f"the registration: {reply.brief()}")
    assert_that(reply.field("status"), is_not(equal_to("available")),
                f"the registration's answer lists it available: {reply.brief()}")
    if reply.status == 200:  # refused outright is as good
        seen = context.canary.never_available_until_forgotten(context.worker_id)
        attach_text("statuses it was listed with", ", ".join(seen) or "none")


@given("a model file that runs code when it is loaded, in the models volume")
def step_model_that_runs_code(context: Context) -> None:
    context.model_path = context.canary.write_model_that_runs_code()


@then("the code in that model file never ran")
def step_code_never_ran(context: Context) -> None:
    assert_that(context.canary.model_file_ran_code(), equal_to(False),
                f"loading {context.model_path} ran the code it carries (it made its folder on "
                "the models volume): models are loaded with a full pickle load")
