"""Compiled loops (numba) for the operation: the draws of an acquisition of new accounts.

At 10^7 users an acquisition replaces accounts for thousands of operators, each drawing in turn
(a few numpy calls an operator, tens of microseconds each): 84 ms a call, on one thread. One
compiled pass takes the same numbers from the operation's stream (:mod:`sim.streams`), in the
same order: 19 ms a call with what follows it (docs/performance.md, "An acquisition's draws in
one compiled pass")."""

from __future__ import annotations

import numpy as np
from numba import njit

from ..streams import beta, geometric, integers, next_double


@njit(cache=True)
def acquisition_draws(stream, starts, ends, a, b, lo_u, hi_u, audience_p, platform,
                      n_members):
    """The operation stream's draws for new accounts, operator turn after turn (turn ``t``:
    accounts ``starts[t]:ends[t]``), as :meth:`sim.operation.tactics.Operation.acquire` made
    them with numpy: a turn's ``n`` kind uniforms, then its personas' draws
    (:func:`sim.operation.accounts.draw_personas`: ``n`` community uniforms, ``n`` language
    uniforms, ``n`` fluencies ~ Beta(``a``, ``b``)); then, where ``audience_p`` > 0 and the turn
    has hijacked accounts (kind uniform in [``lo_u``, ``hi_u``)), each one's old-audience size
    (geometric(``audience_p``) - 1) and, platform after platform, a uniform index into that
    platform's ``n_members[p]`` members for each follower of its hijacked accounts, in their
    order. Returns the kind, community and language uniforms and the fluencies (by account),
    and the old audiences as (account, platform, member index) triples."""
    n = platform.size
    kind, community, language = np.empty(n), np.empty(n), np.empty(n)
    fluency = np.empty(n)
    size = np.zeros(n, np.int64)
    pairs = np.empty((max(n, 16), 3), np.int64)
    k = 0
    for t in range(starts.size):
        lo, hi = starts[t], ends[t]
        for i in range(lo, hi):
            kind[i] = next_double(stream)
        for i in range(lo, hi):
            community[i] = next_double(stream)
        for i in range(lo, hi):
            language[i] = next_double(stream)
        for i in range(lo, hi):
            fluency[i] = beta(stream, a, b)
        if audience_p <= 0:
            continue
        for i in range(lo, hi):
            if lo_u <= kind[i] < hi_u:
                size[i] = geometric(stream, audience_p) - 1
        for p in range(n_members.size):
            for i in range(lo, hi):
                if size[i] == 0 or platform[i] != p or n_members[p] == 0:
                    continue
                if k + size[i] > pairs.shape[0]:
                    grown = np.empty((2 * (k + size[i]), 3), np.int64)
                    grown[:k] = pairs[:k]
                    pairs = grown
                for _ in range(size[i]):
                    pairs[k, 0], pairs[k, 1] = i, p
                    pairs[k, 2] = integers(stream, 0, n_members[p])
                    k += 1
    return kind, community, language, fluency, pairs[:k]
