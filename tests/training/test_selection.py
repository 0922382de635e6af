"""Feature selection layers: fitted on training samples only, kept in the bundle."""

from __future__ import annotations

import numpy as np
import pytest

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.labels import Labels
from omnifuse.data.spec import ModalitySpec
from omnifuse.encoders.selection import SelectedEncoder
from omnifuse.errors import ConfigError
from omnifuse.serving import load_bundle
from omnifuse.serving.bundle import save_bundle
from omnifuse.training.fit import SplitContext, fit

FAST = {"max_epochs": 2, "embed_dim": 8, "head_hidden": 8}


def wide_cohort(n: int = 160, width: int = 60, informative: tuple[int, ...] = (7, 42), seed: int = 0):
    """One omics block where only ``informative`` columns carry the label; column 0 has by
    far the largest raw variance but no signal."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, width)).astype(np.float32)
    x[:, 0] *= 100.0
    for c in informative:
        x[:, c] += 2.5 * (y - 0.5)
    other = rng.normal(size=(n, 4)).astype(np.float32)
    specs = [
        ModalitySpec("genes", "omics", tuple(f"g{i}" for i in range(width))),
        ModalitySpec("clin", "tabular", tuple(f"c{i}" for i in range(4))),
    ]
    labels = Labels("binary", y.astype(np.int64), ("no", "yes"))
    ds = MultimodalDataset(
        specs, {"genes": x, "clin": other}, np.ones((n, 2), dtype=bool), labels, [f"s{i}" for i in range(n)]
    )
    return ds


def test_top_k_keeps_the_planted_features():
    ds = wide_cohort()
    context = SplitContext(ds, np.arange(120), np.arange(120, 160))
    fitted = fit("concat", context, {**FAST, "select": {"omics": {"top_k": 2}}})
    assert fitted.history["selected_features"] == {"genes": ["g7", "g42"]}
    assert isinstance(fitted.model.encoders["genes"], SelectedEncoder)
    assert not isinstance(fitted.model.encoders["clin"], SelectedEncoder)


def test_variance_filter_uses_raw_training_variance():
    ds = wide_cohort()
    context = SplitContext(ds, np.arange(120), np.arange(120, 160))
    fitted = fit("concat", context, {**FAST, "select": {"genes": {"variance_keep": 0.02}}})
    assert fitted.history["selected_features"] == {"genes": ["g0"]}


def test_selection_never_sees_validation_or_test_labels():
    ds = wide_cohort()
    train, rest = np.arange(120), np.arange(120, 160)
    y = ds.y.copy()
    y[rest] = 1 - y[rest]  # poisoned labels outside the training part
    poisoned = ds.replace(labels=Labels("binary", y, ds.class_names))
    cfg = {**FAST, "select": {"omics": {"top_k": 5}}}
    a = fit("concat", SplitContext(ds, train, rest), cfg).history["selected_features"]
    b = fit("concat", SplitContext(poisoned, train, rest), cfg).history["selected_features"]
    assert a == b


def test_selected_columns_survive_the_bundle(tmp_path):
    ds = wide_cohort()
    context = SplitContext(ds, np.arange(120), np.arange(120, 160))
    fitted = fit("attention", context, {**FAST, "select": {"omics": {"top_k": 3}}})
    save_bundle(fitted, tmp_path / "b")
    bundle = load_bundle(tmp_path / "b")
    np.testing.assert_array_equal(bundle.model.encoders["genes"].columns, fitted.model.encoders["genes"].columns)
    np.testing.assert_array_equal(
        bundle.fitted(ds).predict_proba(np.arange(120, 160)), fitted.predict_proba(np.arange(120, 160))
    )


@pytest.mark.parametrize(
    "select, message",
    [
        ({"omics": {"top_k": 0}}, "select.omics.top_k"),
        ({"omics": {"topk": 3}}, "select.omics.topk"),
        ({"genes": {"variance_keep": 1.5}}, "select.genes.variance_keep"),
        ({"omic": {"top_k": 3}}, "select.omic: not a modality or modality kind"),
    ],
)
def test_bad_selection_options_name_the_field(select, message):
    ds = wide_cohort()
    with pytest.raises(ConfigError, match=message):
        fit("concat", SplitContext(ds, np.arange(120), np.arange(120, 160)), {**FAST, "select": select})


def test_variance_filter_never_prefers_constant_features():
    ds = wide_cohort()
    x = ds.data["genes"].copy()
    x[:, 0] = 5.0  # constant: the scaler stores std 1 for it, its real variance is 0
    x[:, 1:] *= 0.1  # every other feature has std well below 1
    x[:, 3] *= 30.0
    ds = ds.replace(data={**ds.data, "genes": x})
    context = SplitContext(ds, np.arange(120), np.arange(120, 160))
    fitted = fit("concat", context, {**FAST, "select": {"genes": {"variance_keep": 0.02}}})
    assert fitted.history["selected_features"] == {"genes": ["g3"]}
