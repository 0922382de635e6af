"""Feature attributions: per patient and present modality, what moved the prediction.

Public API::

    from omnifuse.trust.attributions import explain, AttributionBaselines, explanations_document

    answers = explain(fitted, index, top_k=5)          # one PatientAttribution per position
    answers[0].modalities["mrna"].features[0]          # name, value, attribution
    answers[0].absent                                  # modalities without any attribution

Neural models (:mod:`.neural`): **integrated gradients** (Sundararajan, Taly & Yan,
"Axiomatic Attribution for Deep Networks", ICML 2017) with Captum (Kokhlikyan et al. 2020)
from the standardised-zero baseline (the training mean of every present modality), the
availability mask held fixed. Completeness: the attributions sum to
``f(x) - f(baseline)``, where ``f`` is

* binary: the log-odds of the explained class (``logit_k - logit_other``);
* multiclass: the log-probability of the explained class (log-softmax);
* multilabel: the log-odds of the explained label,

and ``f(baseline)`` is what the model says for an average patient with the same
availability; ``delta`` reports how far the numerical integral is from exact. Time series
are reported per channel and per ``(channel, time window)``.

scikit-learn baselines (:mod:`.sklearn`, :mod:`.stack`): **SHAP** (Lundberg & Lee,
NeurIPS 2017): exact tree SHAP for ``sk-hgb``, exact linear SHAP for ``sk-logreg``, the
additive stack for ``sk-stack``; flat features are mapped back to their modality
(:mod:`.layout`).

A modality the patient lacks gets no attribution and is listed in ``absent`` (never a
zero entry). A modality's ``share`` is its absolute attribution (summed over the reported
units: features, channels) over that of all attributed modalities. Only classification
tasks (binary, multiclass, multilabel) are supported; survival models are refused.

Modules: :mod:`.common` (targets, shares, top features), :mod:`.baselines` (the reference
patient, stored with bundles), :mod:`.layout`, :mod:`.neural`, :mod:`.sklearn`,
:mod:`.stack`, :mod:`.dispatch` (:func:`explain`), :mod:`.document` (``explain.json``).
The answer types are the ``explain.json`` document's
(:mod:`omnifuse.evaluation.documents.explanations`).
"""

from omnifuse.evaluation.documents.explanations import (
    ExplanationsDocument,
    Explanation,
    FeatureAttribution,
    ModalityAttribution,
    PatientAttribution,
    WindowAttribution,
)
from omnifuse.trust.attributions.baselines import AttributionBaselines, training_baselines
from omnifuse.trust.attributions.common import DEFAULT_TOP_K, DEFAULT_WINDOW
from omnifuse.trust.attributions.dispatch import attribution_method, check_explainable, explain
from omnifuse.trust.attributions.document import explanations_document, modality_summary
from omnifuse.trust.attributions.layout import flat_feature_layout, flat_values
from omnifuse.trust.attributions.neural import explain_neural, explained_score, integrated_gradients
from omnifuse.trust.attributions.sklearn import explain_sklearn

__all__ = [
    "DEFAULT_TOP_K",
    "DEFAULT_WINDOW",
    "AttributionBaselines",
    "Explanation",
    "ExplanationsDocument",
    "FeatureAttribution",
    "ModalityAttribution",
    "PatientAttribution",
    "WindowAttribution",
    "attribution_method",
    "check_explainable",
    "explain",
    "explain_neural",
    "explain_sklearn",
    "explained_score",
    "explanations_document",
    "flat_feature_layout",
    "flat_values",
    "integrated_gradients",
    "modality_summary",
    "training_baselines",
]
