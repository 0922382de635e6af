"""Post-hoc uncertainty fitted on validation samples: temperature scaling
(:mod:`~omnifuse.uncertainty.calibration`) and split conformal prediction sets, Mondrian by
availability pattern (:mod:`~omnifuse.uncertainty.conformal`).

Both work on probabilities or logits every model gives, so they sit below
:mod:`omnifuse.training` (a fitted model carries them: ``--set calibrate=temperature``,
``--set conformal=0.9``) and import nothing of omnifuse but its errors and tasks.
"""
