"""A proposal for ABC-SMC that keeps importance weights from collapsing in many dimensions.

pyabc proposes a generation's parameters by perturbing particles of the last one with a Gaussian
kernel (a kernel density estimate, Silverman's bandwidth) and weights each accepted particle by
prior / proposal density. With many parameters and a hundred or so particles that mixture is
lumpy, and a few particles take almost all the weight (``benchmarks/abc_weights.py`` measures it
on a toy with a known structure). Mixing the prior into the proposal is defensive importance
sampling (Hesterberg 1995, Technometrics 37:185): a share of proposals comes from the prior and
the proposal density is the same mixture, so the weight prior / proposal can never exceed
1 / share, however lumpy the kernel. The price is that share of proposals, most of them
rejected once the acceptance threshold is tight.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyabc
from pyabc.parameters import Parameter

from .abc import kish


class CollapseSafeKernel(pyabc.MultivariateNormalTransition):
    """pyabc's Gaussian kernel, fitted on equal weights when the importance weights have
    collapsed onto fewer than two effective particles.

    The weighted covariance of a single effective particle is undefined (pyabc's kernel then
    fails deep inside scipy, after the generation is stored). Any proposal keeps importance
    sampling exact as long as the weights use the density the proposals come from, which this
    kernel's ``pdf`` is; only its efficiency changes."""

    def fit(self, X: pd.DataFrame, w: np.ndarray) -> None:
        if len(w) > 1 and kish(w) < 2.0:
            w = np.full(len(w), 1.0 / len(w))
        super().fit(X, w)


class DefensiveTransition(pyabc.transition.Transition):
    """pyabc's Gaussian kernel mixed with the uniform prior on the unit cube.

    Draws use numpy's global generator, as pyabc's own kernels do (pyabc seeds it)."""

    def __init__(self, prior_share: float) -> None:
        if not 0.0 < prior_share < 1.0:
            raise ValueError(f"prior_share must be in (0, 1), got {prior_share}")
        self.prior_share = prior_share
        self.kernel = CollapseSafeKernel()

    def fit(self, X: pd.DataFrame, w: np.ndarray) -> None:
        self.kernel.fit(X, w)

    def rvs_single(self) -> Parameter:
        if np.random.rand() < self.prior_share:  # noqa: NPY002
            u = np.random.rand(self.X.shape[1])  # noqa: NPY002
            return Parameter(dict(zip(self.X.columns, u, strict=True)))
        return self.kernel.rvs_single()

    def pdf(self, x: Any) -> Any:
        if isinstance(x, pd.DataFrame):
            v = x[self.X.columns].to_numpy(dtype=float)
        else:
            v = np.array([x[k] for k in self.X.columns], dtype=float)
        inside = np.all((v >= 0.0) & (v <= 1.0), axis=-1)
        return self.prior_share * inside + (1.0 - self.prior_share) * self.kernel.pdf(x)
