"""Answers a clinician can check: operating points, subgroup audits and feature attributions
(temperature scaling and conformal prediction sets are fitted with the model:
:mod:`omnifuse.uncertainty`).

Each module stands alone and works on what every model already gives (probabilities,
logits, the availability pattern of each sample, a fitted model):

* :mod:`~omnifuse.trust.operating_points` - a decision threshold chosen on validation
  samples (Youden, F1, target sensitivity or specificity, fixed) and sensitivity,
  specificity, PPV, NPV, F1, MCC at it, with bootstrap intervals over patients.
* :mod:`~omnifuse.trust.decisions` - operating points through ``benchmark`` (threshold
  chosen on each repeat's validation samples), ``evaluate`` and subgroup columns.
* :mod:`~omnifuse.trust.subgroups` - every metric per subgroup with intervals, the largest
  gaps, equalised-odds and demographic-parity differences (fairlearn); survival: the C-index
  and the other survival metrics per subgroup.
* :mod:`~omnifuse.trust.subgroup_benchmark` - the subgroup audit through ``benchmark``
  (every method, each repeat's test samples, summarised over repeats).
* :mod:`~omnifuse.trust.attributions` - per patient and present modality, the features that
  moved the prediction (integrated gradients for neural models, SHAP / exact linear
  contributions for the scikit-learn baselines).

Layering: this package sits above :mod:`omnifuse.evaluation` (it imports evaluation's
metrics, statistics and documents, models and training) and below :mod:`omnifuse.serving`
(the server explains answers with it, bundles store the attribution baselines); nothing in
evaluation or below imports it. Heavy libraries (captum, shap) are imported inside the
functions that need them.
"""
