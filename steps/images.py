"""Steps about the images themselves (no canary needed)."""

from behave import given, then
from behave.runner import Context
from hamcrest import (
    assert_that,
    empty,
    equal_to,
    greater_than_or_equal_to,
    has_length,
    is_in,
    is_not,
    less_than,
    less_than_or_equal_to,
    matches_regexp,
    not_none,
)

from canaryspec.image_checks import INIT_PROCESSES, cuda_evidence
from canaryspec.reports.attach import attach_json, attach_table, attach_text
from canaryspec.reports.record import size_reduction_percent
from canaryspec.vocabulary import TESTED_ROLES


@given('the "{role:ImageRole}" image')
def step_the_image(context: Context, role: str) -> None:
    context.image = context.run.images.probe(role, context.run.owner.probe_labels())
    attach_json("image facts", context.image.facts.summary())


@given("the images under test")
def step_images_under_test(context: Context) -> None:
    facts = [context.run.images.get(role) for role in TESTED_ROLES]
    attach_table("image facts", ["role", "tag", "id", "size MB", "user"],
                 [[f.role, f.tag, f.short_id, f"{f.size_mb:.0f}", f.user] for f in facts])


@then('it cannot import "{module}"')
def step_cannot_import(context: Context, module: str) -> None:
    result = context.image.can_import(module)
    assert_that(result.exit_code, is_not(equal_to(0)),
                f"{context.image.facts.tag} contains {module}: `import {module}` succeeded")
    assert_that(result.output, matches_regexp(rf"ModuleNotFoundError: No module named '{module}'"),
                f"{context.image.facts.tag}: import failed for another reason")


@then('no Python on it has "{package}" installed')
def step_no_package_anywhere(context: Context, package: str) -> None:
    # Not only the app's interpreter: a package in any site- or dist-packages is in the image.
    found = context.image.package_dirs(package)
    assert_that(found, empty(), f"{context.image.facts.tag} contains {package}: {found}")
    if package == "torch":
        context.run.images.note_torch(context.image.facts.role, "none")


@then('it can import "{module}"')
def step_can_import(context: Context, module: str) -> None:
    result = context.image.can_import(module)
    assert_that(result.exit_code, equal_to(0),
                f"`import {module}` failed in {context.image.facts.tag}: {result.output}")


@then("its web application imports without torch")
def step_web_app_imports_without_torch(context: Context) -> None:
    module = context.settings.profile.backend_app_module
    result = context.image.imports_without(module, "torch")
    assert_that(result.exit_code, equal_to(0),
                f"{module} did not import cleanly in {context.image.facts.tag}: {result.output}")


@then("it reports its torch version")
def step_reports_torch_version(context: Context) -> None:
    torch = context.image.torch_facts()
    attach_json("torch", torch)
    context.run.images.note_torch(context.image.facts.role, torch.version)
    assert_that(torch.version, matches_regexp(r"^\d+\.\d+"),
                f"torch in {context.image.facts.tag} reports no version")


@then("its torch is not a CUDA build")
def step_no_cuda_build(context: Context) -> None:
    # What the image ships, not what this host has: a CUDA build on a GPU-less host is still one.
    evidence = cuda_evidence(context.image.torch_facts())
    assert_that(evidence, empty(), f"{context.image.facts.tag} ships a CUDA build of torch: "
                                   f"{'; '.join(evidence)}")


@then("CUDA is available in it")
def step_cuda(context: Context) -> None:
    assert_that(context.image.torch_facts().gpu_visible, equal_to(True),
                f"{context.image.facts.tag}: torch sees no GPU")


@then("it carries no database migrations")
def step_no_migrations(context: Context) -> None:
    found = context.image.migration_files()
    attach_json("migrations", {"migration files": found,
                               "alembic library installed": context.image.has_module("alembic")})
    assert_that(found, empty(), f"{context.image.facts.tag} carries migrations: {found}")


@then("its migration scripts lead to one head revision")
def step_one_head(context: Context) -> None:
    heads, answer = context.image.migration_heads()
    attach_text("alembic heads", answer.output)
    assert_that(heads, has_length(1), f"{context.image.facts.tag}: `alembic heads` answered "
                                      f"{answer.exit_code}: {answer.output[:300]}")


@then('it contains the file "{name}" in its working directory')
def step_contains_file(context: Context, name: str) -> None:
    path = f"{context.image.facts.working_dir.rstrip('/')}/{name}"
    assert_that(context.image.has_file(path), equal_to(True),
                f"{context.image.facts.tag} has no {path}")


@then("it runs as a non-root user")
def step_non_root(context: Context) -> None:
    facts = context.image.facts
    assert_that(facts.user, is_not(is_in({"", "root", "0", "0:0"})),
                f"{facts.tag} declares no non-root USER")
    assert_that(context.image.uid().output, is_not(equal_to("0")), f"{facts.tag} runs as uid 0")


@then("its first process is an init")
def step_init_pid1(context: Context) -> None:
    pid1 = context.image.pid1()
    assert_that(pid1, is_in(INIT_PROCESSES),
                f"PID 1 of {context.image.facts.tag} is {pid1!r}, not an init "
                "(signals would not be forwarded nor zombies reaped)")


@then("it declares a healthcheck")
def step_healthcheck(context: Context) -> None:
    assert_that(context.image.facts.healthcheck, not_none(),
                f"{context.image.facts.tag} declares no HEALTHCHECK")


@then("it is within its size budget")
def step_size_budget(context: Context) -> None:
    facts = context.image.facts
    budget = context.settings.size_budget_mb(facts.role)
    assert_that(facts.size_mb, less_than_or_equal_to(budget),
                f"{facts.tag} is {facts.size_mb:.0f} MB, over its {budget:.0f} MB budget")


@then('the "{smaller:ImageRole}" image is smaller than the "{larger:ImageRole}" image')
def step_smaller_than(context: Context, smaller: str, larger: str) -> None:
    small, large = context.run.images.get(smaller), context.run.images.get(larger)
    assert_that(small.size_mb, less_than(large.size_mb),
                f"{small.tag} ({small.size_mb:.0f} MB) is not smaller than "
                f"{large.tag} ({large.size_mb:.0f} MB)")


@then('the "{smaller:ImageRole}" image is smaller than the "{larger:ImageRole}" image by at '
      'least the reduction the split promised')
def step_smaller_by_promise(context: Context, smaller: str, larger: str) -> None:
    small, large = context.run.images.get(smaller), context.run.images.get(larger)
    promised = context.settings.min_size_reduction_percent
    saved = size_reduction_percent(small.size_mb, large.size_mb)
    assert_that(saved, greater_than_or_equal_to(promised),
                f"{small.tag} ({small.size_mb:.0f} MB) is only {saved:.1f}% smaller than "
                f"{large.tag} ({large.size_mb:.0f} MB); the split promised {promised:g}% "
                f"(setting min_size_reduction_percent)")
