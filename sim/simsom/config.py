"""SimSoM's configuration section (the ``[simsom]`` table of a scenario)."""

from __future__ import annotations

from typing import Literal

from ..config.base import F, Strict


class SimsomConfig(Strict):
    """SimSoM (Truong, Lou, Flammini & Menczer, PNAS Nexus 3:pgae258, 2024) as a configuration of
    this engine: humans and bad actors on a follower network, feeds of ``sigma`` items, and the
    average quality of human feeds relative to a run without bad actors (docs/simsom.md). When
    ``enabled``, ``sim.run`` runs this model instead of the influence-operation model and every
    other section is ignored except ``run.seed``."""

    enabled: bool = F(False, "Run the SimSoM model (sim/simsom/) instead of the influence-"
                      "operation model.")
    n_humans: int = F(10_000, "Number of human agents.", unit="agents", ge=10, le=200_000,
                      source="Truong et al. 2024: empirical Twitter follower network of ~10^4 "
                      "nodes")
    graph: Literal["chung_lu", "erdos_renyi"] = F(
        "chung_lu", "Human follower graph: directed Chung-Lu with heavy-tailed in-degree (hubs), "
        "or uniform random (erdos_renyi).",
        source="assumption: synthetic stand-in for the paper's empirical network")
    followees_mean: float = F(180.0, "Mean number of humans each human follows (mean out- and "
                              "in-degree of the human graph before duplicate removal).",
                              unit="accounts", gt=0, le=5000,
                              source="our reading of the paper's network: core of a 58,048-node, "
                              "10.5 x 10^6-edge Twitter graph with mean degree kept (~181); "
                              "unverified, see docs/simsom.md")
    followees_sigma: float = F(1.0, "Spread of the number of humans each human follows: "
                               "lognormal shape of the out-degree (0 = Poisson, every human "
                               "reads about followees_mean friends).", ge=0, le=3,
                               source="assumption: friend counts on Twitter are broad; not "
                               "given for the paper's network (docs/simsom.md)")
    popularity_exponent: float = F(2.1, "Tail exponent of human popularity (Pareto fitness): "
                                   "in-degree ~ k^-exponent (chung_lu only).", gt=2, le=10,
                                   source="assumption: typical follower in-degree tail")
    beta: float = F(0.05, "Bad actors as a fraction of the number of humans.", ge=0, le=1,
                    source="Truong et al. 2024; SimSoM code DEFAULT_BETA = 0.05")
    gamma: float = F(0.01, "Infiltration: probability that a human follows a given bad actor.",
                     ge=0, le=1, source="Truong et al. 2024; SimSoM code DEFAULT_GAMMA = 0.01")
    theta: float = F(1.0, "Flooding: copies of each bad-actor message pushed to each follower; "
                     "copies collapse into one feed item whose share count (selection weight) "
                     "is theta.", unit="copies", ge=1, le=10_000,
                     source="Truong et al. 2024; SimSoM code DEFAULT_THETA = 1")
    phi: float = F(0.0, "Deception: probability that a bad-actor message has appeal 1 "
                   "(otherwise a human-like appeal draw).", ge=0, le=1,
                   source="Truong et al. 2024; SimSoM code DEFAULT_PHI = 0")
    bot_followees_mean: float = F(3.0, "Mean number of bad actors each bad actor follows "
                                  "(bad actors follow no humans).", unit="accounts", ge=0,
                                  le=1000, source="SimSoM code: bot random-walk network, k_out=3")
    mu: float = F(0.5, "Probability that an active agent posts a new message rather than "
                  "resharing (always new if its feed is empty).", ge=0, le=1,
                  source="Truong et al. 2024; SimSoM code DEFAULT_MU = 0.5")
    sigma: int = F(15, "Feed size: items kept per agent (youngest first).", unit="items", ge=1,
                   le=256, source="Truong et al. 2024; SimSoM code alpha/sigma = 15")
    lambda_quality: float = F(10.0, "Human message quality has density ~ exp(lambda q) on "
                              "[0, 1] (lambda > 0 favours high quality).", ge=-50, le=50,
                              source="SimSoM result files: 'quality exp q=10' (baseline mean "
                              "quality ~0.90)")
    appeal_exponent: float = F(5.0, "Human message appeal a = 1 - (1-u)^(1/exponent), density "
                               "exponent (1-a)^(exponent-1), independent of quality.", gt=0,
                               le=100, source="SimSoM result files: appeal_exp = 5")
    recency_scale: float = F(0.4, "Recency weight exp(-scale * age^exponent) of a feed item "
                             "in resharing.", ge=0, le=10,
                             source="Truong et al. 2024 after Wu & Huberman 2007")
    recency_exponent: float = F(0.4, "Exponent of age in the recency weight.", gt=0, le=2,
                                source="Truong et al. 2024 after Wu & Huberman 2007")
    activation_fraction: float = F(1.0, "Share of agents acting in a step (1 = all, "
                                   "synchronously, as in the published code).", gt=0, le=1,
                                   source="SimSoM code V4.6: synchronous steps")
    rho: float = F(0.8, "Weight of the previous value in the moving average of quality.", ge=0,
                   le=0.999, source="SimSoM code DEFAULT_RHO = 0.8")
    epsilon: float = F(1e-4, "Convergence: stop when the moving average changes by less than "
                       "this fraction in a step.", gt=0, le=1,
                       source="SimSoM code DEFAULT_EPSILON = 0.0001")
    min_steps: int = F(1, "Steps before convergence may be declared.", unit="steps", ge=1,
                       le=100_000, source="assumption (the published code has no minimum)")
    max_steps: int = F(1000, "Hard cap on steps if convergence is not reached.", unit="steps",
                       ge=1, le=100_000, source="assumption")
    baseline: bool = F(True, "Also run the same seed without bad actors and report "
                       "relative_quality (cached per seed within a process).")


