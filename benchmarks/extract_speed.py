"""Benchmark: `omnifuse extract` throughput on CPU at batch 32, and the cache-hit path.

    python benchmarks/extract_speed.py [--images 256] [--reports 512] [--size 1024] [--json PATH]

Rows:

* ``decode``: reading + decoding + resizing to 3 x 224 x 224 only (no model), images/s;
* ``images resnet-18``: end to end (read, hash, decode, ResNet-18-sized backbone with random
  weights built in code, frozen, batch 32), images/s; half the images are 8-bit PNG, half
  12-bit MONOCHROME2 DICOM with a window, all ``--size`` x ``--size`` pixels;
* ``reports minilm``: the bundled all-MiniLM-L6-v2 (mean pooling, 150 tokens, batch 32) on
  synthetic 40-120-word findings, reports/s (skipped without the `text` extra);
* ``... cache hit``: the same extraction again: every item read and hashed, every vector
  taken from the cache, the model never loaded (seconds for the whole run).

The cache goes to a temporary folder, never the user's cache.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def resnet18(folder: Path) -> Path:
    from transformers import ConvNextImageProcessorPil, ResNetConfig, ResNetModel

    torch.manual_seed(0)
    config = ResNetConfig(embedding_size=64, hidden_sizes=[64, 128, 256, 512], depths=[2, 2, 2, 2], layer_type="basic")
    ResNetModel(config).save_pretrained(folder)
    ConvNextImageProcessorPil(image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]).save_pretrained(folder)
    return folder


def write_dicom(path: Path, pixels: np.ndarray) -> None:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.set_pixel_data(pixels, photometric_interpretation="MONOCHROME2", bits_stored=12)
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ds.save_as(path, enforce_file_format=True)


def write_images(folder: Path, n: int, size: int) -> None:
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 1, size)[None, :] * np.linspace(0.5, 1, size)[:, None]
    for i in range(n):
        noisy = np.clip(ramp + 0.05 * rng.standard_normal((size, size)), 0, 1)
        if i % 2:
            write_dicom(folder / f"s{i:04d}.dcm", (noisy * 4095).astype(np.uint16))
        else:
            Image.fromarray((noisy * 255).astype(np.uint8), "L").save(folder / f"s{i:04d}.png")


def write_reports(path: Path, n: int) -> None:
    words = ("the lungs are clear no focal consolidation pleural effusion or pneumothorax heart size is "
             "normal mild pulmonary edema small left basilar atelectasis stable cardiomediastinal silhouette "
             "degenerative changes of the spine right lower lobe opacity may reflect pneumonia").split()  # fmt: skip
    rng = np.random.default_rng(0)
    rows = [f'r{i:05d},"{" ".join(rng.choice(words, rng.integers(40, 121)))}."' for i in range(n)]
    path.write_text("sample_id,findings\n" + "\n".join(rows) + "\n")


def timed(run: object) -> tuple[float, object]:
    start = time.perf_counter()
    result = run()  # type: ignore[operator]
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--reports", type=int, default=512)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["OMNIFUSE_CACHE"] = str(root / "cache")
        from omnifuse.media import ImageExtractor, TextExtractor, extract, image_items, minilm_available, text_items
        from omnifuse.media.images import load_image

        write_images(root / "img", args.images, args.size)
        items = image_items(root / "img")
        seconds, _ = timed(lambda: [load_image(Path(i.source).read_bytes(), i.source) for i in items])
        rows["decode (no model)"] = {"items": len(items), "seconds": seconds, "per_second": len(items) / seconds}
        model = resnet18(root / "resnet18")
        seconds, result = timed(lambda: extract(items, ImageExtractor(model), batch_size=32))
        rows["images resnet-18"] = {"items": len(items), "seconds": seconds, "per_second": len(items) / seconds}
        seconds, result = timed(lambda: extract(items, ImageExtractor(model), batch_size=32))
        assert result.n_cached == len(items)
        rows["images resnet-18 cache hit"] = {
            "items": len(items),
            "seconds": seconds,
            "per_second": len(items) / seconds,
        }
        if minilm_available():
            write_reports(root / "reports.csv", args.reports)
            texts = text_items(root / "reports.csv", "findings")
            seconds, _ = timed(lambda: extract(texts, TextExtractor(max_tokens=150), batch_size=32))
            rows["reports minilm"] = {"items": len(texts), "seconds": seconds, "per_second": len(texts) / seconds}
            seconds, result = timed(lambda: extract(texts, TextExtractor(max_tokens=150), batch_size=32))
            assert result.n_cached == len(texts)
            rows["reports minilm cache hit"] = {
                "items": len(texts),
                "seconds": seconds,
                "per_second": len(texts) / seconds,
            }
    print(f"CPU threads: torch {torch.get_num_threads()}, cores {os.cpu_count()}; images {args.size}x{args.size}")
    print("| row | items | seconds | items/s |\n|---|---:|---:|---:|")
    for name, row in rows.items():
        print(f"| {name} | {row['items']} | {row['seconds']:.2f} | {row['per_second']:.1f} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"threads": torch.get_num_threads(), "size": args.size, "rows": rows}, indent=2)
        )


if __name__ == "__main__":
    main()
