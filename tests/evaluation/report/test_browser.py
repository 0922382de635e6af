"""The report renders in a real browser (headless Chromium): a screenshot that is not blank."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from omnifuse.evaluation.report import build_report
from omnifuse.evaluation.report.plots import NEUTRAL


def chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found is None:
        pytest.skip("chromium not installed")
    return found


def test_report_screenshot_in_headless_chromium_is_not_blank(cohorts_dir: Path, tmp_path: Path):
    browser = chromium()
    report = build_report(cohorts_dir)
    shot = tmp_path / "shot.png"
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1280,2000",
        f"--screenshot={shot}",
        report.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert shot.exists(), f"no screenshot (exit {done.returncode}): {done.stderr[-2000:]}"
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2000)
    pixels = np.asarray(image).reshape(-1, 3)
    not_white = (pixels < 235).any(axis=1).mean()
    colours = len(np.unique(pixels, axis=0))
    assert not_white > 0.02, f"only {not_white:.1%} of the screenshot is not white"
    assert colours > 20, f"only {colours} distinct colours"
    # the embedded PNGs are drawn, not only the page's text and CSS: the label-balance bars are visible
    bar = np.array([int(NEUTRAL[i : i + 2], 16) for i in (1, 3, 5)])
    assert (np.abs(pixels.astype(int) - bar).max(axis=1) <= 3).mean() > 0.001
