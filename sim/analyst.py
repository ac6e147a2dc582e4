"""What an outside analyst sees: the public counters of the operation's accounts and posts, and
distribution statistics of them, of the real ledger and of the organic world.

Published figures on operations come from platform counters (Google TAG 2024 on DRAGONBRIDGE's
YouTube channels; Goldstein & DiResta 2021 on a Twitter takedown), and those count whoever
produced them: an account's followers include bought ones, its team-mates and a hijacked
account's old audience; a post's views include the operation's own and fake views; its likes,
comments and shares include in-network ones. The real ledger counts organic users only. This
module puts the public counters beside the real ones, per account (``accounts.parquet``) and per
post (``posts.parquet``), and summarises both, and the organic world, as shares and means that a
simulated world (a sample of a platform) can be compared on with published figures, like with
like. Every statistic is defined in docs/outputs.md.

Nothing here changes the simulation: it reads counters at the end of a run. The one draw it
makes (which of a post's in-network engagements are comments rather than likes, with
``operation.self_amp_comment_fraction``) comes from a stream of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .config import LANGUAGES
from .ledger import top_share
from .operation.accounts import ORIGIN_NAMES
from .posts import KIND_NAMES, KIND_OP_POST, KIND_OP_REPLY, KIND_OP_SHARE, KIND_ORGANIC, PostStore

if TYPE_CHECKING:
    from .model import InfluenceModel

VIEW_CAP = 100_000
"""Organic posts' views are tallied exactly up to this many (the rest in one bin)."""


class OrganicPosts:
    """Final counters of organic original posts, tallied as posts leave memory (a post too old
    for any feed can gain nothing more) and, at the end, for the posts still held."""

    def __init__(self) -> None:
        self.views = np.zeros(VIEW_CAP + 1, np.int64)  # histogram of views, capped
        self.n = self.no_comment = self.no_reply_or_reshare = self.engagements = 0

    def add(self, posts: PostStore, ids: np.ndarray) -> None:
        """Tally the organic originals among post indices ``ids``."""
        c = posts.cols
        ids = ids[c["kind"][ids] == KIND_ORGANIC]
        views = c["imp_organic"][ids]
        replies, reshares = c["replies_organic"][ids], c["reshares_organic"][ids]
        self.views += np.bincount(np.minimum(views, VIEW_CAP), minlength=VIEW_CAP + 1)
        self.n += int(ids.size)
        self.no_comment += int((replies == 0).sum())
        self.no_reply_or_reshare += int(((replies == 0) & (reshares == 0)).sum())
        self.engagements += int((c["likes_organic"][ids] + replies + reshares).sum())

    def statistics(self, held: PostStore) -> dict[str, float | None]:
        """Shares and means over every organic original of the run (those still held
        included)."""
        total = OrganicPosts()
        total.views, total.n = self.views.copy(), self.n
        total.no_comment, total.no_reply_or_reshare = self.no_comment, self.no_reply_or_reshare
        total.engagements = self.engagements
        total.add(held, np.arange(held.n))
        if total.n == 0:
            return dict.fromkeys(("organic_posts_zero_views", "organic_posts_lt100_views",
                                  "organic_posts_gt1000_views", "organic_posts_median_views",
                                  "organic_posts_zero_comments",
                                  "organic_posts_no_reply_or_reshare",
                                  "organic_posts_mean_engagements"))
        cum = np.cumsum(total.views)
        return {
            "organic_posts_zero_views": total.views[0] / total.n,
            "organic_posts_lt100_views": cum[99] / total.n,
            "organic_posts_gt1000_views": 1 - cum[1000] / total.n,
            "organic_posts_median_views": float(np.searchsorted(cum, total.n / 2)),
            "organic_posts_zero_comments": total.no_comment / total.n,
            "organic_posts_no_reply_or_reshare": total.no_reply_or_reshare / total.n,
            "organic_posts_mean_engagements": total.engagements / total.n,
        }


def _share(mask: np.ndarray) -> float | None:
    return float(mask.mean()) if mask.size else None


def _mean(x: np.ndarray) -> float | None:
    return float(x.mean()) if x.size else None


def post_table(model: InfluenceModel) -> pd.DataFrame:
    """One row per operation post or planted reply (self-shares are counted on their root):
    its real counters, and its public ones as the platform displays them."""
    c = model.posts.cols
    n = model.posts.n
    kind = c["kind"][:n]
    ids = np.flatnonzero((kind == KIND_OP_POST) | (kind == KIND_OP_REPLY))
    acc = c["author"][ids] - model.pop.n
    likes, resh, reps = (c[k][ids] for k in ("likes_organic", "reshares_organic",
                                              "replies_organic"))
    organic_eng = likes + resh + reps
    # in-network engagements: the reshares are posts of their own; of the rest, a share are
    # comments (drawn here: they change no other counter)
    op_shares = np.flatnonzero(kind == KIND_OP_SHARE)
    shares_op = np.bincount(c["root"][op_shares], minlength=n)[ids]
    parent, imp_op, imp_fake, eng_op = (model.posts.get(k, ids) for k in
                                        ("parent", "imp_op", "imp_fake", "eng_op"))
    rest = np.maximum(eng_op - shares_op, 0)
    rng = np.random.default_rng(np.random.SeedSequence(model.seed, spawn_key=(3,)))
    comments_op = rng.binomial(rest, model.cfg.operation.self_amp_comment_fraction)
    return pd.DataFrame({
        "post_id": c["gid"][ids].astype(np.int64),
        "kind": pd.Categorical.from_codes(kind[ids], KIND_NAMES),
        "account": acc.astype(np.int32),
        "operator": model.operation.accounts.operator[acc],
        "platform": pd.Categorical.from_codes(c["platform"][ids],
                                              [pf.name for pf in model.platforms]),
        "topic": pd.Categorical.from_codes(c["topic"][ids], list(model.pop.community_names)),
        "language": pd.Categorical.from_codes(c["language"][ids], list(LANGUAGES)),
        "quality": c["quality"][ids],
        "timeliness": model.posts.get("timeliness", ids),
        "created_tick": c["created"][ids],
        "thread_post_id": parent,
        "reported_impressions": c["imp_organic"][ids] + imp_op + imp_fake,
        "reported_engagements": organic_eng + eng_op,
        "organic_impressions": c["imp_organic"][ids],
        "organic_engagements": organic_eng,
        "organic_likes": likes,
        "organic_reshares": resh,
        "organic_replies": reps,
        "in_network_engagements": eng_op,
        "public_views": c["imp_organic"][ids] + imp_op + imp_fake,
        "public_likes": likes + rest - comments_op,
        "public_comments": reps + comments_op,
        "public_shares": resh + shares_op,
        "reports": model.posts.get("reports", ids),
    })


def account_table(model: InfluenceModel, posts: pd.DataFrame) -> pd.DataFrame:
    """One row per operation account: who ran it, where, how it came, its fate, and its
    followers at the end (or at removal) by where they came from, beside the public total."""
    acc = model.operation.accounts
    n_platforms = len(model.platforms)
    team = np.where(acc.alive, acc.team_followers(n_platforms), acc.team_followers_at_removal)
    end = np.where(acc.alive, model.steps, acc.removed_tick)
    written = np.bincount(posts["account"], minlength=acc.n)
    public_eng = np.bincount(posts["account"], weights=posts["reported_engagements"],
                             minlength=acc.n)
    real_eng = np.bincount(posts["account"], weights=posts["organic_engagements"],
                           minlength=acc.n)
    return pd.DataFrame({
        "account": np.arange(acc.n, dtype=np.int32),
        "operator": acc.operator,
        "platform": pd.Categorical.from_codes(acc.platform, [pf.name for pf in model.platforms]),
        "origin": pd.Categorical.from_codes(acc.origin, list(ORIGIN_NAMES)),
        "community": pd.Categorical.from_codes(acc.community, list(model.pop.community_names)),
        "language": pd.Categorical.from_codes(acc.language, list(LANGUAGES)),
        "fluency": acc.fluency,
        "hijacked": acc.hijacked,
        "created_tick": acc.created,
        "first_post_tick": acc.first_post,
        "removed_tick": acc.removed_tick,
        "fate": pd.Categorical(np.where(acc.alive, "alive", "removed"),
                               categories=["alive", "removed"]),
        "lifetime_hours": (end - acc.created).astype(np.int32),
        "posts": written.astype(np.int64),
        "fake_followers": acc.fake_followers,
        "followers_real": acc.followers_won,
        "followers_bought": acc.fake_followers,
        "followers_team": team.astype(np.int64),
        "followers_inherited": acc.followers_inherited,
        "followers_public": acc.followers_won + acc.fake_followers + team
        + acc.followers_inherited,
        "engagements_public": public_eng.astype(np.int64),
        "engagements_real": real_eng.astype(np.int64),
    })


def statistics(model: InfluenceModel, posts: pd.DataFrame, accounts: pd.DataFrame
               ) -> dict[str, float | None]:
    """Distribution statistics of the public counters and the real ledger, for operation
    accounts and posts, of exposure, and of the organic world (docs/outputs.md)."""
    s: dict[str, float | None] = {}
    for view, f, e in (("public", accounts["followers_public"], accounts["engagements_public"]),
                       ("real", accounts["followers_real"], accounts["engagements_real"])):
        f = f.to_numpy()
        s[f"op_accounts_zero_followers_{view}"] = _share(f == 0)
        s[f"op_accounts_lt10_followers_{view}"] = _share(f < 10)
        s[f"op_accounts_lt100_followers_{view}"] = _share(f < 100)
        s[f"op_accounts_median_followers_{view}"] = float(np.median(f)) if f.size else None
        s[f"op_accounts_mean_followers_{view}"] = _mean(f)
        s[f"op_accounts_mean_engagements_{view}"] = _mean(e.to_numpy())
    for view, v, e in (("public", posts["public_views"], posts["reported_engagements"]),
                       ("real", posts["organic_impressions"], posts["organic_engagements"])):
        v, e = v.to_numpy(), e.to_numpy()
        s[f"op_posts_zero_views_{view}"] = _share(v == 0)
        s[f"op_posts_lt100_views_{view}"] = _share(v < 100)
        s[f"op_posts_gt1000_views_{view}"] = _share(v > 1000)
        s[f"op_posts_zero_engagements_{view}"] = _share(e == 0)
        s[f"op_posts_mean_engagements_{view}"] = _mean(e)
    exposure = model.ledger.op_exposure
    s["exposure_top10pct_share"] = top_share(exposure, 0.10)  # (top 1%: the ledger's)
    s["exposed_users_share"] = float(np.count_nonzero(exposure) / exposure.size)
    s.update(model.analyst_posts.statistics(model.posts))
    s.update(_organic_users(model))
    return s


def _organic_users(model: InfluenceModel) -> dict[str, float | None]:
    """Activity and followers of organic accounts on the platform with the most members (as
    surveys of one platform's users measure them, e.g. Pew 2019 on Twitter): the share of posts
    written by the most active 10% of its members, their median followers, and the median
    followers and monthly posts of the other 90%."""
    pf = max(model.platforms, key=lambda p: p.members.size)
    posts = model.ledger.posts_by_user[pf.index, pf.members].astype(np.int64)
    followers = np.diff(pf.graph.indptr)[pf.members]
    k = max(1, int(np.ceil(0.1 * posts.size)))
    order = np.argsort(-posts, kind="stable")
    top, rest = order[:k], order[k:]
    per_month = 30 * 24 / max(model.steps, 1)
    return {
        "organic_platform": pf.name,
        "organic_top10pct_posts_share": float(posts[top].sum() / posts.sum()) if posts.sum()
        else None,
        "organic_median_followers": float(np.median(followers)),
        "organic_median_followers_top10pct": float(np.median(followers[top])),
        "organic_median_followers_bottom90pct": float(np.median(followers[rest]))
        if rest.size else None,
        "organic_median_posts_per_month_bottom90pct": float(np.median(posts[rest]) * per_month)
        if rest.size else None,
    }
