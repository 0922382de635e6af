from omnifuse.data.sleep.pairing import pair_recordings, recording_name, subject_of


def touch(folder, *names):
    for name in names:
        (folder / name).write_bytes(b"")


def test_sleep_edf_and_generic_pairs(tmp_path):
    touch(
        tmp_path,
        "SC4001E0-PSG.edf", "SC4001EC-Hypnogram.edf",  # Sleep-EDF: first 6 characters
        "SC4002E0-PSG.edf", "SC4002EH-Hypnogram.edf",
        "night-PSG.edf", "night-Hypnogram.edf",  # <base>-Hypnogram.edf
        "a.edf", "a-Hypnogram.edf",  # generic
        "shhs1-200001.edf", "shhs1-200001-nsrr.xml",  # SHHS
        "b.edf", "b.xml",
        "lonely.edf", "notes.txt",
    )  # fmt: skip
    pairs, unpaired = pair_recordings(tmp_path)
    found = {p.name: p.hypnogram.name for p in pairs}
    assert found == {
        "SC4001E0": "SC4001EC-Hypnogram.edf",
        "SC4002E0": "SC4002EH-Hypnogram.edf",
        "night": "night-Hypnogram.edf",
        "a": "a-Hypnogram.edf",
        "shhs1-200001": "shhs1-200001-nsrr.xml",
        "b": "b.xml",
    }
    assert [p.name for p in unpaired] == ["lonely.edf"]


def test_ambiguous_prefix_is_unpaired(tmp_path):
    touch(tmp_path, "SC4001E0-PSG.edf", "SC4001EC-Hypnogram.edf", "SC4001EH-Hypnogram.edf")
    pairs, unpaired = pair_recordings(tmp_path)
    assert pairs == [] and [p.name for p in unpaired] == ["SC4001E0-PSG.edf"]


def test_names_and_subjects():
    from pathlib import Path

    assert recording_name(Path("SC4001E0-PSG.edf")) == "SC4001E0"
    assert recording_name(Path("shhs1-200001.edf")) == "shhs1-200001"
    assert subject_of("SC4001E0") == subject_of("SC4002E0") == "SC400"
    assert subject_of("ST7011J0") == "ST701"
    assert subject_of("shhs1-200001") == "shhs1-200001"
