"""Tiny random-weight backbones saved to disk (loaded by path, as a user's local model files
are) and image/DICOM file writers. Nothing here touches the network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

WORDS = (
    "no acute cardiopulmonary process large left pleural effusion with atelectasis the lungs are "
    "clear heart size is normal mild pulmonary edema right lower lobe pneumonia . ,"
).split()


def save_tiny_resnet(folder: Path, hidden_sizes: tuple[int, ...] = (8, 16), depths: tuple[int, ...] = (1, 1),
                     embedding_size: int = 8, seed: int = 0) -> Path:  # fmt: skip
    """A random-weight ResNet with a processor config, saved with save_pretrained."""
    import torch
    from transformers import ConvNextImageProcessorPil, ResNetConfig, ResNetModel

    torch.manual_seed(seed)
    config = ResNetConfig(embedding_size=embedding_size, hidden_sizes=list(hidden_sizes), depths=list(depths))
    ResNetModel(config).save_pretrained(folder)
    ConvNextImageProcessorPil(image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]).save_pretrained(folder)
    return folder


def save_tiny_bert(folder: Path, seed: int = 0) -> Path:
    """A random-weight BERT (hidden 16, 1 layer) with a small WordPiece vocabulary."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(WORDS)]) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab))
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=256)  # fmt: skip
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_resnet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_resnet(tmp_path_factory.mktemp("models") / "resnet")


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_bert(tmp_path_factory.mktemp("models") / "bert")


def write_dicom(
    path: Path,
    pixels: np.ndarray | None,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 12,
    **elements: object,
) -> Path:
    """A DICOM file (explicit VR little endian) holding ``pixels`` (or no pixel data when
    None) plus any extra elements (RescaleSlope=..., WindowCenter=..., ...)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.PatientID = "test"
    if pixels is not None:
        ds.set_pixel_data(pixels, photometric_interpretation=photometric, bits_stored=bits_stored)
    else:
        ds.PhotometricInterpretation = photometric
        ds.Rows, ds.Columns = 16, 16
    for key, value in elements.items():
        setattr(ds, key, value)
    ds.save_as(path, enforce_file_format=True)
    return path


def gradient(rows: int = 32, cols: int = 48, high: int = 4095) -> np.ndarray:
    """A horizontal ramp 0 .. high (uint16): dark on the left, bright on the right."""
    return np.tile(np.linspace(0, high, cols).round().astype(np.uint16), (rows, 1))


def write_images(folder: Path, seed: int = 0) -> dict[str, Path]:
    """PNG (L, RGB, RGBA, 16-bit), JPEG, two DICOMs (MONOCHROME1/2) of different sizes."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    files = {
        "grey": folder / "grey.png", "rgb": folder / "rgb.png", "rgba": folder / "rgba.png",
        "deep": folder / "deep.png", "photo": folder / "photo.jpg",
    }  # fmt: skip
    Image.fromarray(rng.integers(0, 256, (50, 70), dtype=np.uint8), "L").save(files["grey"])
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), "RGB").save(files["rgb"])
    Image.fromarray(rng.integers(0, 256, (31, 45, 4), dtype=np.uint8), "RGBA").save(files["rgba"])
    Image.fromarray(rng.integers(0, 4096, (80, 60)).astype(np.uint16)).save(files["deep"])
    Image.fromarray(rng.integers(0, 256, (100, 90, 3), dtype=np.uint8), "RGB").save(files["photo"], quality=90)
    files["mono1"] = write_dicom(folder / "mono1.dcm", gradient(), "MONOCHROME1")
    files["mono2"] = write_dicom(
        folder / "mono2.dcm", rng.integers(0, 4096, (40, 40)).astype(np.uint16), RescaleSlope=2, RescaleIntercept=-1024,
        WindowCenter=2048, WindowWidth=4096,
    )  # fmt: skip
    return files


def truncate(source: Path, target: Path) -> Path:
    """A copy of ``source`` cut in half (a truncated download)."""
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target
