"""Calibration: fitting a scenario's uncertain parameters to observed figures with ABC-SMC.

``spec`` reads and checks a calibration file (priors, targets, inference settings) and defines
the summary statistics; ``abc`` runs the inference with pyabc (resumable history, local
processes or Dask); ``posterior`` turns the result into estimates, ``calibrated.toml`` and
parameter draws for sweeps; ``figures`` draws marginals, pairs and the posterior-predictive
check; ``choice`` chooses between competing models (``[models.NAME]``: ABC-SMC model
selection); ``command`` is ``sim calibrate``. The method and file format are in docs/calibration.md.
"""
