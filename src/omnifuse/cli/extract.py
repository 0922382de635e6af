"""``omnifuse extract``: images or report texts to an embedding modality file."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from omnifuse.cli.common import app, console, interactive
from omnifuse.errors import ConfigError


@app.command("extract")
def extract_command(
    images: Optional[Path] = typer.Option(
        None,
        "--images",
        help="A folder of images (PNG, JPEG, TIFF, BMP, DICOM; sample id = file name "
        "without suffix) or a CSV/Parquet table with sample_id and path columns.",
    ),  # fmt: skip
    text: Optional[Path] = typer.Option(None, "--text", help="A CSV/Parquet table of texts keyed by sample_id."),
    column: Optional[str] = typer.Option(
        None,
        "--column",
        help="The text column (required with --text), or the path column of an --images table (default 'path').",
    ),  # fmt: skip
    id_column: str = typer.Option("sample_id", "--id-column", help="The sample id column of a table."),
    model: Optional[str] = typer.Option(
        None,
        "--model",
        help="Hub id (looked up in the local Hugging Face cache) or local model directory. "
        "Default: microsoft/resnet-34 for images; the bundled all-MiniLM-L6-v2 for text (the 'text' extra of omnifuse).",
    ),  # fmt: skip
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Items per forward pass."),
    max_tokens: Optional[int] = typer.Option(
        None, "--max-tokens", min=2, help="Text: truncate/pad to this many tokens (default 150)."
    ),
    pooling: Optional[str] = typer.Option(
        None, "--pooling", help="Text: cls or mean (default: what the model declares, else mean)."
    ),
    image_size: Optional[int] = typer.Option(
        None, "--image-size", min=8, help="Images: side of the resized square (default: the model's, else 224)."
    ),
    online: bool = typer.Option(False, "--online", help="Allow downloading a model missing from the local cache."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Compute every embedding again (and cache nothing)."),
    out: Path = typer.Option(
        ..., "--out", help="Output file: .parquet or .csv (an embedding modality), or .safetensors."
    ),
) -> None:
    """Embed images or report texts with a pretrained backbone (frozen, offline by default),
    cached per item; the output drops into a cohort folder as an embedding modality."""
    from omnifuse.media import (  # deferred: keeps `omnifuse --help` fast (torch)
        ImageExtractor,
        TextExtractor,
        check_output,
        extract,
        image_items,
        text_items,
        write_embeddings,
    )

    if (images is None) == (text is None):
        raise ConfigError("give exactly one of --images DIR_OR_TABLE or --text TABLE")
    if images is not None and (pooling is not None or max_tokens is not None):
        raise ConfigError("--pooling and --max-tokens apply to --text only")
    if text is not None and image_size is not None:
        raise ConfigError("--image-size applies to --images only")
    if text is not None and not column:
        raise ConfigError("--text needs --column: the name of the column holding the texts")
    check_output(out)
    extractor: ImageExtractor | TextExtractor
    if images is not None:
        items = image_items(images, path_column=column or "path", id_column=id_column)
        extractor = ImageExtractor(model, image_size=image_size, allow_download=online)
    else:
        items = text_items(text, column=str(column), id_column=id_column)  # type: ignore[arg-type]
        extractor = TextExtractor(model, pooling=pooling, max_tokens=max_tokens or 150, allow_download=online)
    result = extract(items, extractor, batch_size=batch_size, use_cache=not no_cache, progress=interactive())
    write_embeddings(result, out)
    console.print(
        f"embedded {len(result.sample_ids)} {extractor.kind}(s) with {result.model} -> {result.dim}-d "
        f"({result.n_computed} computed, {result.n_cached} from the cache"
        + (f", {len(result.failed)} failed" if result.failed else "")
        + f") in {result.seconds:.1f} s; wrote {out}",
        highlight=False,
        soft_wrap=True,
    )
    if out.suffix.lower() in (".parquet", ".csv"):
        console.print(
            f"as a modality: put it in a cohort folder as <name>{out.suffix.lower()} and declare "
            "'<name>: {kind: embedding}' under 'modalities:' in modalities.yaml",
            highlight=False,
            soft_wrap=True,
        )
