import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from omnifuse.data.sleep import STAGES, load_sleep, simulate_sleep
from omnifuse.data.sleep.edf import list_channels
from omnifuse.data.sleep.hypnogram import RAW_STAGES, epoch_stages, read_hypnogram
from omnifuse.data.sleep.simulate_stages import simulate_stages
from omnifuse.errors import ConfigError


@pytest.mark.parametrize("n_epochs", [40, 80, 120, 960])
def test_stage_sequences_are_plausible(n_epochs):
    with_movement = 0
    for seed in range(20):
        stages = simulate_stages(np.random.default_rng(seed), n_epochs)
        assert len(stages) == n_epochs and set(stages) <= set(RAW_STAGES)
        assert stages[0] == "W" and stages[1] == "W" and stages[-2] == "W"  # wake at both ends
        assert {"W", "N1", "N2", "REM"} <= set(stages) and {"N3", "N4"} & set(stages)
        with_movement += "MOVE" in stages
    assert with_movement >= 15


def test_files_names_rates_and_hypnograms(sleep_source):
    files = sorted(p.name for p in sleep_source.iterdir())
    assert files == [
        "SC4001E0-PSG.edf", "SC4001EC-Hypnogram.edf", "SC4002E0-PSG.edf", "SC4002EC-Hypnogram.edf",
        "SC4011E0-PSG.edf", "SC4011EC-Hypnogram.edf",
    ]  # fmt: skip
    assert list_channels(sleep_source / "SC4001E0-PSG.edf") == {
        "EEG Fpz-Cz": 100.0, "EOG horizontal": 50.0, "EMG submental": 1.0,
    }  # fmt: skip
    assert max(p.stat().st_size for p in sleep_source.iterdir()) < 1_200_000
    hyp = read_hypnogram(sleep_source / "SC4001EC-Hypnogram.edf")
    assert len(epoch_stages(hyp, 80)) == 80


def test_same_seed_same_files(tmp_path):
    a = simulate_sleep(tmp_path / "a", n_recordings=1, n_epochs=40, seed=7)
    b = simulate_sleep(tmp_path / "b", n_recordings=1, n_epochs=40, seed=7)
    c = simulate_sleep(tmp_path / "c", n_recordings=1, n_epochs=40, seed=8)
    assert a[0].psg.read_bytes() == b[0].psg.read_bytes() and a[0].stages == b[0].stages
    assert a[0].psg.read_bytes() != c[0].psg.read_bytes()


def test_rates_and_errors(tmp_path):
    nights = simulate_sleep(tmp_path / "r", n_recordings=1, n_epochs=40, sampling_rates={"eeg": 256, "eog": 100})
    assert list_channels(nights[0].psg)["EEG Fpz-Cz"] == 256.0
    with pytest.raises(ConfigError, match="not empty"):
        simulate_sleep(tmp_path / "r", n_recordings=1, n_epochs=40)
    simulate_sleep(tmp_path / "r", n_recordings=1, n_epochs=40, overwrite=True)
    with pytest.raises(ConfigError, match="modalities"):
        simulate_sleep(tmp_path / "x", modalities=("ecg",))
    with pytest.raises(ConfigError, match="unimodal"):
        simulate_sleep(tmp_path / "x", n_recordings=2, unimodal=3)


def test_synthetic_signals_are_learnable(tmp_path):
    """Logistic regression on mean spectra, trained on 3 nights, beats chance on a 4th night."""
    simulate_sleep(tmp_path / "n", n_recordings=4, n_epochs=120, seed=11)
    ds = load_sleep(tmp_path / "n")
    test = ds.groups == sorted(set(ds.groups))[-1]
    majority = np.bincount(ds.y[test], minlength=5).max() / test.sum()
    for mods in (("eeg",), ("eog",), ("eeg", "eog")):
        x = np.concatenate([ds.data[m].mean(axis=1) for m in mods], axis=1)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
        model.fit(x[~test], ds.y[~test])
        accuracy = float((model.predict(x[test]) == ds.y[test]).mean())
        assert accuracy > max(0.6, majority + 0.25), (mods, accuracy, majority)
        assert accuracy < 0.99, (mods, accuracy)  # learnable, not trivial
    assert len(STAGES) == 5
