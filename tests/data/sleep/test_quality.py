"""Noisy-recording detection (Whitlow et al. 2025 section 4.4) and the simulator's noisy nights."""

import inspect
import shutil
import warnings

import numpy as np
import pytest

import omnifuse.data.sleep.loader as loader
from omnifuse.data.sleep import load_sleep, parse_epoch_ids, simulate_sleep
from omnifuse.data.sleep.quality import FLAT_RATIO, anomalous_epochs, assess, noisy_recordings, references
from omnifuse.data.sleep.simulate_artefacts import corrupt, corrupted_epochs
from omnifuse.errors import ConfigError, DataError, DataWarning
from tests.cli.test_app import run


@pytest.fixture(scope="module")
def noisy_source(tmp_path_factory):
    """Five nights of 60 epochs; the last two noisy (EEG movement bursts, EOG detachment)."""
    folder = tmp_path_factory.mktemp("sleep-noisy") / "nights"
    return folder, simulate_sleep(folder, n_recordings=5, n_epochs=60, seed=4, noisy=2)


@pytest.fixture
def noisy_dir(noisy_source, tmp_path):
    return shutil.copytree(noisy_source[0], tmp_path / "nights")


def truth(nights):
    return {n.name: [n.noisy] for n in nights if n.noisy}


def test_simulated_noisy_nights(noisy_source, tmp_path):
    folder, nights = noisy_source
    assert [(n.noisy, n.artefact) for n in nights] == [(None, None)] * 3 + [("eeg", "movement"), ("eog", "detachment")]
    for n in nights[3:]:
        assert 0.45 * 60 <= len(n.corrupted) <= 0.70 * 60 + 1 and n.modalities == ("eeg", "eog")
    clean = simulate_sleep(tmp_path / "clean", n_recordings=5, n_epochs=60, seed=4)
    for a, b in zip(clean, nights):  # same stages and hypnograms; only the corrupted PSGs differ
        assert a.stages == b.stages and a.hypnogram.read_bytes() == b.hypnogram.read_bytes()
        assert (a.psg.read_bytes() == b.psg.read_bytes()) == (b.noisy is None)


def test_simulator_arguments(tmp_path):
    assert inspect.signature(simulate_sleep).parameters["n_recordings"].default == 10
    with pytest.raises(ConfigError, match="noisy must be between 0 and n_recordings - unimodal"):
        simulate_sleep(tmp_path / "x", n_recordings=3, unimodal=2, noisy=2)


def test_artefacts_raise_or_flatten_the_epoch_std():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(40 * 3000) * 10
    bad = corrupted_epochs(rng, 40)
    assert 18 <= len(bad) <= 28 and (np.diff(bad) > 0).all()
    std = lambda s: s.reshape(40, 3000).std(axis=1)  # noqa: E731
    moved, detached = std(corrupt(rng, x, bad, "movement")), std(corrupt(rng, x, bad, "detachment"))
    good = np.setdiff1d(np.arange(40), bad)
    assert (moved[bad] > 4 * 10).all() and np.allclose(moved[good], std(x)[good])
    assert np.allclose(detached[good], std(x)[good])
    with pytest.raises(ValueError, match="artefact must be one of"):
        corrupt(rng, x, bad, "sweat")


def test_quality_rules():
    std = {
        "a": {"eeg": [1.0] * 10},
        "b": {"eeg": [1.0] * 5 + [3.5] * 5},
        "c": {"eeg": [1.0] * 6 + [0.01] * 4, "eog": [2.0]},
    }
    assert references(std) == {"eeg": 1.0, "eog": 2.0}
    high, flat = anomalous_epochs([0.04, 0.06, 2.9, 3.1], 1.0, 3.0)
    assert high.tolist() == [False, False, False, True] and flat.tolist() == [
        1 / FLAT_RATIO > 0.04,
        False,
        False,
        False,
    ]
    qualities = assess(std, std_factor=3.0, fraction=0.4)
    assert noisy_recordings(qualities) == {"b": ["eeg"]}  # 50% high; "c" has 40% flat: not more than 40%
    assert noisy_recordings(assess(std, std_factor=3.0, fraction=0.3)) == {"b": ["eeg"], "c": ["eeg"]}
    assert noisy_recordings(assess(std, std_factor=4.0, fraction=0.3)) == {"c": ["eeg"]}
    assert noisy_recordings(assess({"a": {"eeg": [0.0, 0.0]}})) == {}  # no positive reference: nothing flagged


def test_detection_flags_exactly_the_corrupted_nights(noisy_source, noisy_dir):
    _, nights = noisy_source
    with pytest.warns(DataWarning, match=r"2 of 5 recordings have a noisy channel") as caught:
        ds = load_sleep(noisy_dir)
    assert len([w for w in caught if "noisy" in str(w.message)]) == 1
    message = str(caught[0].message)
    assert "SC4012E0 (eeg" in message and "SC4021E0 (eog" in message and "flat" in message
    assert ds.info["noisy"] == truth(nights) == {"SC4012E0": ["eeg"], "SC4021E0": ["eog"]}
    assert ds.info["recordings"] == 5 and "epoch_std" not in ds.info  # kept, info stays small
    recordings, _ = parse_epoch_ids(ds.sample_ids)
    assert ds.split_names() == ("clean", "noisy")
    assert ((ds.splits == "noisy") == np.isin(recordings, list(truth(nights)))).all()
    assert "split 'noisy'" in message
    with pytest.warns(DataWarning, match="2 of 5"):
        again = load_sleep(noisy_dir, mark_noisy=False)
    assert again.splits is None and again.info["noisy"] == truth(nights)


def test_clean_folder_flags_nothing(sleep_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load_sleep(sleep_dir)
    assert ds.info["noisy"] == {} and ds.split_names() == ("clean",)


def test_mark_noisy_false_in_sleep_yaml(noisy_dir):
    (noisy_dir / "sleep.yaml").write_text("mark_noisy: false\n")
    with pytest.warns(DataWarning, match="2 of 5 recordings"):
        ds = load_sleep(noisy_dir)
    assert ds.splits is None and list(ds.info["noisy"]) == ["SC4012E0", "SC4021E0"]


def test_thresholds_are_configurable(noisy_dir):
    (noisy_dir / "sleep.yaml").write_text("noisy_fraction: 0.9\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_sleep(noisy_dir).info["noisy"] == {}
    (noisy_dir / "sleep.yaml").write_text("noisy_std_factor: 1000\n")  # movement no longer anomalous, flat still is
    with pytest.warns(DataWarning, match="1 of 5 recordings"):
        assert load_sleep(noisy_dir).info["noisy"] == {"SC4021E0": ["eog"]}
    with pytest.warns(DataWarning, match="2 of 5 recordings"):  # arguments override sleep.yaml
        assert len(load_sleep(noisy_dir, noisy_std_factor=3.0).info["noisy"]) == 2
    with pytest.raises(ConfigError, match="noisy_fraction must be in"):
        load_sleep(noisy_dir, noisy_fraction=1.5)
    with pytest.raises(ConfigError, match="noisy_std_factor must be greater than 1"):
        load_sleep(noisy_dir, noisy_std_factor=0.5)
    (noisy_dir / "sleep.yaml").write_text("noisy_std_factor: 1\n")
    with pytest.raises(DataError, match="sleep.yaml: field 'noisy_std_factor'"):
        load_sleep(noisy_dir)


def test_detection_uses_the_cache(noisy_dir, monkeypatch):
    with pytest.warns(DataWarning, match="2 of 5"):
        first = load_sleep(noisy_dir)

    def no_rebuild(*args, **kwargs):
        raise AssertionError("a recording was preprocessed again")

    monkeypatch.setattr(loader, "build_recording", no_rebuild)
    with pytest.warns(DataWarning, match="2 of 5"):
        second = load_sleep(noisy_dir)
    assert second.info["noisy"] == first.info["noisy"] and (second.splits == first.splits).all()
    with pytest.warns(DataWarning, match="1 of 5"):  # other thresholds: same cached recordings
        assert load_sleep(noisy_dir, noisy_std_factor=1000).info["noisy"] == {"SC4021E0": ["eog"]}


def test_cli_simulate_noisy(tmp_path, monkeypatch, capsys):
    out = tmp_path / "nights"
    code, stdout, err = run(monkeypatch, capsys, "data", "simulate", "--kind", "sleep", "--out", str(out),
                            "--recordings", "4", "--epochs", "50", "--noisy", "2", "--seed", "1")  # fmt: skip
    assert code == 0, err
    assert "wrote 4 nights of 50 epochs" in stdout
    assert "noisy nights: SC4011E0 (eeg movement" in stdout and "SC4012E0 (eog detachment" in stdout
