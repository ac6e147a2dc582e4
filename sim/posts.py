"""Posts as a growable struct of arrays, with per-post counters split by who caused them.

A post id indexes every column. Reshares, cross-posts and replies are posts too; ``root`` points to
the original, and all counters are kept on the root, so an item's visible engagement (used for
ranking and social proof) is the root's total, in-network engagement included.
Authors live in one id space: organic users ``0 .. n_users-1``, troll account ``k`` is
``n_users + k``.
"""

from __future__ import annotations

import numpy as np

KIND_ORGANIC, KIND_RESHARE, KIND_OP_POST, KIND_OP_REPLY, KIND_OP_SHARE = range(5)
KIND_NAMES = ("organic_post", "organic_reshare", "op_post", "op_hijack_reply", "op_self_share")

_COLUMNS: dict[str, tuple[type, int | float]] = {
    # identity and content
    "author": (np.int32, -1),
    "root": (np.int32, -1),
    "parent": (np.int32, -1),  # the item reshared, or the thread a reply was planted under
    "platform": (np.int8, -1),
    "kind": (np.int8, -1),
    "topic": (np.int8, -1),
    "language": (np.int8, -1),
    "is_op": (np.bool_, False),
    "quality": (np.float32, 0.0),
    "timeliness": (np.float32, 1.0),
    "created": (np.int32, 0),
    # counters (meaningful on roots)
    "imp_organic": (np.int32, 0),
    "imp_op": (np.int32, 0),
    "imp_fake": (np.int32, 0),
    "likes_organic": (np.int32, 0),
    "reshares_organic": (np.int32, 0),
    "replies_organic": (np.int32, 0),
    "eng_op": (np.int32, 0),
    "eng_visible": (np.int32, 0),  # organic likes + reshares + replies + in-network engagements
    "reports": (np.int32, 0),
    "hijack_reply": (np.int32, -1),  # newest operation reply planted under this thread
}


def _column(size: int, dtype: type, fill: int | float) -> np.ndarray:
    """A column of ``size`` slots holding ``fill``. Zero-filled columns (most of them: the
    counters) come from ``np.zeros``, whose untouched pages the OS maps lazily, so the spare
    capacity of a grown store costs (almost) no memory until posts fill it."""
    return np.zeros(size, dtype) if fill == 0 else np.full(size, fill, dtype)


class PostStore:
    """Growable columns indexed by post id (capacity grows by a quarter as needed).

    Memory grows with the posts made: about 70 bytes a post (reshares are posts), plus the
    spare capacity (at most a quarter) of the columns whose default is not zero (24 bytes a
    slot)."""

    GROWTH = 1.25

    def __init__(self, capacity: int = 1024) -> None:
        self.n = 0
        self.cols: dict[str, np.ndarray] = {
            k: _column(capacity, dtype, fill) for k, (dtype, fill) in _COLUMNS.items()}

    def __getattr__(self, name: str) -> np.ndarray:
        cols = self.__dict__.get("cols")
        if cols is not None and name in cols:
            return cols[name][: self.n]
        raise AttributeError(name)

    def add(self, **values: np.ndarray | int | float) -> np.ndarray:
        """Append posts; scalar values broadcast. Returns the new post ids."""
        k = max(np.size(v) for v in values.values())
        need = self.n + k
        cap = next(iter(self.cols.values())).size
        if need > cap:
            new_cap = max(need, int(self.GROWTH * cap))
            for name, (dtype, fill) in _COLUMNS.items():  # one column at a time: small peak
                grown = _column(new_cap, dtype, fill)
                grown[: self.n] = self.cols[name][: self.n]
                self.cols[name] = grown
        ids = np.arange(self.n, need, dtype=np.int32)
        for name, v in values.items():
            self.cols[name][self.n: need] = v
        if "root" not in values:
            self.cols["root"][self.n: need] = ids
        self.n = need
        return ids

    def engagements(self, roots: np.ndarray) -> np.ndarray:
        """Visible engagement count of roots: organic and in-network, as a platform shows it."""
        return self.cols["eng_visible"][roots]
