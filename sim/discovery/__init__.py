"""Scenario discovery: in which region of the sampled space does an outcome cross a threshold?

A sweep samples uncertain parameters and tactic levers; scenario discovery asks which simple
region of that space holds most of the runs of interest (here: the operation breaks out, or its
numbers are roughly honest). The standard method is PRIM, the Patient Rule Induction Method
(Friedman & Fisher 1999), as used for scenario discovery by Bryant & Lempert (2010,
doi:10.1016/j.techfore.2009.08.002) and implemented in the EMA Workbench (Kwakkel 2017,
doi:10.1016/j.envsoft.2017.06.054), whose implementation this package wraps rather than
rewrites.

* ``boxes``: which runs are of interest (``Target``), a factor's sampled range (``Scale``), and
  the results: the boxes of a peeling trajectory and their statistics;
* ``prim``: running PRIM and choosing a box (``discover``, ``discover_results``);
* ``what_if``: the smallest change of a base point that lands in a box
  (``what_would_it_take``), and the base point and sampled ranges of an experiment;
* ``outputs``: tables, JSON and the figure (``write``, ``figure``), and the figures of an
  experiment's ``[[analysis]]`` sections for ``sim plot``.

The analysis itself is model-independent (tested on a synthetic function with a known box); only
``what_if.base_point`` and ``what_if.ranges_of`` read an experiment.
"""
