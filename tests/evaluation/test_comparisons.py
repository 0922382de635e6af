import numpy as np
import pytest
from scipy import stats

from omnifuse.evaluation.comparisons import corrected_paired_ttest, paired_bootstrap_pvalue


def test_corrected_ttest_is_more_conservative_than_plain():
    a = [0.80, 0.82, 0.81, 0.83, 0.79]
    b = [0.78, 0.80, 0.80, 0.80, 0.78]
    plain = stats.ttest_rel(a, b).pvalue
    corrected = corrected_paired_ttest(a, b, test_train_ratio=0.25)
    d = np.subtract(a, b)
    t = d.mean() / np.sqrt((1 / 5 + 0.25) * d.var(ddof=1))
    assert corrected == pytest.approx(2 * stats.t.sf(abs(t), 4))
    assert corrected > plain
    assert corrected_paired_ttest([0.5, 0.6], [0.5, 0.6], 0.25) == 1.0


def test_paired_bootstrap_separates_a_better_model_and_not_a_copy():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    good = np.clip(0.5 + 0.35 * (2 * y - 1) + rng.normal(0, 0.2, 400), 0.01, 0.99)
    weak = np.clip(0.5 + 0.05 * (2 * y - 1) + rng.normal(0, 0.2, 400), 0.01, 0.99)
    to2 = lambda p: np.stack([1 - p, p], axis=1)  # noqa: E731
    assert paired_bootstrap_pvalue([to2(good)], [to2(weak)], y, "binary", "auroc", n_boot=300) < 0.01
    assert paired_bootstrap_pvalue([to2(good)], [to2(good)], y, "binary", "auroc", n_boot=300) == 1.0
