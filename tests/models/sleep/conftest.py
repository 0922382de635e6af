"""Helpers of the sleep model tests: schemas, model builders and synthetic STFT sequences."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from omnifuse.data.schema import DatasetSchema
from omnifuse.data.spec import ModalitySpec
from omnifuse.models import get_model
from omnifuse.models.config import entry_config
from omnifuse.utils.mappings import merge

STAGES = ("W", "N1", "N2", "N3", "R")
NAMES = ("medfusesleep", "medfusesleep-base", "early-sleep", "midlate-sleep")
MODALITIES = ("eeg", "emg", "eog")
FRAMES, BINS = 29, 128


def schema(n_modalities: int = 2, task: str = "multiclass", kind: str = "signal") -> DatasetSchema:
    shape = (FRAMES, BINS) if kind == "signal" else (BINS,)
    specs = [ModalitySpec(m, kind, shape=shape) for m in MODALITIES[:n_modalities]]
    classes = STAGES if task == "multiclass" else ("neg", "pos")
    return DatasetSchema(specs, task, classes)


def build(
    name: str, n_modalities: int = 2, user: dict[str, Any] | None = None, **model_options: Any
) -> torch.nn.Module:
    """The registered ``name`` built like the trainer does: entry defaults under the user's config."""
    entry = get_model(name)
    raw = merge(user or {}, {"model": model_options} if model_options else {})
    torch.manual_seed(0)
    return entry.build(schema(n_modalities), entry_config(entry, raw))


def separable_batch(
    n_sequences: int,
    length: int,
    modalities: tuple[str, ...],
    seed: int,
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """Sequences of stages (a sticky random walk) whose STFTs carry a stage-dependent peak.

    Modality k puts a peak of +3 (log units) on bins ``8 + 24 * stage + 4 * k`` (width 3) of
    every frame, over unit Gaussian noise.
    """
    g = torch.Generator().manual_seed(seed)
    stages = torch.empty(n_sequences, length, dtype=torch.long)
    stages[:, 0] = torch.randint(0, len(STAGES), (n_sequences,), generator=g)
    for t in range(1, length):
        switch = torch.rand(n_sequences, generator=g) < 0.3
        stages[:, t] = torch.where(switch, torch.randint(0, len(STAGES), (n_sequences,), generator=g), stages[:, t - 1])
    y = stages.reshape(-1)
    inputs = {}
    for k, m in enumerate(modalities):
        x = torch.randn(len(y), FRAMES, BINS, generator=g)
        centre = 8 + 24 * y + 4 * k
        for offset in (-1, 0, 1):
            x[torch.arange(len(y)), :, centre + offset] += 3.0
        inputs[m] = x
    return inputs, torch.ones(len(y), len(modalities), dtype=torch.bool), y


@pytest.fixture(params=NAMES)
def name(request: pytest.FixtureRequest) -> str:
    return request.param
