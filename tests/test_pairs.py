"""``benchmarks/pairs.py`` runs one command in two checkouts alternately and compares them pair
by pair: each run in its own checkout, the order alternating, the medians and ratio of the
measure (a field of the command's last JSON line) as the pairs give them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binom

from benchmarks import pairs  # (the checkout is on the path: tests/conftest.py)

ROOT = Path(__file__).resolve().parents[1]


@given(st.lists(st.floats(0.1, 10.0), min_size=1, max_size=80))
def test_median_interval_is_the_sign_tests_widest_k_with_95_percent_coverage(values) -> None:
    """The interval is the k-th smallest and k-th largest value with k the largest whose
    coverage, 1 - 2 P(B <= k - 1) for B ~ Binomial(n, 1/2), is at least 0.95 (scipy's
    binomial as the reference); none below 6 values, where even the range covers less."""
    n, s = len(values), sorted(values)
    ci = pairs.median_interval(values)
    covers = [1 - 2 * binom.cdf(k - 1, n, 0.5) >= 0.95 for k in range(1, n // 2 + 1)]
    if not any(covers):
        assert ci is None and n < 6
        return
    k = max(k for k, ok in enumerate(covers, start=1) if ok)
    assert ci == [s[k - 1], s[n - k]]
    assert ci[0] <= s[(n - 1) // 2] <= s[n // 2] <= ci[1]  # (it holds the sample median)


def test_pairs_alternate_checkouts_and_compare_their_measures(tmp_path) -> None:
    other = tmp_path / "other"
    (other / "sim").mkdir(parents=True)
    (other / "sim" / "__init__.py").write_text("")
    log = tmp_path / "order.txt"
    # the measure: 2 in this checkout, 3 + k in the other at its k-th run; each run notes where
    # it ran
    probe = (f"import json, os; here = os.getcwd(); open({str(log)!r}, 'a').write(here + ' '); "
             f"k = sum(w.endswith('other') for w in open({str(log)!r}).read().split()); "
             "print('noise'); print(json.dumps({'ms': 3 + k if here.endswith('other') else 2}))")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "pairs.py"), str(ROOT),
                          str(other), "--pairs", "3", "--key", "ms", "--", "python", "-c", probe],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    summary = json.loads(out[-1])
    assert summary == {"pairs": 3, "measure": "ms", "first_median": 2.0, "second_median": 5.0,
                       "median_ratio": 2.5, "ratio_range": [2.0, 3.0],
                       "median_ratio_ci95": None, "second_lower": 0}
    ran = [Path(p).name for p in log.read_text().split()]
    assert ran == [ROOT.name, "other", "other", ROOT.name, ROOT.name, "other"]
    refused = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "pairs.py"), str(ROOT),
                              str(tmp_path), "--", "true"], capture_output=True, text=True)
    assert refused.returncode == 2 and "not a checkout" in refused.stderr
