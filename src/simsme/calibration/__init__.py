"""Calibration and validation: targets as data, ``simsme check-model``, ``simsme calibrate``, and
the generated parameter table of docs/model.md.

* :mod:`simsme.calibration.targets`: MODEL.md section 7 targets (``simsme/data/targets.yaml``);
* :mod:`simsme.calibration.statistics`: per-replication statistics the targets use;
* :mod:`simsme.calibration.check`: running a scenario and its variants against the targets;
* :mod:`simsme.calibration.abc`: the joint posterior of the unsourced parameters (ABC-SMC);
* :mod:`simsme.calibration.posterior`: priors and posterior ensembles;
* :mod:`simsme.calibration.paramtable`: the parameter table of docs/model.md.
"""
