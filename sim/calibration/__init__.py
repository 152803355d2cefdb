"""Calibration: read a team's call log and estimate scenario parameters from it.

Layer: above ``sim.scenario``, ``sim.analysis`` and ``sim.store``, below
``sim.experiment``. Modules here may import ``sim.errors``, ``sim.scenario``,
``sim.analysis`` and ``sim.store``; never ``sim.model`` (the model's rules appear here
only as the likelihoods of the estimators, each naming the rule of docs/model.md it
inverts) and never ``sim.experiment``, ``sim.present`` or ``cli``. Everything that
needs simulation runs (simulating a fitted scenario back, the ``calibrate`` search)
lives in :mod:`sim.experiment.calibrate`.

- :mod:`sim.calibration.calllog`: the generic call-log schema and its strict reader;
- :mod:`sim.calibration.adapters`: other formats (dialsim's own ``calls.parquet``)
  turned into the generic schema;
- :mod:`sim.calibration.estimate`: the estimators (likelihood fits with intervals);
- :mod:`sim.calibration.write`: the fitted scenario as a commented TOML file.
"""
