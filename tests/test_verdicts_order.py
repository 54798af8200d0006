"""Several variants judged at once start longest first and are reported in catalogue order."""

from canaryspec import verdicts


def test_faults_then_whole_features_then_named_scenarios() -> None:
    catalogue = verdicts.load_catalog()
    order = verdicts.longest_first(catalogue)
    assert sorted(v.name for v in order) == sorted(v.name for v in catalogue)
    ranks = [2 * ("@faults" in v.tags) + (not v.names) for v in order]
    assert ranks == sorted(ranks, reverse=True)
    named_only = [v for v in catalogue if v.names and "@faults" not in v.tags]
    assert [v for v in order if v in named_only] == named_only
