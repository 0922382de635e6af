import numpy as np
import pytest

from omnifuse.data.sleep.epochs import epoch_id, epoch_ids, parse_epoch_ids
from omnifuse.errors import DataError


def test_epoch_id_is_zero_padded():
    assert epoch_id("SC4001E0", 7) == "SC4001E0#00007"
    assert epoch_ids("r", 3).tolist() == ["r#00000", "r#00001", "r#00002"]


def test_parse_round_trip_keeps_hashes_in_recording_names():
    ids = [epoch_id("a#b", 3), epoch_id("shhs1-200001", 12345), "x#00000"]
    recordings, positions = parse_epoch_ids(ids)
    assert recordings.tolist() == ["a#b", "shhs1-200001", "x"]
    assert positions.tolist() == [3, 12345, 0] and positions.dtype == np.int64


def test_parse_empty():
    recordings, positions = parse_epoch_ids([])
    assert len(recordings) == 0 and len(positions) == 0


@pytest.mark.parametrize("bad", ["nohash", "#00001", "rec#", "rec#12a"])
def test_parse_rejects_malformed(bad):
    with pytest.raises(DataError, match="not a sleep epoch id"):
        parse_epoch_ids(["r#00000", bad])


def test_negative_position():
    with pytest.raises(DataError):
        epoch_id("r", -1)
