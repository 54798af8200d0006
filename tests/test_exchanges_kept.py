"""A client keeps a bounded number of unreported exchanges and says how many it left out."""

from canaryspec import api
from canaryspec.api import Exchange, PlatformClient


def test_a_long_watch_keeps_the_latest_exchanges_and_counts_the_rest() -> None:
    client = PlatformClient("http://127.0.0.1:9")
    for n in range(api.KEPT_EXCHANGES + 5):
        client._keep(Exchange("GET", f"/op/{n}", None, 200, {}, 1.0))
    assert client.left_out == 5
    kept = client.unreported()
    assert len(kept) == api.KEPT_EXCHANGES
    assert kept[0].url == "/op/5" and kept[-1].url == f"/op/{api.KEPT_EXCHANGES + 4}"
    assert client.unreported() == [] and client.left_out == 0
    client.close()
