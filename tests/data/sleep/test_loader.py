import time
import warnings

import numpy as np
import pytest

from omnifuse.data.loaders import load_dataset
from omnifuse.data.sleep import STAGES, load_sleep, parse_epoch_ids, simulate_sleep
from omnifuse.data.sleep.write import write_nsrr_xml
from omnifuse.errors import ConfigError, DataError, DataWarning
from tests.data.sleep.conftest import NIGHT, write_night


def load_quietly(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean folder gives no warning at all
        return load_sleep(path, **kwargs)


def test_end_to_end(sleep_dir):
    ds = load_quietly(sleep_dir)
    assert ds.modalities == ("eeg", "eog") and ds.task == "multiclass" and ds.class_names == STAGES
    assert set(np.unique(ds.y)) == {0, 1, 2, 3, 4}
    recordings, positions = parse_epoch_ids(ds.sample_ids)
    assert sorted(set(recordings)) == ["SC4001E0", "SC4002E0", "SC4011E0"]
    assert (ds.groups == recordings).all()
    for rec in set(recordings):
        assert positions[recordings == rec].tolist() == list(range((recordings == rec).sum()))
    for m in ds.modalities:
        spec = ds.specs[m]
        assert spec.kind == "signal" and spec.shape == (29, 128) and spec.feature_names[0] == "0.39Hz"
        assert ds.data[m].shape == (len(ds), 29, 128) and ds.data[m].dtype == np.float32
        assert np.isfinite(ds.data[m]).all()
    assert ds.specs["eeg"].extra["channel"] == "EEG Fpz-Cz" and ds.specs["eog"].extra["channel"] == "EOG horizontal"
    assert ds.specs["eog"].extra["band"] == [0.3, 23.0] and ds.specs["eeg"].extra["sampling_rate"] == 100
    assert ds.mask.all()
    assert ds.info["source"] == "sleep-edf" and ds.info["recordings"] == 3 and ds.info["skipped"] == {}


def test_labels_follow_the_hypnogram(tmp_path):
    write_night(tmp_path, "rec", NIGHT + ["MOVE", "UNSCORED"] + ["W"] * 2)
    ds = load_quietly(tmp_path, min_epochs=1)
    expected = [s for s in NIGHT if s not in ("MOVE", "UNSCORED")]
    expected = ["N3" if s == "N4" else s for s in expected]
    # 13 W of 38 epochs, N2 14 -> wake not dominant, nothing trimmed; movement/unscored dropped
    assert [STAGES[k] for k in ds.y] == expected + ["W"] * 2


def test_trimming_end_to_end(tmp_path):
    stages = ["W"] * 40 + NIGHT[6:-5] + ["W"] * 30  # W 70, N2 14 -> 28 cut from each end
    write_night(tmp_path, "rec", stages)
    ds = load_quietly(tmp_path)
    names = [STAGES[k] for k in ds.y]
    assert names[:13] == ["W"] * 12 + ["N1"] and names[-3:] == ["REM", "W", "W"]
    assert len(ds) == len(stages) - 56


def test_cache_hit_is_faster_and_equal(sleep_dir):
    t0 = time.perf_counter()
    first = load_sleep(sleep_dir)
    t1 = time.perf_counter()
    second = load_sleep(sleep_dir)
    t2 = time.perf_counter()
    assert t2 - t1 < t1 - t0
    assert (first.sample_ids == second.sample_ids).all() and (first.y == second.y).all()
    for m in first.modalities:
        np.testing.assert_array_equal(first.data[m], second.data[m])
    fresh = load_sleep(sleep_dir, use_cache=False)
    np.testing.assert_array_equal(fresh.data["eeg"], first.data["eeg"])
    other = load_sleep(sleep_dir, bands={"eeg": (0.5, 30.0)})  # other settings, other cache entry
    assert not np.array_equal(other.data["eeg"], first.data["eeg"])
    np.testing.assert_array_equal(other.data["eog"], first.data["eog"])


def test_missing_channel_is_skipped_with_a_listing_warning(sleep_dir):
    psg = write_night(sleep_dir, "SC4091E0", NIGHT, channels={"eeg": "EEG Fpz-Cz"})
    with pytest.warns(DataWarning) as caught:
        ds = load_sleep(sleep_dir)
    message = " ".join(str(w.message) for w in caught)
    assert f"{psg}: no channel for modality 'eog'" in message
    assert "the recording has: 'EEG Fpz-Cz'" in message and "recording skipped" in message
    assert ds.info["recordings"] == 3 and "SC4091E0-PSG.edf" in ds.info["skipped"]


def test_missing_channel_as_absence(sleep_dir):
    write_night(sleep_dir, "SC4091E0", NIGHT, channels={"eeg": "EEG Fpz-Cz"})
    with pytest.warns(DataWarning, match="modality is absent"):
        ds = load_sleep(sleep_dir, missing_channel="absent")
    rows = np.char.startswith(ds.sample_ids.astype(str), "SC4091E0#")
    assert rows.sum() == len([s for s in NIGHT]) and ds.info["recordings"] == 4
    assert ds.availability("eeg")[rows].all() and not ds.availability("eog")[rows].any()
    assert np.isnan(ds.data["eog"][rows]).all() and ds.availability("eog")[~rows].all()
    assert ds.pattern_counts() == {"eeg+eog": int((~rows).sum()), "eeg": int(rows.sum())}
    with pytest.warns(DataWarning, match="modality is absent"):  # the cache repeats the warning
        load_sleep(sleep_dir, missing_channel="absent")


def test_unimodal_simulated_nights(tmp_path):
    simulate_sleep(tmp_path / "u", n_recordings=4, n_epochs=60, seed=5, unimodal=2)
    with pytest.warns(DataWarning, match="the modality is absent"):
        ds = load_sleep(tmp_path / "u", missing_channel="absent")
    recordings, _ = parse_epoch_ids(ds.sample_ids)
    patterns = {r: set(ds.pattern_names()[recordings == r]) for r in set(recordings)}
    assert patterns == {"SC4001E0": {"eeg+eog"}, "SC4002E0": {"eeg+eog"}, "SC4011E0": {"eeg"}, "SC4012E0": {"eog"}}
    with pytest.warns(DataWarning, match="recording skipped"):  # default: a missing channel skips
        strict = load_sleep(tmp_path / "u")
    assert strict.info["recordings"] == 2


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"EOG horizontal": np.zeros(len(NIGHT) * 3000)}, "channel 'EOG horizontal' is flat"),
        ({"EEG Fpz-Cz": np.full(len(NIGHT) * 3000, 900.0)}, "channel 'EEG Fpz-Cz' is"),
        ({"EEG Fpz-Cz": np.tile([900.0, -900.0], len(NIGHT) * 1500)}, "channel 'EEG Fpz-Cz' is saturated"),
    ],
)
def test_unusable_channel_skips_the_recording(sleep_dir, override, expected):
    psg = write_night(sleep_dir, "SC4091E0", NIGHT, override=override)
    with pytest.warns(DataWarning, match="recording skipped") as caught:
        ds = load_sleep(sleep_dir)
    assert any(str(psg) in str(w.message) and expected in str(w.message) for w in caught)
    assert ds.info["recordings"] == 3 and expected in ds.info["skipped"]["SC4091E0-PSG.edf"]


def test_unusable_channel_as_absence(sleep_dir):
    write_night(sleep_dir, "SC4091E0", NIGHT, override={"EOG horizontal": np.zeros(len(NIGHT) * 3000)})
    with pytest.warns(DataWarning, match=r"'EOG horizontal' is flat \(.*\); the modality is absent"):
        ds = load_sleep(sleep_dir, missing_channel="absent")
    assert ds.info["recordings"] == 4 and (~ds.availability("eog")).sum() == len(NIGHT)


def test_missing_hypnogram(sleep_dir):
    psg = write_night(sleep_dir, "SC4091E0", NIGHT, hypnogram=False)
    with pytest.warns(DataWarning, match=f"{psg}: no hypnogram"):
        ds = load_sleep(sleep_dir)
    assert ds.info["recordings"] == 3 and "no hypnogram" in ds.info["skipped"]["SC4091E0-PSG.edf"]


def test_short_recording(sleep_dir):
    short = ["W"] * 3 + ["N1", "N2", "N2", "N2", "N3", "N3", "REM", "REM"] + ["W"] * 3 + ["UNSCORED"] * 10
    psg = write_night(sleep_dir, "SC4091E0", short)  # 14 scored, W 6 > N2 3: one W trimmed per end
    with pytest.warns(
        DataWarning, match=rf"{psg}: only 12 scored epochs after preprocessing \(fewer than min_epochs=21\)"
    ):
        ds = load_sleep(sleep_dir)
    assert ds.info["recordings"] == 3


def test_recording_lacking_a_stage(sleep_dir):
    psg = write_night(sleep_dir, "SC4091E0", [s for s in NIGHT if s != "N1"])
    with pytest.warns(DataWarning, match=rf"{psg}: no N1 epoch in SC4091E0-Hypnogram.edf"):
        ds = load_sleep(sleep_dir)
    assert ds.info["recordings"] == 3
    kept = load_quietly(sleep_dir, require_all_stages=False)
    assert kept.info["recordings"] == 4


def test_nothing_loads_lists_every_reason(tmp_path):
    write_night(tmp_path, "a", NIGHT, channels={"eeg": "EEG Fpz-Cz"})
    write_night(tmp_path, "b", NIGHT, hypnogram=False)
    with pytest.warns(DataWarning), pytest.raises(DataError) as info:
        load_sleep(tmp_path)
    message = str(info.value)
    assert "no sleep recording could be loaded" in message
    assert "a-PSG.edf: no channel for modality 'eog'" in message and "b-PSG.edf: no hypnogram" in message


def test_nsrr_pair_with_shhs_labels(tmp_path):
    stages = NIGHT
    write_night(tmp_path, "shhs1-200001", stages, channels={"eeg": "EEG", "eog": "EOG(L)"}, hypnogram=False)
    (tmp_path / "shhs1-200001-PSG.edf").rename(tmp_path / "shhs1-200001.edf")
    write_nsrr_xml(tmp_path / "shhs1-200001-nsrr.xml", stages)
    ds = load_quietly(tmp_path)
    assert ds.sample_ids[0] == "shhs1-200001#00000" and len(ds) == len(stages)
    assert ds.specs["eeg"].extra["channel"] == "EEG" and ds.specs["eog"].extra["channel"] == "EOG(L)"


def test_sleep_yaml_and_autodetection(sleep_dir):
    (sleep_dir / "sleep.yaml").write_text("modalities:\n  eeg: [EEG Fpz-Cz]\nmin_epochs: 5\ngroup_by: subject\n")
    ds = load_dataset(sleep_dir)
    assert ds.modalities == ("eeg",) and ds.info["config"].endswith("sleep.yaml")
    assert sorted(set(ds.groups)) == ["SC400", "SC401"]  # two nights of subject 00 share a group
    explicit = load_sleep(sleep_dir, modalities={"eog": ["EOG horizontal"]}, group_by="recording")
    assert explicit.modalities == ("eog",) and len(set(explicit.groups)) == 3


def test_bad_sleep_yaml(sleep_dir):
    (sleep_dir / "sleep.yaml").write_text("missing_channel: maybe\n")
    with pytest.raises(DataError, match="sleep.yaml: field 'missing_channel'"):
        load_sleep(sleep_dir)
    (sleep_dir / "sleep.yaml").write_text("bands: {eeg: [40, 0.3]}\n")
    with pytest.raises(DataError, match="sleep.yaml: field 'bands'"):
        load_sleep(sleep_dir)


def test_bad_arguments(sleep_dir):
    with pytest.raises(ConfigError, match="missing_channel"):
        load_sleep(sleep_dir, missing_channel="skip")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="band of 'eeg'"):
        load_sleep(sleep_dir, bands={"eeg": (0.0, 40.0)})


def test_not_a_sleep_folder(tmp_path):
    with pytest.raises(DataError, match="no PSG .edf file"):
        load_sleep(tmp_path)
    with pytest.raises(DataError, match="not a recognised dataset"):
        load_dataset(tmp_path)


def test_modality_found_nowhere_is_dropped(sleep_dir):
    mods = {"eeg": ["EEG Fpz-Cz"], "ecg": ["ECG"]}
    with pytest.warns(DataWarning) as caught:
        ds = load_sleep(sleep_dir, modalities=mods, missing_channel="absent")
    assert ds.modalities == ("eeg",) and ds.mask.all()
    assert any("modality 'ecg' has no usable channel in any recording; dropped" in str(w.message) for w in caught)
