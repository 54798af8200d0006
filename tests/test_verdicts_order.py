"""Several variants judged at once start longest first and are reported in catalogue order."""

from canaryspec import verdicts


def test_faults_then_whole_features_then_named_scenarios() -> None:
    catalogue = verdicts.load_catalog()
    order = verdicts.longest_first(catalogue)
    assert sorted(v.name for v in order) == sorted(v.name for v in catalogue)
    ranks = [2 * verdicts.waits_on_timers(v) + (not v.names) for v in order]
    assert ranks == sorted(ranks, reverse=True)
    named_only = [v for v in catalogue if v.names and not verdicts.waits_on_timers(v)]
    assert [v for v in order if v in named_only] == named_only


def test_a_variant_that_leaves_the_faults_out_is_not_started_with_them() -> None:
    catalogue = {v.name: v for v in verdicts.load_catalog()}
    order = [v.name for v in verdicts.longest_first(list(catalogue.values()))]
    fault_variants = [n for n, v in catalogue.items() if v.tags == "@faults"]
    assert catalogue["slow-worker-start"].tags == "@workers and not @faults"
    assert order.index("slow-worker-start") > max(order.index(n) for n in fault_variants)
