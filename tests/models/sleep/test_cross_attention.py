"""Cross-modality attention generalised to M modalities, with absent keys masked out."""

from __future__ import annotations

import torch

from omnifuse.models.sleep.cross_attention import CrossModalityAttention
from omnifuse.models.sleep.medfusesleep import received_weights


def make(M: int = 3, d: int = 8) -> CrossModalityAttention:
    torch.manual_seed(0)
    return CrossModalityAttention(M, d, n_heads=2).eval()


def test_absent_keys_do_not_matter():
    cma = make()
    z = torch.randn(2, 5, 3, 8)
    mask = torch.ones(2, 5, 3, dtype=torch.bool)
    mask[0, :, 2] = False
    mask[1, [1, 3], 0] = False
    out, received = cma(z, mask)
    z2 = z.clone()
    z2[~mask] = torch.randn(int((~mask).sum()), 8) * 100
    out2, received2 = cma(z2, mask)
    # the outputs of present (epoch, modality) pairs are unchanged
    torch.testing.assert_close(out2[mask], out[mask])
    torch.testing.assert_close(received2, received)
    assert torch.all(received[0, :, :, 2] == 0)  # nobody attends to the absent modality


def test_a_sequence_with_one_modality_keeps_its_own_features():
    cma = make()
    z = torch.randn(1, 4, 3, 8)
    mask = torch.zeros(1, 4, 3, dtype=torch.bool)
    mask[..., 1] = True
    out, received = cma(z, mask)
    torch.testing.assert_close(out[0, :, 1], cma.norms[1](z[0, :, 1]))
    assert torch.all(received == 0)


def test_received_mass_rows_sum_to_one():
    cma = make()
    z = torch.randn(2, 5, 3, 8)
    mask = torch.ones(2, 5, 3, dtype=torch.bool)
    _, received = cma(z, mask)
    torch.testing.assert_close(received.sum(-1), torch.ones(2, 5, 3))
    assert torch.all(received.diagonal(dim1=-2, dim2=-1) == 0)


def test_weights_are_normalised_over_present_modalities():
    received = torch.tensor(
        [
            [[0.0, 0.7, 0.3], [0.5, 0.0, 0.5], [0.9, 0.1, 0.0]],
            [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
            [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
        ]
    )
    mask = torch.tensor([[1, 1, 1], [1, 1, 0], [0, 0, 1]], dtype=torch.bool)
    w = received_weights(received, mask)
    torch.testing.assert_close(w[0], torch.tensor([1.4, 0.8, 0.8]) / 3)
    torch.testing.assert_close(w[1], torch.tensor([0.5, 0.5, 0.0]))
    torch.testing.assert_close(w[2], torch.tensor([0.0, 0.0, 1.0]))
