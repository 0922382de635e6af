"""Tests of dataset corruptions: realised rates, no in-place change, noise scale, segments."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from omnifuse.data.arrays import IrregularSeries, LazyFiles
from omnifuse.data.corrupt import (
    DropModality,
    DropPattern,
    FeatureDropout,
    GaussianNoise,
    SegmentMask,
    apply_corruptions,
    parse_corruption,
)
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.labels import Labels
from omnifuse.data.simulate import SimModality, make_lowquality
from omnifuse.data.spec import ModalitySpec
from omnifuse.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def cohort() -> MultimodalDataset:
    mods = [
        SimModality("tab", "tabular", 10, 0.8, missing_rate=0.2),
        SimModality("emb", "embedding", 8, 0.4, missing_rate=0.3),
        SimModality("ts", "timeseries", 4, 0.6, missing_rate=0.2),
    ]
    return make_lowquality(mods, n_samples=2000, seed=0)[0]


def _signal_dataset(n: int = 50, steps: int = 40, channels: int = 3, seed: int = 0) -> MultimodalDataset:
    """A dense signal (n, steps, channels) with some trailing padding, a text and files modality."""
    rng = np.random.default_rng(seed)
    sig = rng.standard_normal((n, steps, channels)).astype(np.float32)
    lengths = rng.integers(20, steps + 1, size=n)
    sig[np.arange(steps)[None, :] >= lengths[:, None]] = np.nan
    has_sig = np.ones(n, dtype=bool)
    has_sig[::5] = False  # some samples without the signal
    sig[~has_sig] = np.nan
    return MultimodalDataset(
        specs=[
            ModalitySpec("sig", "signal", ("c0", "c1", "c2"), (steps, channels)),
            ModalitySpec("img", "image"),
            ModalitySpec("txt", "text"),
        ],
        data={"sig": sig, "img": LazyFiles(np.array(["x.npy"] * n)), "txt": np.array(["note"] * n)},
        mask={"sig": has_sig, "img": np.ones(n, bool), "txt": np.ones(n, bool)},
        labels=Labels("binary", np.arange(n) % 2, ("0", "1")),
        sample_ids=[f"s{i}" for i in range(n)],
    )


def _arrays(data) -> list[np.ndarray]:
    if isinstance(data, IrregularSeries):
        return [data.values, data.times, data.lengths]
    return [data.paths] if isinstance(data, LazyFiles) else [data]


def _assert_untouched(before: MultimodalDataset, snapshot: dict, after: MultimodalDataset) -> None:
    """``before`` still equals its deep-copied ``snapshot`` and ``after`` shares no changed memory."""
    np.testing.assert_array_equal(before.mask, snapshot["mask"])
    assert not np.shares_memory(before.mask, after.mask)
    for m in before.modalities:
        for old, saved, new in zip(_arrays(before.data[m]), _arrays(snapshot[m]), _arrays(after.data[m])):
            np.testing.assert_array_equal(old, saved)
            if not np.array_equal(old, new, equal_nan=old.dtype.kind == "f"):
                assert not np.shares_memory(old, new)


def _snapshot(ds: MultimodalDataset) -> dict:
    return {"mask": ds.mask.copy(), **{m: copy.deepcopy(ds.data[m]) for m in ds.modalities}}


ALL_KINDS = [
    DropModality("tab", 0.5),
    DropModality(None, 0.5),
    DropPattern(("tab", "ts")),
    GaussianNoise("tab", 1.0),
    GaussianNoise("ts", 0.5),
    GaussianNoise(None, 0.2),
    FeatureDropout("emb", 0.3),
    FeatureDropout("ts", 0.3),
    SegmentMask("ts", 0.3),
    SegmentMask("ts", 0.3, "flatline"),
]


@pytest.mark.parametrize("corruption", ALL_KINDS, ids=lambda c: c.spec)
def test_nothing_modified_in_place_and_recorded(cohort, corruption):
    snap = _snapshot(cohort)
    out = corruption(cohort, np.random.default_rng(0))
    _assert_untouched(cohort, snap, out)
    assert out.info["corruptions"] == [corruption.spec]
    assert "corruptions" not in cohort.info
    assert out is not cohort and out.modalities == cohort.modalities
    assert parse_corruption(corruption.spec) == corruption  # the spec round-trips
    changed = [
        m
        for m in cohort.modalities
        if not all(
            np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
            for a, b in zip(_arrays(cohort.data[m]), _arrays(out.data[m]))
        )
    ]
    assert changed  # the corruption did something


def test_drop_named_modality_exact_share_and_blank(cohort):
    out = DropModality("tab", 0.4)(cohort, np.random.default_rng(1))
    j = cohort.modality_index("tab")
    eligible = cohort.mask[:, j] & (cohort.mask.sum(axis=1) > 1)
    dropped = cohort.mask[:, j] & ~out.mask[:, j]
    assert dropped.sum() == round(0.4 * eligible.sum())
    assert not (dropped & ~eligible).any()  # sole-modality samples are kept
    np.testing.assert_array_equal(np.delete(out.mask, j, axis=1), np.delete(cohort.mask, j, axis=1))
    assert np.isnan(out.data["tab"][dropped]).all()
    np.testing.assert_array_equal(out.data["tab"][out.mask[:, j]], cohort.data["tab"][out.mask[:, j]])
    ts_dropped = DropModality("ts", 1.0)(cohort, np.random.default_rng(1))
    gone = cohort.availability("ts") & ~ts_dropped.availability("ts")
    assert np.isnan(ts_dropped.data["ts"].values[gone]).all()


def test_drop_any_rate_realised_without_keep_one(cohort):
    out = DropModality(None, 0.3, keep_one=False)(cohort, np.random.default_rng(2))
    dropped = cohort.mask & ~out.mask
    assert dropped.sum() / cohort.mask.sum() == pytest.approx(0.3, abs=0.02)
    assert not (out.mask & ~cohort.mask).any()
    emptied = DropModality(None, 1.0, keep_one=False)(cohort, np.random.default_rng(2))
    assert not emptied.mask.any()


@settings(max_examples=60, deadline=None)
@given(
    mask=arrays(bool, st.tuples(st.integers(1, 30), st.integers(1, 4))),
    rate=st.floats(0.0, 1.0),
    named=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_keep_one_never_empties_a_sample(mask, rate, named, seed):
    n, m = mask.shape
    mask[:, 0] |= ~mask.any(axis=1)  # the input has no empty sample
    ds = MultimodalDataset(
        specs=[ModalitySpec(f"m{j}", "tabular", shape=(2,)) for j in range(m)],
        data={f"m{j}": np.where(mask[:, j, None], 1.0, np.nan).repeat(2, axis=1) for j in range(m)},
        mask=mask,
        labels=Labels("binary", np.arange(n) % 2, ("0", "1")),
        sample_ids=[str(i) for i in range(n)],
    )
    out = DropModality("m0" if named else None, rate)(ds, np.random.default_rng(seed))
    assert out.mask.any(axis=1).all()
    assert not (out.mask & ~mask).any()  # only ever removes
    for j in range(m):
        assert np.isnan(out.data[f"m{j}"][~out.mask[:, j]]).all()


def test_drop_pattern_intersection_and_emptied_count(cohort):
    out = DropPattern(("ts", "tab"))(cohort, np.random.default_rng(0))
    keep = np.array([m in ("tab", "ts") for m in cohort.modalities])
    np.testing.assert_array_equal(out.mask, cohort.mask & keep)
    assert out.info["emptied_samples"] == int((~(cohort.mask & keep).any(axis=1)).sum()) > 0
    assert np.isnan(out.data["emb"]).all()
    np.testing.assert_array_equal(out.data["tab"], cohort.data["tab"])
    with pytest.raises(DataError, match="dataset has: emb, tab, ts"):
        DropPattern(("tab", "nope"))(cohort, np.random.default_rng(0))


@pytest.mark.parametrize("level", [0.5, 2.0])
def test_gaussian_noise_scaled_to_feature_std(cohort, level):
    out = GaussianNoise("tab", level)(cohort, np.random.default_rng(3))
    present = cohort.availability("tab")
    before, after = cohort.data["tab"][present], out.data["tab"][present]
    diff_std = np.nanstd(after - before, axis=0)
    np.testing.assert_allclose(diff_std, level * np.nanstd(before, axis=0), rtol=0.08)
    np.testing.assert_array_equal(np.isnan(after), np.isnan(before))  # unobserved stays unobserved
    assert np.isnan(out.data["tab"][~present]).all()


def test_gaussian_noise_on_series_is_per_channel(cohort):
    out = GaussianNoise("ts", 1.0)(cohort, np.random.default_rng(4))
    present = cohort.availability("ts")
    before, after = cohort.data["ts"].values[present], out.data["ts"].values[present]
    np.testing.assert_array_equal(np.isnan(after), np.isnan(before))
    channel_std = np.nanstd(before, axis=(0, 1))
    np.testing.assert_allclose(np.nanstd(after - before, axis=(0, 1)), channel_std, rtol=0.08)
    assert out.data["ts"].times is cohort.data["ts"].times  # untouched parts may be shared


def test_gaussian_level_zero_is_identity(cohort):
    out = GaussianNoise(None, 0.0)(cohort, np.random.default_rng(0))
    np.testing.assert_array_equal(out.data["tab"], cohort.data["tab"])


@pytest.mark.parametrize("modality", ["emb", "ts"])
def test_feature_dropout_rate_realised(cohort, modality):
    def values(ds):
        d = ds.data[modality]
        return (d.values if isinstance(d, IrregularSeries) else d)[ds.availability(modality)]

    out = FeatureDropout(modality, 0.25)(cohort, np.random.default_rng(5))
    obs_before, obs_after = ~np.isnan(values(cohort)), ~np.isnan(values(out))
    assert not (obs_after & ~obs_before).any()
    assert 1 - obs_after.sum() / obs_before.sum() == pytest.approx(0.25, abs=0.01)
    kept = obs_after
    np.testing.assert_array_equal(values(out)[kept], values(cohort)[kept])


def test_segment_mask_series_contiguous_fraction(cohort):
    out = SegmentMask("ts", 0.4)(cohort, np.random.default_rng(6))
    series, new = cohort.data["ts"], out.data["ts"]
    for i in np.flatnonzero(cohort.availability("ts")):
        seg = round(0.4 * series.lengths[i])
        lost = (series.observed[i] & ~new.observed[i]).any(axis=1)
        steps = np.flatnonzero(lost)
        assert steps.max() - steps.min() < seg  # within one window of seg steps
        assert not (new.observed[i] & ~series.observed[i]).any()
    present = cohort.availability("ts")
    lost = 1 - new.observed[present].sum() / series.observed[present].sum()
    assert lost == pytest.approx(0.4, abs=0.03)
    np.testing.assert_array_equal(new.values[new.observed], series.values[new.observed])


def test_flatline_holds_last_value_or_zero():
    ds = _signal_dataset()
    out = SegmentMask("sig", 0.25, "flatline")(ds, np.random.default_rng(7))
    before, after = ds.data["sig"], out.data["sig"]
    np.testing.assert_array_equal(np.isnan(after), np.isnan(before))  # stays observed
    for i in np.flatnonzero(ds.availability("sig")):
        length = int((~np.isnan(before[i])).any(axis=1).sum())
        same = (after[i] == before[i]) | (np.isnan(after[i]) & np.isnan(before[i]))
        changed = np.flatnonzero(~same.all(axis=1))
        start, seg = changed.min(), round(0.25 * length)
        np.testing.assert_array_equal(changed, np.arange(start, start + seg))  # one segment of seg steps
        assert start + seg <= length  # inside the real steps
        window = after[i, start : start + seg]
        expected = before[i, start - 1] if start > 0 else np.zeros(3)
        np.testing.assert_array_equal(window, np.broadcast_to(expected, window.shape))
    assert out.data["img"] is ds.data["img"]


def test_segment_needs_time_axis_and_numeric_modalities(cohort):
    with pytest.raises(DataError, match="time axis"):
        SegmentMask("tab", 0.2)(cohort, np.random.default_rng(0))
    ds = _signal_dataset()
    for corruption in (GaussianNoise("img", 0.1), FeatureDropout("txt", 0.1)):
        with pytest.raises(DataError, match="numeric"):
            corruption(ds, np.random.default_rng(0))
    out = GaussianNoise(None, 0.1)(ds, np.random.default_rng(0))  # "any" skips files and texts
    assert out.data["txt"] is ds.data["txt"]
    assert not np.array_equal(out.data["sig"], ds.data["sig"], equal_nan=True)
    with pytest.raises(DataError, match=r"unknown modality 'x' \(dataset has: emb, tab, ts\)"):
        GaussianNoise("x", 0.1)(cohort, np.random.default_rng(0))


def test_drop_blanks_files_and_texts():
    ds = _signal_dataset()
    out = DropPattern(("sig",))(ds, np.random.default_rng(0))
    assert (out.data["txt"] == "").all() and (out.data["img"].paths == "").all()
    assert out.info["emptied_samples"] == int((~ds.availability("sig")).sum())


def test_apply_corruptions_reproducible_and_ordered(cohort):
    specs = ["any=drop:0.3", "tab=gaussian:0.5", "ts=segment:0.2"]
    a = apply_corruptions(cohort, specs, seed=9)
    b = apply_corruptions(cohort, [parse_corruption(s) for s in specs], seed=9)
    c = apply_corruptions(cohort, specs, seed=10)
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_array_equal(a.data["tab"], b.data["tab"])
    assert not np.array_equal(a.mask, c.mask)
    assert a.info["corruptions"] == ["any=drop:0.3", "tab=gaussian:0.5", "ts=segment:0.2"]
    assert a.mask.any(axis=1).all()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mrna=gaussian:0.5", GaussianNoise("mrna", 0.5)),
        ("vitals=segment:0.3", SegmentMask("vitals", 0.3)),
        ("vitals=flatline:0.3", SegmentMask("vitals", 0.3, "flatline")),
        ("any=drop:0.5", DropModality(None, 0.5)),
        (" protein = drop:1 ", DropModality("protein", 1.0)),
        ("omics=dropout:0.1", FeatureDropout("omics", 0.1)),
        ("notes+ehr=only", DropPattern(("ehr", "notes"))),
    ],
)
def test_parse_corruption(text, expected):
    assert parse_corruption(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("mrna=blur:0.5", "unknown kind 'blur'"),
        ("mrna=drop:1.5", "rate must be in [0, 1]"),
        ("mrna=dropout:-0.1", "rate must be in [0, 1]"),
        ("mrna=gaussian:-1", "level must be finite and >= 0"),
        ("vitals=segment:2", "fraction must be in [0, 1]"),
        ("mrna=gaussian", "needs a level"),
        ("mrna=gaussian:abc", "not a number"),
        ("gaussian:0.5", "expected TARGET=KIND"),
        ("any=only", "no level"),
        ("a+b=only:0.5", "no level"),
    ],
)
def test_parse_corruption_errors(text, message):
    with pytest.raises(ConfigError) as exc:
        parse_corruption(text)
    msg = str(exc.value)
    assert message in msg and "\n" not in msg
    if "unknown kind" in message or "must be" in message:
        assert "drop:RATE in [0, 1]" in msg and "gaussian:LEVEL >= 0" in msg  # lists valid kinds


def test_constructor_validates_levels():
    with pytest.raises(ConfigError, match="rate"):
        DropModality("a", 1.2)
    with pytest.raises(ConfigError, match="mode"):
        SegmentMask("a", 0.2, "zigzag")
    with pytest.raises(ConfigError, match="level"):
        GaussianNoise("a", float("nan"))
