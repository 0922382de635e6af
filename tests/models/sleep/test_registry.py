"""The sleep models are registry entries built from a dataset schema."""

from __future__ import annotations

import pytest

from omnifuse.models import all_models, get_model
from omnifuse.training.config import load_config

from .conftest import NAMES, schema


@pytest.mark.parametrize("name", NAMES)
def test_entry_metadata_and_build_from_schema(name):
    entry = get_model(name)
    assert entry.kind == "model"
    assert entry.paper.startswith("MedFuseSleep (Whitlow et al. 2025)")
    assert entry.description
    model = entry.build(schema(2), load_config(model=entry).model)
    assert model.sequence_length == 21
    assert model.modalities == ("eeg", "emg")
    assert model.n_classes == 5


def test_listed_by_all_models():
    names = {e.name for e in all_models()}
    assert set(NAMES) <= names
