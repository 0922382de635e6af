"""explain.json: patients cut to top K, the summary over every feature, model weights beside shares."""

from __future__ import annotations

import numpy as np
import pytest

from omnifuse.evaluation.documents import read_explanations, write_document
from omnifuse.trust.attributions import explain, explanations_document

from .helpers import FAST_SERIES, untrained


def test_document_cuts_to_top_k_and_summarises_every_feature(planted, tmp_path):
    context, test = planted
    fitted = untrained("attention", context, **FAST_SERIES)
    rows = test[:30]
    full = explain(fitted, rows, top_k=None, n_steps=32)
    weights = fitted.predict_details(rows).weights
    assert weights is not None  # attention: per-patient modality weights
    ds = context.dataset.subset(rows)
    doc = explanations_document(full, ds, 2, "integrated_gradients", weights=weights, weights_description="attention")
    path = tmp_path / "explain.json"
    write_document(path, doc)
    again = read_explanations(path)
    assert again == doc and again.n_patients == 30
    for p, a, w in zip(doc.patients, full, weights):
        assert p.modalities.keys() == a.modalities.keys()
        for m, e in p.modalities.items():
            assert e.features == a.modalities[m].features[:2] and e.share == a.modalities[m].share
        assert p.modality_weights == pytest.approx(dict(zip(ds.modalities, w.tolist())))
    for j, m in enumerate(ds.modalities):
        having = [a for a in full if m in a.modalities]
        summary = doc.summary[m]
        assert summary.n_present == len(having) == int(ds.mask[:, j].sum())
        assert summary.mean_share == pytest.approx(np.mean([a.modalities[m].share for a in having]))
        assert summary.mean_weight == pytest.approx(np.mean([w[j] for a, w in zip(full, weights) if m in a.modalities]))
        top = summary.features[0]
        expected = np.mean(
            [next((abs(f.attribution) for f in a.modalities[m].features if f.name == top.name), 0.0) for a in having]
        )
        assert top.mean_abs_attribution == pytest.approx(expected)
        assert top.mean_abs_attribution == max(f.mean_abs_attribution for f in summary.features)
    normalised = [s.mean_weight_normalised for s in doc.summary.values()]
    assert all(0.0 <= v <= 1.0 for v in normalised if v is not None)
