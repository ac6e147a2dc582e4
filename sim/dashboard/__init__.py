"""Interactive dashboard: a scenario in the browser, built on Mesa's own visualisation.

Why: researchers, trust-and-safety teams and students who use Mesa models expect to open a model
in a browser, move the levers and watch the two ledgers part. The page is Mesa's ``SolaraViz``
(Mesa 3.5, ``mesa.visualization``; Solara serves it), so start, step, pause and reset are Mesa's
own controls and behave as in any Mesa example.

* ``controls``: the scenario, and the controls generated from the pydantic schema
  (``sim.config``), one per lever.
* ``access``: every model is built the way ``sim run`` builds one, ``build_config(scenario,
  overrides)`` then ``InfluenceModel(cfg)``; Reset rebuilds it with the current controls and
  seed. Everything that reads the model's internals is in this one module (MODEL ACCESS), so
  that a renamed attribute is fixed in one place.
* ``figures`` and ``views``: one tab per view, so only the tab in view is redrawn on a step: the
  two ledgers over time and the kidding ratio; who was exposed, by community and platform, and
  moderation's removals; a small sample of the follower network with operation accounts marked;
  one operation post's counters.

This module is the app ``solara run sim.dashboard`` serves (its ``Page``); run it with ``sim
dashboard [CONFIG] [--users N] [--port P]``, which names the scenario and size through the
environment. No submodule defines ``Page``, ``page`` or ``app``: Solara would serve it as a
page of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from .controls import DEFAULT_CONFIG, DEFAULT_USERS, load_scenario  # noqa: E402
from .views import make_page  # noqa: E402

ENV_CONFIG, ENV_USERS = "SIM_DASHBOARD_CONFIG", "SIM_DASHBOARD_USERS"


def _page_from_env():
    path = Path(os.environ.get(ENV_CONFIG, DEFAULT_CONFIG))
    users = int(os.environ.get(ENV_USERS, DEFAULT_USERS))
    return make_page(load_scenario(path), users, path.stem)


Page = _page_from_env() if os.environ.get(ENV_CONFIG) else None
"""What ``solara run sim.dashboard`` serves (``sim dashboard`` sets the environment)."""
