"""DatasetSchema and check_compatible: one error listing every difference."""

from __future__ import annotations

import numpy as np
import pytest

from omnifuse.data import IrregularSeries, Labels, ModalitySpec
from omnifuse.data.schema import DatasetSchema, check_compatible
from omnifuse.errors import DataError


def with_spec(ds, spec, data=None):
    specs = {**ds.specs, spec.name: spec}
    return ds.replace(specs=specs, data={**ds.data, spec.name: ds.data[spec.name] if data is None else data})


def error(schema, ds) -> str:
    with pytest.raises(DataError) as info:
        check_compatible(schema, ds, "runs/x")
    message = str(info.value)
    assert message.startswith("data does not match run 'runs/x'") and "\n" not in message
    return message


def test_schema_of_dataset(tiny):
    schema = tiny.schema
    assert schema == DatasetSchema(list(tiny.specs.values()), "binary", ("neg", "pos"))
    assert schema.modalities == ("clin", "omics", "vitals") == tiny.modalities
    check_compatible(schema, tiny, "run")  # identical data passes


def test_missing_and_extra_modalities(tiny):
    message = error(tiny.schema, tiny.select_modalities(["clin", "vitals"]))
    assert message.endswith("missing modality 'omics'")
    message = error(tiny.select_modalities(["clin"]).schema, tiny)
    assert "extra modality 'omics'; extra modality 'vitals'" in message


def test_renamed_and_reordered_features(tiny):
    renamed = with_spec(tiny, ModalitySpec("omics", "omics", ("g1", "G2", "g4"), (3,)))
    message = error(tiny.schema, renamed)
    assert "omics: 2 missing features (first: g2, g3); omics: 2 unexpected features (first: G2, g4)" in message
    clin = tiny.data["clin"][:, ::-1].copy()
    reordered = with_spec(tiny, ModalitySpec("clin", "tabular", ("bmi", "age"), (2,)), clin)
    message = error(tiny.schema, reordered)
    assert "clin: same features in a different order (first difference at position 0: age vs bmi)" in message


def test_every_difference_in_one_message(tiny):
    ds = with_spec(tiny, ModalitySpec("clin", "omics", ("age", "bmi", "x"), (3,)), np.zeros((6, 3), np.float32))
    ds = ds.select_modalities(["clin", "vitals"]).replace(labels=Labels("multiclass", np.array([0, 1, 2] * 2), "abc"))
    message = error(tiny.schema, ds)
    assert message == (
        "data does not match run 'runs/x' (run vs data): clin: kind tabular vs omics; "
        "clin: 1 unexpected feature (first: x); missing modality 'omics'; task binary vs multiclass"
    )
    relabelled = tiny.replace(labels=Labels("binary", tiny.y, ("no", "yes")))
    assert error(tiny.schema, relabelled).endswith("classes ['neg', 'pos'] vs ['no', 'yes']")


def test_sequences_may_have_other_lengths_but_not_other_units(tiny):
    series = tiny.data["vitals"]
    pad = np.full((6, 4, 2), np.nan, np.float32)
    longer = IrregularSeries(
        np.concatenate([series.values, pad], 1), np.concatenate([series.times, pad[..., 0]], 1), series.lengths
    )
    ds = with_spec(tiny, ModalitySpec("vitals", "timeseries", ("HR", "Temp"), (7, 2), "hours"), longer)
    check_compatible(tiny.schema, ds, "run")
    ds = with_spec(tiny, ModalitySpec("vitals", "timeseries", ("HR", "Temp"), (3, 2), "seconds"))
    assert error(tiny.schema, ds).endswith("vitals: time unit hours vs seconds")


def test_unnamed_vectors_compare_shapes(tiny):
    ds = with_spec(tiny, ModalitySpec("omics", "embedding", (), (3,)))
    schema = DatasetSchema(
        [*ds.specs.values()][:1] + [ModalitySpec("omics", "embedding", (), (4,)), tiny.specs["vitals"]],
        "binary",
        ("neg", "pos"),
    )
    assert error(schema, ds).endswith("omics: shape (4,) vs (3,)")


def test_dataset_without_labels_skips_the_label_check(tiny):
    class Unlabelled:  # a prediction-time dataset: specs, no labels
        specs = tiny.specs
        modalities = tiny.modalities
        labels = None

    check_compatible(tiny.schema, Unlabelled(), "run")
