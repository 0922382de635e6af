from datetime import timedelta

import numpy as np
import pyedflib
import pytest

from omnifuse.data.sleep.hypnogram import RAW_STAGES, epoch_stages, read_hypnogram, read_nsrr_xml
from omnifuse.data.sleep.write import DEFAULT_START, write_hypnogram, write_nsrr_xml
from omnifuse.errors import DataError

NSRR = """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<PSGAnnotation><SoftwareVersion>Compumedics</SoftwareVersion><EpochLength>30</EpochLength>
<ScoredEvents>
<ScoredEvent><EventType/><EventConcept>Recording Start Time</EventConcept><Start>0</Start><Duration>32520.0</Duration></ScoredEvent>
<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>Wake|0</EventConcept><Start>0</Start><Duration>60.0</Duration></ScoredEvent>
<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>Stage 1 sleep|1</EventConcept><Start>60</Start><Duration>30.0</Duration></ScoredEvent>
<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>Stage 2 sleep|2</EventConcept><Start>90</Start><Duration>30.0</Duration></ScoredEvent>
<ScoredEvent><EventType>Arousals|Arousals</EventType><EventConcept>Arousal|Arousal ()</EventConcept><Start>95.5</Start><Duration>4.0</Duration></ScoredEvent>
<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>Stage 3 sleep|3</EventConcept><Start>120</Start><Duration>30.0</Duration></ScoredEvent>
<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>Stage 4 sleep|4</EventConcept><Start>150</Start><Duration>30.0</Duration></ScoredEvent>
<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>REM sleep|5</EventConcept><Start>180</Start><Duration>30.0</Duration></ScoredEvent>
<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>Movement|6</EventConcept><Start>210</Start><Duration>30.0</Duration></ScoredEvent>
<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>Unscored|9</EventConcept><Start>240</Start><Duration>30.0</Duration></ScoredEvent>
</ScoredEvents></PSGAnnotation>
"""


def names(codes: np.ndarray) -> list[str]:
    return [RAW_STAGES[c] for c in codes]


def test_nsrr_xml_by_hand(tmp_path):
    path = tmp_path / "shhs1-200001-nsrr.xml"
    path.write_text(NSRR)
    hyp = read_hypnogram(path)
    assert names(hyp.codes) == ["W", "N1", "N2", "N3", "N4", "REM", "MOVE", "UNSCORED"]  # arousal ignored
    assert hyp.onsets.tolist() == [0, 60, 90, 120, 150, 180, 210, 240]
    assert names(epoch_stages(hyp, 10)) == ["W", "W", "N1", "N2", "N3", "N4", "REM", "MOVE", "UNSCORED", "UNSCORED"]


def test_nsrr_writer_round_trip(tmp_path):
    stages = ["W", "W", "N1", "N2", "N2", "N3", "N4", "REM", "MOVE", "UNSCORED"]
    hyp = read_nsrr_xml(write_nsrr_xml(tmp_path / "x.xml", stages))
    assert names(epoch_stages(hyp, len(stages))) == stages


def test_sleep_edf_annotations(tmp_path):
    stages = ["W", "W", "N1", "N2", "N3", "N4", "REM", "MOVE", "UNSCORED", "W"]
    path = write_hypnogram(tmp_path / "SC4001EC-Hypnogram.edf", stages)
    hyp = read_hypnogram(path, psg_start=DEFAULT_START)
    assert hyp.onsets.tolist() == [0, 60, 90, 120, 150, 180, 210, 240, 270]  # one annotation per run
    assert hyp.durations[0] == 60
    assert names(epoch_stages(hyp, len(stages))) == stages
    # epochs beyond the annotations are unscored; a shorter signal cuts the hypnogram
    assert names(epoch_stages(hyp, 12))[-2:] == ["UNSCORED", "UNSCORED"]
    assert len(epoch_stages(hyp, 4)) == 4


def test_edf_hypnogram_start_offset_and_other_annotations(tmp_path):
    path = tmp_path / "h-Hypnogram.edf"
    writer = pyedflib.EdfWriter(str(path), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
    writer.setStartdatetime(DEFAULT_START + timedelta(seconds=30))  # starts one epoch after the PSG
    writer.writeAnnotation(0, -1, "Lights off")
    writer.writeAnnotation(0, 30, "Sleep stage W")
    writer.writeAnnotation(30, 60, "sleep stage 2")
    writer.writeAnnotation(90, 30, "Sleep stage N3")
    writer.close()
    hyp = read_hypnogram(path, psg_start=DEFAULT_START)
    assert names(epoch_stages(hyp, 5)) == ["UNSCORED", "W", "N2", "N2", "N3"]


def test_majority_vote_for_events_off_the_grid(tmp_path):
    path = tmp_path / "a.xml"
    events = "".join(
        f"<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>{c}</EventConcept>"
        f"<Start>{s}</Start><Duration>{d}</Duration></ScoredEvent>"
        for c, s, d in [("Wake|0", 0, 40), ("Stage 2 sleep|2", 40, 50), ("REM sleep|5", 90, 10)]
    )
    path.write_text(f"<PSGAnnotation><ScoredEvents>{events}</ScoredEvents></PSGAnnotation>")
    # epoch 0: W 30 s; epoch 1: W 10 s / N2 20 s; epoch 2: N2 30 s; epoch 3: REM 10 s only -> unscored
    assert names(epoch_stages(read_hypnogram(path), 4)) == ["W", "N2", "N2", "UNSCORED"]


def test_no_stage_annotations(tmp_path):
    path = tmp_path / "empty.xml"
    path.write_text("<PSGAnnotation><ScoredEvents></ScoredEvents></PSGAnnotation>")
    with pytest.raises(DataError, match="empty.xml: no sleep stage annotations"):
        read_hypnogram(path)


def test_broken_xml_names_the_file(tmp_path):
    path = tmp_path / "broken.xml"
    path.write_text("<PSGAnnotation><ScoredEvents>")
    with pytest.raises(DataError, match="broken.xml: not a readable XML"):
        read_hypnogram(path)


def test_unreadable_edf_names_the_file(tmp_path):
    path = tmp_path / "bad-Hypnogram.edf"
    path.write_bytes(b"not an edf file at all" * 20)
    with pytest.raises(DataError, match="bad-Hypnogram.edf: cannot read EDF"):
        read_hypnogram(path)
