"""The four sleep models through the model contract: shapes, blocks, absences, AL output."""

from __future__ import annotations

import pytest
import torch

from omnifuse.models.sleep.alignment import alignment_loss

from .conftest import MODALITIES, build, separable_batch

L = 21


def random_batch(M: int, n_sequences: int = 2, seed: int = 0) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    B = n_sequences * L
    inputs = {m: torch.randn(B, 29, 128, generator=g) for m in MODALITIES[:M]}
    mask = torch.rand(B, M, generator=g) > 0.3
    return inputs, mask


@pytest.mark.parametrize("M", [1, 2, 3])
def test_forward_shapes(name, M):
    model = build(name, M, ms=True, al=True)
    assert model.sequence_length == L
    inputs, mask = random_batch(M)
    model.train()
    out = model(inputs, mask)
    assert out.logits.shape == (2 * L, 5)
    assert set(out.modality_logits) == set(MODALITIES[:M])
    assert all(v.shape == (2 * L, 5) for v in out.modality_logits.values())
    assert all(v.shape == (2 * L, model.arch.d_model) for v in out.embeddings.values())
    assert set(out.embeddings) == set(MODALITIES[:M])
    assert ("align" in out.losses) == (M > 1)
    if out.weights is not None:
        assert out.weights.shape == (2 * L, M)
    out.logits.sum().backward()  # the whole graph is differentiable


def test_batch_must_be_whole_sequences(name):
    model = build(name, 2, sequence_length=5)
    inputs, mask = random_batch(2)
    with pytest.raises(ValueError, match="multiple of sequence_length 5"):
        model({m: x[:12] for m, x in inputs.items()}, mask[:12])
    assert model({m: x[:10] for m, x in inputs.items()}, mask[:10]).logits.shape == (10, 5)


def test_absent_modality_input_is_never_read(name):
    model = build(name, 3, ms=True, al=True).eval()
    inputs, mask = random_batch(3, seed=1)
    mask[:L, 1] = False  # a whole sequence without the second modality, and scattered absences
    out = model(inputs, mask)
    changed = {m: x.clone() for m, x in inputs.items()}
    for j, m in enumerate(MODALITIES[:3]):
        changed[m][~mask[:, j]] = torch.randn(int((~mask[:, j]).sum()), 29, 128) * 50 + 7
    again = model(changed, mask)
    torch.testing.assert_close(again.logits, out.logits)
    for m in out.embeddings:
        j = MODALITIES.index(m)
        torch.testing.assert_close(again.embeddings[m][mask[:, j]], out.embeddings[m][mask[:, j]])


def test_epochs_with_a_single_modality_give_finite_logits(name):
    model = build(name, 3, ms=True, al=True)
    inputs, mask = random_batch(3, seed=2)
    mask[:] = False
    mask[torch.arange(2 * L), torch.arange(2 * L) % 3] = True  # one modality per epoch
    mask[L:, :] = False
    mask[L:, 2] = True  # second sequence: the third modality only
    for training in (True, False):
        model.train(training)
        out = model(inputs, mask)
        assert torch.isfinite(out.logits).all()
        assert all(torch.isfinite(v).all() for v in out.modality_logits.values())
        assert all(torch.isfinite(v).all() for v in out.losses.values())


def test_alignment_loss_in_training_only_and_weighted():
    model = build("medfusesleep", 2, lambda_align=0.1, tau=0.2)
    inputs, mask, _ = separable_batch(2, L, MODALITIES[:2], seed=0)
    mask[::3, 1] = False
    model.train()
    torch.manual_seed(0)
    out = model(inputs, mask)
    stacked = torch.stack([out.embeddings[m] for m in model.modalities], dim=1)
    expected = 0.1 * alignment_loss(stacked, mask, 0.2)
    torch.testing.assert_close(out.losses["align"], expected)
    model.eval()
    assert "align" not in model(inputs, mask).losses
    model.train()
    mask[:, 1] = False  # one modality: nothing to align
    assert "align" not in model(inputs, mask).losses


def test_medfusesleep_weights_cover_present_modalities():
    model = build("medfusesleep", 3).eval()
    inputs, mask = random_batch(3, seed=3)
    mask[0] = torch.tensor([False, False, False])
    weights = model(inputs, mask).weights
    assert torch.all(weights[~mask] == 0)
    any_present = mask.any(dim=1)
    torch.testing.assert_close(weights[any_present].sum(dim=1), torch.ones(int(any_present.sum())))


def test_variants_switch_heads_and_alignment():
    assert build("medfusesleep-base", 2).modality_heads is None
    assert not build("medfusesleep-base", 2).options.al
    full = build("medfusesleep", 2)
    assert full.modality_heads is not None and full.options.al
    assert build("medfusesleep", 2, ms=False).modality_heads is None
    early = build("early-sleep", 2).eval()
    inputs, mask = random_batch(2)
    assert early(inputs, mask).embeddings == {}  # vanilla early fusion has no modality streams
    assert build("midlate-sleep", 2, ms=True).modality_heads is not None
