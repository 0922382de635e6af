import numpy as np
import pytest

from omnifuse.data.sleep.config import DEFAULT_CHANNELS
from omnifuse.data.sleep.edf import ChannelError, ChannelInfo, list_channels, pick_channel, read_channel, read_header
from omnifuse.data.sleep.write import SignalChannel, write_psg


def psg(tmp_path, **channels: SignalChannel):
    return write_psg(tmp_path / "rec-PSG.edf", {k.replace("_", " "): v for k, v in channels.items()})


def noise(seconds: int, rate: int, std: float = 20.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(seconds * rate) * std


def test_list_and_pick_with_aliases(tmp_path):
    path = write_psg(
        tmp_path / "shhs-like.edf",
        {
            "EEG": SignalChannel(noise(60, 125), 125),
            "EOG(L)": SignalChannel(noise(60, 50), 50),
            "EMG": SignalChannel(noise(60, 1), 1),
        },
    )
    assert list_channels(path) == {"EEG": 125.0, "EOG(L)": 50.0, "EMG": 1.0}
    header = read_header(path)
    assert pick_channel(header, "eeg", DEFAULT_CHANNELS["eeg"]).label == "EEG"
    assert pick_channel(header, "eog", DEFAULT_CHANNELS["eog"]).label == "EOG(L)"
    assert pick_channel(header, "eog", ["eog ( l )"]).label == "EOG(L)"  # case and spaces ignored


def test_alias_order_wins(tmp_path):
    path = write_psg(
        tmp_path / "r.edf",
        {"EEG": SignalChannel(noise(10, 100), 100), "EEG Fpz-Cz": SignalChannel(noise(10, 100), 100)},
    )
    assert pick_channel(read_header(path), "eeg", DEFAULT_CHANNELS["eeg"]).label == "EEG Fpz-Cz"


def test_missing_channel_message_lists_the_recording(tmp_path):
    path = write_psg(tmp_path / "SC4001E0-PSG.edf", {"EEG Fpz-Cz": SignalChannel(noise(10, 100), 100)})
    with pytest.raises(ChannelError) as info:
        pick_channel(read_header(path), "eog", ["EOG horizontal", "EOG(L)"])
    assert str(info.value) == (
        f"{path}: no channel for modality 'eog' (wanted one of 'EOG horizontal', 'EOG(L)'; "
        "the recording has: 'EEG Fpz-Cz')"
    )


def test_read_channel_in_microvolts(tmp_path):
    x = noise(10, 100, std=0.02)  # millivolts
    path = write_psg(tmp_path / "mv.edf", {"EEG": SignalChannel(x, 100, -1.0, 1.0, dimension="mV")})
    header = read_header(path)
    signal = read_channel(path, header.channels[0])
    np.testing.assert_allclose(signal, x * 1000, atol=2 / 65535 * 1000)


def test_flat_channel(tmp_path):
    path = write_psg(tmp_path / "flat.edf", {"EOG horizontal": SignalChannel(np.full(1000, 3.0), 100)})
    with pytest.raises(ChannelError, match=r"flat\.edf: channel 'EOG horizontal' is flat"):
        read_channel(path, read_header(path).channels[0])


def test_saturated_channel(tmp_path):
    x = noise(10, 100, std=5000.0)  # clipped at +-500 by the writer: mostly at the limits
    path = write_psg(tmp_path / "sat.edf", {"EEG": SignalChannel(x, 100)})
    with pytest.raises(
        ChannelError,
        match=r"sat\.edf: channel 'EEG' is saturated \(\d+% of samples at the physical min/max -500/500 uV\)",
    ):
        read_channel(path, read_header(path).channels[0])


def test_partly_clipped_channel_is_accepted(tmp_path):
    x = noise(10, 100, std=300.0)  # about 10% beyond +-500
    path = write_psg(tmp_path / "ok.edf", {"EEG": SignalChannel(x, 100)})
    assert len(read_channel(path, read_header(path).channels[0])) == 1000


def test_non_positive_rate(tmp_path):
    info = ChannelInfo(0, "EEG", 0.0, 100, "uV", -1, 1, -32768, 32767)
    with pytest.raises(ChannelError, match=r"x\.edf: channel 'EEG' has sampling rate 0 Hz"):
        read_channel(tmp_path / "x.edf", info)
