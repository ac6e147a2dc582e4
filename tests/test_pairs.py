"""``benchmarks/pairs.py`` runs one command in two checkouts alternately and compares them pair
by pair: each run in its own checkout, the order alternating, the medians and ratio of the
measure (a field of the command's last JSON line) as the pairs give them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
                       "median_ratio": 2.5, "ratio_range": [2.0, 3.0], "second_lower": 0}
    ran = [Path(p).name for p in log.read_text().split()]
    assert ran == [ROOT.name, "other", "other", ROOT.name, ROOT.name, "other"]
    refused = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "pairs.py"), str(ROOT),
                              str(tmp_path), "--", "true"], capture_output=True, text=True)
    assert refused.returncode == 2 and "not a checkout" in refused.stderr
