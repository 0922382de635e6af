"""Patients as JSON -> a dataset with the model's schema: accepted forms and every rejection."""

from __future__ import annotations

import math

import numpy as np
import pytest

from omnifuse.data import DatasetSchema, IrregularSeries, ModalitySpec
from omnifuse.serving.cohort import patients_dataset, placeholder_labels
from omnifuse.serving.patient import InputError, dotted, parse_patient

SCHEMA = DatasetSchema(
    [
        ModalitySpec("omics", "omics", ("g1", "g2", "g3"), (3,)),
        ModalitySpec("clin", "tabular", ("age", "bmi"), (2,)),
        ModalitySpec("vitals", "timeseries", ("HR", "Temp"), (5, 2), time_unit="hours"),
        ModalitySpec("cxr", "image", ("path",), ()),
    ],
    "binary",
    ("neg", "pos"),
)


def problems(modalities, schema=SCHEMA):
    with pytest.raises(InputError) as info:
        parse_patient(modalities, schema)
    return {(tuple(p.loc), p.type): p.msg for p in info.value.problems}


def test_any_subset_in_sorted_order_absent_masked():
    ds = patients_dataset([{"omics": {"g2": 1.5}}, {"clin": [60, None], "vitals": [{"time": 2, "HR": 80}]}], SCHEMA)
    assert ds.modalities == ("clin", "cxr", "omics", "vitals")
    assert ds.mask.tolist() == [[False, False, True, False], [True, False, False, True]]
    omics = ds.data["omics"]
    assert np.isnan(omics[0, [0, 2]]).all() and omics[0, 1] == 1.5  # left-out features are unobserved
    assert np.isnan(omics[1]).all()  # an absent row holds no values
    assert ds.data["clin"][1, 0] == 60 and np.isnan(ds.data["clin"][1, 1])  # null = not measured


def test_time_series_observations_sorted_and_partial():
    ds = patients_dataset(
        [{"vitals": [{"time": 3, "HR": 90}, {"time": 1, "Temp": 37.5, "HR": None}, {"time": 2}]}], SCHEMA
    )
    series = ds.data["vitals"]
    assert isinstance(series, IrregularSeries)
    assert series.lengths.tolist() == [2]  # the observation without any channel value is ignored
    assert series.times[0].tolist() == [1, 3]
    assert np.isnan(series.values[0, 0, 0]) and series.values[0, 0, 1] == 37.5 and series.values[0, 1, 0] == 90


def test_placeholder_labels_carry_the_model_classes():
    labels = placeholder_labels(SCHEMA, 3)
    assert labels.class_names == ("neg", "pos") and labels.y.tolist() == [0, 0, 0]
    multi = placeholder_labels(DatasetSchema(SCHEMA.specs, "multilabel", ("a", "b", "c")), 2)
    assert multi.y.shape == (2, 3) and not multi.y.any()


@pytest.mark.parametrize(
    "modalities, loc, kind",
    [
        ({"genes": [1, 2, 3]}, ("genes",), "unknown_modality"),
        ({"omics": {"g9": 1.0}}, ("omics", "g9"), "unknown_feature"),
        ({"omics": [1.0, 2.0]}, ("omics",), "wrong_length"),
        ({"omics": {"g1": "NaN"}}, ("omics", "g1"), "number_type"),
        ({"omics": {"g1": "1.5"}}, ("omics", "g1"), "number_type"),
        ({"omics": {"g1": True}}, ("omics", "g1"), "number_type"),
        ({"omics": {"g1": math.nan}}, ("omics", "g1"), "finite_number"),
        ({"omics": [1.0, math.inf, 2.0]}, ("omics", 1), "finite_number"),
        ({"omics": {"g1": 1e39}}, ("omics", "g1"), "finite_number"),  # beyond float32
        ({"omics": {"g1": 10**400}}, ("omics", "g1"), "finite_number"),
        ({"omics": {}}, ("omics",), "empty"),
        ({"omics": [None, None, None]}, ("omics",), "empty"),
        ({"omics": 3.0}, ("omics",), "vector_type"),
        ({"omics": [{"time": 1, "g1": 2}]}, ("omics",), "vector_type"),
        ({}, (), "empty"),
        ({"cxr": {"path": 1}}, ("cxr",), "unsupported_kind"),
        ({"vitals": {"HR": 80}}, ("vitals",), "series_type"),
        ({"vitals": [{"HR": 80}]}, ("vitals", 0, "time"), "missing_time"),
        ({"vitals": [{"time": 1, "SpO2": 99}]}, ("vitals", 0, "SpO2"), "unknown_channel"),
        ({"vitals": [{"time": "x", "HR": 80}]}, ("vitals", 0, "time"), "number_type"),
        ({"vitals": [5]}, ("vitals", 0), "observation_type"),
        ({"vitals": []}, ("vitals",), "empty"),
    ],
)
def test_rejections_name_the_field(modalities, loc, kind):
    found = problems(modalities)
    assert (loc, kind) in found, found


def test_every_problem_of_a_request_is_reported_with_its_patient():
    with pytest.raises(InputError) as info:
        patients_dataset(
            [{"omics": [1, 2, 3]}, {"omics": {"g9": 1}, "clin": ["a", 1]}],
            SCHEMA,
            locs=[("patients", 0, "modalities"), ("patients", 1, "modalities")],
        )
    locs = [dotted(p.loc) for p in info.value.problems]
    assert locs == ["patients[1].modalities.omics.g9", "patients[1].modalities.clin[0]"]
    assert "patients[1].modalities.omics.g9" in str(info.value) and "unknown feature" in str(info.value)


def test_close_names_are_suggested():
    msg = problems({"omics": {"G1": 1.0}})[(("omics", "G1"), "unknown_feature")]
    assert "did you mean 'g1'" in msg


def test_not_an_object():
    assert ((), "object_type") in problems([1, 2])
