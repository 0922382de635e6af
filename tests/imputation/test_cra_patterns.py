import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from omnifuse.imputation.cra import CascadeResidualAutoencoder
from omnifuse.imputation.patterns import all_combinations, artificial_availability, proper_subsets


def test_cascade_sums_residuals_as_in_eq_4_and_5():
    torch.manual_seed(0)
    cra = CascadeResidualAutoencoder(width=6, n_blocks=3, hidden=5, latent=2)
    v = torch.randn(4, 6)
    out, latents = cra(v)
    # recompute by hand: dz1 = phi1(v), dz2 = phi2(v + dz1), dz3 = phi3(v + dz1 + dz2)
    dz1, c1 = cra.blocks[0](v)
    dz2, c2 = cra.blocks[1](v + dz1)
    dz3, c3 = cra.blocks[2](v + dz1 + dz2)
    torch.testing.assert_close(out, v + dz1 + dz2 + dz3)
    for got, want in zip(latents, (c1, c2, c3)):
        torch.testing.assert_close(got, want)
    assert cra.latent_dim == 6


def test_combinations_cover_table_1():
    combos = all_combinations(3)
    assert combos.shape == (7, 3)
    assert {tuple(r.tolist()) for r in combos} == {
        (True, False, False),
        (False, True, False),
        (False, False, True),
        (True, True, False),
        (True, False, True),
        (False, True, True),
        (True, True, True),
    }
    assert proper_subsets(3).shape == (6, 3)  # the six (available, missing) pairs of table 1
    assert all_combinations(5).shape == (31, 5)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.booleans(), min_size=4, max_size=4), min_size=1, max_size=30))
def test_artificial_availability_is_a_non_empty_proper_subset(rows):
    mask = torch.tensor(rows, dtype=torch.bool)
    avail = artificial_availability(mask)
    assert not (avail & ~mask).any()  # never invents a modality
    n = mask.sum(dim=1)
    k = avail.sum(dim=1)
    multi = n >= 2
    assert ((k >= 1) & (k < n))[multi].all()  # something kept, something dropped
    assert torch.equal(avail[~multi], mask[~multi])  # nothing to drop from 0/1 modality


def test_artificial_availability_draws_every_pattern():
    mask = torch.ones(3000, 3, dtype=torch.bool)
    avail = artificial_availability(mask, torch.Generator().manual_seed(0))
    patterns, counts = torch.unique(avail, dim=0, return_counts=True)
    assert len(patterns) == 6 and counts.min() > 400  # uniform over the 6 proper subsets
