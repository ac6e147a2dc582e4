"""Why the Spamouflage calibration's posterior degenerates: ABC-SMC importance weights in many
dimensions, on a toy problem with a known structure (no simulator involved).

Fourteen parameters with uniform priors on [0, 1], of which four are informative (one
statistic is p0 plus noise, one p1 * p2, one p3 with more noise); 120 particles, 6 generations,
pyabc's quantile thresholds and a fixed Euclidean distance. Prints, for each proposal, the
effective sample size (Kish) of each generation, the simulations run and the last threshold:
pyabc's default Gaussian kernel on the unit cube, the same on logits (no prior boundary), a
kernel twice as wide, the kernel mixed with the prior (a tenth and a quarter of proposals
from the prior: ``sim.calibration.proposal``, the calibration's ``prior_share``), and pyabc's
local kernel (a covariance per particle from its nearest quarter of the population; Filippi
et al. 2013, Stat. Appl. Genet. Mol. Biol. 12:87).
``--unreachable`` observes the first statistic where no parameter can put it (a misfitting
model, as the Spamouflage calibration's is for three of its figures).

    python benchmarks/abc_weights.py [--dims 14] [--particles 120] [--generations 6]
                                     [--variants unit "prior 0.1" ...] [--unreachable]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import numpy as np
import pyabc
from scipy.special import expit

from sim.calibration.proposal import DefensiveTransition

OBSERVED = {"a": 0.9, "b": 0.2, "c": 0.1}
UNREACHABLE = {"a": 1.3, "b": 0.2, "c": 0.1}  # a = p0 + noise, p0 <= 1: the model cannot fit it


VARIANTS = ("unit", "logit", "wide", "prior 0.1", "prior 0.25", "local")


def ess_by_generation(dims: int, particles: int, generations: int, variant: str,
                      observed: dict[str, float] = OBSERVED) -> tuple[list[float], int, float]:
    logit = variant == "logit"
    rv = "logistic" if logit else "uniform"
    prior = pyabc.Distribution(**{f"p{i}": pyabc.RV(rv, 0, 1) for i in range(dims)})

    def model(p: dict) -> dict:
        u = np.array([p[f"p{i}"] for i in range(4)])
        u = expit(u) if logit else u
        noise = np.random.randn(3)  # noqa: NPY002 - pyabc seeds its own workers this way
        return {"a": u[0] + 0.1 * noise[0], "b": u[1] * u[2] + 0.1 * noise[1],
                "c": u[3] + 0.3 * noise[2]}

    if variant.startswith("prior"):
        transition = DefensiveTransition(float(variant.split()[1]))
    elif variant == "local":  # a covariance per particle from its nearest neighbours
        transition = pyabc.LocalTransition()
    else:
        transition = pyabc.MultivariateNormalTransition(scaling=2.0 if variant == "wide" else 1.0)
    abc = pyabc.ABCSMC(model, prior, pyabc.PNormDistance(p=2), population_size=particles,
                       transitions=transition, sampler=pyabc.sampler.SingleCoreSampler())
    with tempfile.TemporaryDirectory() as tmp:
        np.random.seed(1)  # noqa: NPY002
        abc.new(f"sqlite:///{Path(tmp) / 'abc.db'}", observed)
        h = abc.run(max_nr_populations=generations)
        out = []
        for t in range(h.max_t + 1):
            _, w = h.get_distribution(t=t)
            out.append(float(w.sum() ** 2 / (w**2).sum()))
        return out, int(h.total_nr_simulations), float(h.get_all_populations()["epsilon"].iloc[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dims", type=int, default=14)
    ap.add_argument("--particles", type=int, default=120)
    ap.add_argument("--generations", type=int, default=6)
    ap.add_argument("--variants", nargs="+", choices=VARIANTS,
                    default=[v for v in VARIANTS if v != "local"],
                    help="proposals to compare (default: all but the slow local kernel)")
    ap.add_argument("--unreachable", action="store_true",
                    help="observe a = 1.3, which no parameter reaches (a model that misfits)")
    a = ap.parse_args()
    logging.disable(logging.WARNING)
    observed = UNREACHABLE if a.unreachable else OBSERVED
    for variant in a.variants:
        ess, sims, eps = ess_by_generation(a.dims, a.particles, a.generations, variant, observed)
        print(f"{variant:10s} effective sample size by generation: "
              + ", ".join(f"{x:.1f}" for x in ess) + f"; {sims:,} simulations, last "
              f"threshold {eps:.3f}", flush=True)


if __name__ == "__main__":
    main()
