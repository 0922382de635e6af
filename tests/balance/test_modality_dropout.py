"""Modality dropout: never drops all of a sample's modalities, realises its rate, blanks rows."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from omnifuse.balance import ModalityDropout, blank_rows
from omnifuse.data.collate import SeriesBatch
from omnifuse.errors import ConfigError


@st.composite
def masks_and_p(draw: st.DrawFn) -> tuple[torch.Tensor, float, int]:
    m = draw(st.integers(1, 6))
    b = draw(st.integers(1, 40))
    bits = draw(st.lists(st.booleans(), min_size=b * m, max_size=b * m))
    p = draw(st.floats(0.0, 0.99))
    seed = draw(st.integers(0, 2**31 - 1))
    return torch.tensor(bits, dtype=torch.bool).view(b, m), p, seed


@settings(max_examples=200, deadline=None)
@given(masks_and_p())
def test_never_drops_all_and_only_drops_present(case: tuple[torch.Tensor, float, int]) -> None:
    mask, p, seed = case
    md = ModalityDropout(p=p)
    new = md.draw_mask(mask, torch.full((mask.shape[1],), p), torch.Generator().manual_seed(seed))
    assert new.shape == mask.shape and new.dtype == torch.bool
    assert not (new & ~mask).any()  # nothing absent becomes present
    had_any = mask.any(dim=1)
    assert torch.equal(new.any(dim=1), had_any)  # rows with data keep at least one modality


def test_realises_the_rate() -> None:
    m, b, p = 5, 20000, 0.3
    mask = torch.ones(b, m, dtype=torch.bool)
    new = ModalityDropout(p=p).draw_mask(mask, torch.full((m,), p), torch.Generator().manual_seed(0))
    rate = 1 - new.float().mean().item()
    # the keep-one rule restores one modality in the rows where all m were drawn (prob p^m)
    expected = p - p**m / m
    assert rate == pytest.approx(expected, abs=0.01)
    # per-modality rates, and the kept modality of emptied rows is uniform
    per = 1 - new.float().mean(dim=0)
    assert torch.allclose(per, torch.full((m,), expected), atol=0.015)


def test_per_modality_probabilities() -> None:
    md = ModalityDropout(p={"b": 0.5})
    probs = md.probabilities(("a", "b", "c"))
    assert probs.tolist() == [0.0, 0.5, 0.0]
    mask = torch.ones(4000, 3, dtype=torch.bool)
    new = md.draw_mask(mask, probs, torch.Generator().manual_seed(1))
    assert new[:, 0].all() and new[:, 2].all()
    assert (1 - new[:, 1].float().mean().item()) == pytest.approx(0.5, abs=0.03)
    with pytest.raises(ConfigError, match="unknown modalities"):
        ModalityDropout(p={"zzz": 0.5}).probabilities(("a", "b"))


def test_transform_batch_blanks_dropped_rows_without_touching_the_input() -> None:
    torch.manual_seed(0)
    b = 64
    series = SeriesBatch(
        torch.ones(b, 3, 2), torch.ones(b, 3, 2, dtype=torch.bool), torch.ones(b, 3), torch.ones(b, 3, dtype=torch.bool)
    )
    batch = {
        "inputs": {"a": torch.ones(b, 4), "b": series, "c": ["text"] * b},
        "mask": torch.ones(b, 3, dtype=torch.bool),
        "y": torch.zeros(b, dtype=torch.long),
        "index": torch.arange(b),
    }
    md = ModalityDropout(p=0.5)
    out = md.transform_batch(batch, SimpleNamespace(modalities=("a", "b", "c")))
    assert batch["mask"].all() and batch["inputs"]["a"].eq(1).all() and batch["inputs"]["b"].observed.all()
    dropped = ~out["mask"]
    assert dropped.any() and out["mask"].any(dim=1).all()
    assert out["inputs"]["a"][dropped[:, 0]].eq(0).all() and out["inputs"]["a"][~dropped[:, 0]].eq(1).all()
    s = out["inputs"]["b"]
    assert not s.observed[dropped[:, 1]].any() and not s.step_mask[dropped[:, 1]].any()
    assert s.values[dropped[:, 1]].eq(0).all() and s.observed[~dropped[:, 1]].all()
    texts = np.array(out["inputs"]["c"])
    assert (texts[dropped[:, 2].numpy()] == "").all() and (texts[~dropped[:, 2].numpy()] == "text").all()
    rates = md.realised_rates()
    assert set(rates) == {"a", "b", "c"}
    assert rates["a"] == pytest.approx(dropped[:, 0].float().mean().item())


def test_zero_probability_is_identity() -> None:
    batch = {
        "inputs": {"a": torch.ones(3, 2)},
        "mask": torch.ones(3, 1, dtype=torch.bool),
        "y": torch.zeros(3),
        "index": torch.arange(3),
    }
    assert ModalityDropout(p=0.0).transform_batch(batch, SimpleNamespace(modalities=("a",))) is batch


def test_blank_rows_unknown_type_unchanged() -> None:
    obj = object()
    assert blank_rows(obj, torch.tensor([True])) is obj
