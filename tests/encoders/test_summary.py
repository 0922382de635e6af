"""Summary encoder: per-channel statistics against a numpy reference, the sequence option,
configuration, and training inside fusions and OmniFuse (public API and CLI)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from omnifuse.data.collate import SeriesBatch
from omnifuse.data.spec import ModalitySpec
from omnifuse.encoders import ENCODER_TYPES, KIND_TYPES, SummaryEncoder, build_encoder, series_statistics
from omnifuse.encoders.factory import encoder_options
from omnifuse.encoders.summary import STATS
from omnifuse.errors import ConfigError, DataError

VITALS = ModalitySpec("vitals", "timeseries", ("HR", "Temp", "MAP"), (4, 3), time_unit="hours")
NAN = float("nan")


def hand_series() -> SeriesBatch:
    """Row 0: 4 irregular steps, MAP never observed; row 1: 3 real steps + padding; row 2: empty.

    Unobserved and padding entries hold junk (99, NaN) that must not count.
    """
    values = torch.tensor(
        [
            [[1.0, 99.0, NAN], [99.0, 0.5, 99.0], [3.0, 1.5, NAN], [2.0, 99.0, 99.0]],
            [[-1.0, 2.0, 4.0], [99.0, 99.0, 99.0], [0.0, 99.0, 6.0], [50.0, 50.0, 50.0]],
            [[7.0, 7.0, 7.0], [7.0, 7.0, 7.0], [7.0, 7.0, 7.0], [7.0, 7.0, 7.0]],
        ]
    )
    observed = torch.tensor(
        [
            [[1, 0, 0], [0, 1, 0], [1, 1, 0], [1, 0, 0]],
            [[1, 1, 1], [0, 0, 0], [1, 0, 1], [1, 1, 1]],
            [[1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1]],
        ],
        dtype=torch.bool,
    )
    times = torch.tensor([[0.0, 0.5, 2.0, 6.0], [1.0, 3.0, 4.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    step_mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0], [0, 0, 0, 0]], dtype=torch.bool)
    return SeriesBatch(values, observed, times, step_mask)


def numpy_reference(x: SeriesBatch, time_scale: float) -> np.ndarray:
    """The statistics of :data:`STATS` by hand, one row and channel at a time."""
    v, o, t, s = (a.numpy() for a in (x.values, x.observed, x.times, x.step_mask))
    B, _, C = v.shape
    out = np.zeros((B, len(STATS), C))
    for b in range(B):
        real = s[b]
        for c in range(C):
            keep = o[b, :, c] & real
            if not keep.any():
                continue
            vals, ts = v[b, keep, c].astype(float), t[b, keep].astype(float) / time_scale
            slope = np.polyfit(ts, vals, 1)[0] if len(set(ts)) > 1 else 0.0
            end = t[b, real].max() / time_scale
            out[b, :, c] = [vals.mean(), vals[-1], vals.min(), vals.max(), keep.sum() / real.sum(), slope, end - ts[-1]]
    return out.reshape(B, -1)


@pytest.mark.parametrize("time_scale", [1.0, 24.0])
def test_statistics_match_a_numpy_reference(time_scale: float) -> None:
    x = hand_series()
    got = series_statistics(x, STATS, time_scale)
    assert got.shape == (3, len(STATS) * 3)
    np.testing.assert_allclose(got.numpy(), numpy_reference(x, time_scale), rtol=1e-5, atol=1e-6)
    # row 0, HR observed at t = 0, 2, 6 with values 1, 3, 2: spot-check by hand
    row = got[0].reshape(len(STATS), 3)[:, 0]
    assert row[:5].tolist() == pytest.approx([2.0, 2.0, 1.0, 3.0, 0.75])
    assert float(row[5]) == pytest.approx((3 / 28) * time_scale)  # cov 2 / var 56/3
    assert float(row[6]) == 0.0


def test_never_observed_channel_and_empty_row_are_zero() -> None:
    stats = series_statistics(hand_series()).reshape(3, len(STATS), 3)
    assert torch.equal(stats[0, :, 2], torch.zeros(len(STATS)))  # MAP never observed in row 0
    assert torch.equal(stats[2], torch.zeros(len(STATS), 3))  # no real step at all
    assert stats[1, STATS.index("observed")].tolist() == pytest.approx([2 / 3, 1 / 3, 2 / 3])  # padding not counted
    empty = SeriesBatch(
        torch.zeros(2, 0, 3),
        torch.zeros(2, 0, 3, dtype=torch.bool),
        torch.zeros(2, 0),
        torch.zeros(2, 0, dtype=torch.bool),
    )
    assert torch.equal(series_statistics(empty), torch.zeros(2, len(STATS) * 3))


def test_selected_statistics_and_slope_clip() -> None:
    x = hand_series()
    full = series_statistics(x).reshape(3, len(STATS), 3)
    some = series_statistics(x, ("slope", "mean")).reshape(3, 2, 3)
    torch.testing.assert_close(some[:, 0], full[:, STATS.index("slope")])
    torch.testing.assert_close(some[:, 1], full[:, STATS.index("mean")])
    clipped = series_statistics(x, ("slope",), slope_clip=0.1)
    assert float(clipped.abs().max()) == pytest.approx(0.1)
    with pytest.raises(ConfigError, match="unknown series statistic"):
        series_statistics(x, ("median",))


@pytest.mark.parametrize("sequence", ["none", "grud", "lstm", "transformer"])
def test_encoder_output_and_gradients(sequence: str) -> None:
    torch.manual_seed(0)
    options = {"transformer": {"d_model": 8, "n_heads": 2, "layers": 1, "ff_dim": 16}}.get(sequence, {})
    enc = SummaryEncoder(3, 16, hidden=(12,), sequence=sequence, sequence_options=options or None)
    out = enc(hand_series())
    assert out.shape == (3, 16) and torch.isfinite(out).all()
    out.square().sum().backward()
    grads = {n: p.grad for n, p in enc.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    assert any(float(g.abs().sum()) > 0 for n, g in grads.items() if n.startswith("mlp."))
    if sequence != "none":
        assert any(float(g.abs().sum()) > 0 for n, g in grads.items() if n.startswith("sequence."))


def test_unobserved_values_do_not_change_the_embedding() -> None:
    enc = SummaryEncoder(3, 8).eval()
    x = hand_series()
    junk = SeriesBatch(torch.where(x.observed, x.values, torch.tensor(-1e3)), x.observed, x.times, x.step_mask)
    torch.testing.assert_close(enc(x), enc(junk))


def test_factory_registration_and_options() -> None:
    assert ENCODER_TYPES["summary"] is SummaryEncoder and "summary" in KIND_TYPES["timeseries"]
    enc = build_encoder(
        VITALS,
        16,
        {
            "type": "summary",
            "hidden": [32, 16],
            "stats": ["mean", "last"],
            "sequence": "grud",
            "sequence_options": {"hidden": 8, "hidden_decay": False},
        },
    )
    assert isinstance(enc, SummaryEncoder) and enc.output_dim == 16 and enc.stats == ("mean", "last")
    assert enc.mlp.input_dim == 6 and enc.sequence is not None and enc.sequence.hidden == 8
    assert set(SummaryEncoder.search_space) <= set(encoder_options("summary"))
    for spec in SummaryEncoder.search_space.values():
        assert spec["type"] in ("categorical", "float", "int")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"stats": ["mean", "median"]}, "stats must be distinct"),
        ({"stats": []}, "stats must be distinct"),
        ({"sequence": "gru"}, "sequence must be"),
        ({"sequence_options": {"hidden": 8}}, "sequence is 'none'"),
        ({"sequence": "grud", "sequence_options": {"width": 8}}, "invalid summary encoder options"),
        ({"time_scale": 0}, "time_scale must be > 0"),
        ({"dropout": 1.5}, "dropout"),
    ],
)
def test_configuration_errors(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_encoder(VITALS, 16, {"type": "summary", **options})


def test_wrong_input() -> None:
    with pytest.raises(DataError, match="expects a SeriesBatch"):
        SummaryEncoder(3, 8)(torch.zeros(2, 3))
    with pytest.raises(DataError, match=r"\(B, T, 2\)"):
        SummaryEncoder(2, 8)(hand_series())


@pytest.fixture(scope="module")
def cohort():
    from omnifuse.data.simulate import default_cohort

    ds, _ = default_cohort(3, seed=1, n_samples=240)
    return ds


SMALL = {"max_epochs": 2, "embed_dim": 8, "head_hidden": 8, "batch_size": 64}


@pytest.mark.parametrize(
    ("model", "sequence"), [("concat", "none"), ("attention", "grud"), ("omnifuse", "none"), ("omnifuse", "lstm")]
)
def test_trains_inside_fusions_and_omnifuse(cohort, model: str, sequence: str) -> None:
    from omnifuse.data.splits import train_val_test_indices
    from omnifuse.training.fit import SplitContext, fit

    train, val, test = train_val_test_indices(cohort, 0.2, 0.2, seed=0)
    extra = {"model": {"n_blocks": 2, "cra_hidden": 8, "cra_latent": 4}} if model == "omnifuse" else {}
    config = {**SMALL, **extra, "encoders": {"timeseries": {"type": "summary", "hidden": [16], "sequence": sequence}}}
    fitted = fit(model, SplitContext(cohort, train, val), config)
    encoder = fitted.model.encoders["vitals"]
    assert isinstance(encoder, SummaryEncoder) and encoder.sequence_type == sequence
    probs = fitted.predict_proba(test)
    assert probs.shape == (len(test), 2) and np.isfinite(probs).all()


def test_cli_train_with_the_summary_encoder(cohort, tmp_path, monkeypatch, capsys) -> None:
    from omnifuse.data.loaders import write_folder
    from tests.cli.test_app import run

    folder = write_folder(cohort, tmp_path / "cohort")
    out = tmp_path / "run"
    code, _, err = run(
        monkeypatch,
        capsys,
        "train",
        "--data",
        str(folder),
        "--model",
        "concat",
        "--set",
        "max_epochs=2",
        "--set",
        "embed_dim=8",
        "--set",
        "encoders.timeseries.type=summary",
        "--set",
        "encoders.timeseries.hidden=[16]",
        "--out",
        str(out),
    )
    assert code == 0, err
    summary = json.loads((out / "run.json").read_text())
    assert summary["config"]["encoders"]["timeseries"]["type"] == "summary"
    assert math.isfinite(summary["validation"]["auroc"])
