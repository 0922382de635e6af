"""``omnifuse data ...``: inspect, convert and simulate datasets."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from omnifuse.cli.common import DataOption, StrictOption, app, console, interactive, load_data
from omnifuse.cli.output import print_summary
from omnifuse.errors import ConfigError

data_app = typer.Typer(help="Inspect, convert and simulate datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("inspect")
def data_inspect(
    path: Path = typer.Argument(..., help="Dataset path."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Parse the source files again."),
    strict: bool = StrictOption,
) -> None:
    """Modalities, availability per modality and pattern, label balance and split sizes."""
    ds = load_data(path, strict=strict, use_cache=not no_cache, progress=interactive() and not as_json)
    summary = ds.summary()
    if as_json:
        console.print_json(json.dumps(summary, default=str))
        return
    print_summary(summary, title=str(path))


@data_app.command("convert")
def data_convert(
    data: Path = DataOption,
    out: Path = typer.Option(..., "--out", help="Output folder (generic folder format)."),
    fmt: str = typer.Option("csv", "--format", help="csv or parquet."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty output folder."),
    strict: bool = StrictOption,
) -> None:
    """Write any loadable dataset in the generic folder format."""
    from omnifuse.data.loaders import write_folder  # deferred: keeps `omnifuse --help` fast (torch, pandas)

    source, target = Path(data).resolve(), Path(out).resolve()
    if source == target or source in target.parents or target in source.parents:
        raise ConfigError(f"{out}: the output folder overlaps the input {data}; choose another --out")
    ds = load_data(data, strict=strict)
    write_folder(ds, out, fmt=fmt, overwrite=overwrite)
    console.print(f"wrote {len(ds)} samples, {ds.n_modalities} modalities to {out}")


@data_app.command("simulate")
def data_simulate(
    out: Path = typer.Option(..., "--out", help="Output folder."),
    kind: str = typer.Option(
        "cohort",
        "--kind",
        help="cohort: a low-quality cohort (generic folder format); sleep: Sleep-EDF-like PSG + hypnogram EDF files.",
    ),  # fmt: skip
    modalities: int = typer.Option(3, "--modalities", "-m", min=1, help="Number of modalities (cohort)."),
    n_samples: int = typer.Option(1000, "--n-samples", "-n", min=10, help="Number of samples (cohort)."),
    recordings: int = typer.Option(10, "--recordings", min=1, max=200, help="Number of nights (sleep)."),
    epochs: int = typer.Option(120, "--epochs", min=40, help="30 s epochs per night (sleep)."),
    unimodal: int = typer.Option(0, "--unimodal", min=0, help="Nights with EEG or EOG only (sleep)."),
    noisy: int = typer.Option(
        0,
        "--noisy",
        min=0,
        help="Nights with the EEG or EOG corrupted over 45-70% of the epochs "
        "by movement bursts or electrode detachment (sleep).",
    ),  # fmt: skip
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same data)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty output folder."),
) -> None:
    """Simulate a low-quality cohort with known lazy modalities (writes truth.json beside it),
    or Sleep-EDF-like nights with --kind sleep."""
    if kind == "sleep":
        from omnifuse.data.sleep import simulate_sleep  # deferred: keeps `omnifuse --help` fast (pyedflib)

        nights = simulate_sleep(
            out,
            n_recordings=recordings,
            n_epochs=epochs,
            seed=seed,
            unimodal=unimodal,
            noisy=noisy,
            overwrite=overwrite,
        )
        console.print(f"wrote {len(nights)} nights of {epochs} epochs (PSG + hypnogram EDF) to {out}")
        corrupted = [f"{n.name} ({n.noisy} {n.artefact}, {len(n.corrupted)} epochs)" for n in nights if n.noisy]
        if corrupted:
            console.print(f"noisy nights: {', '.join(corrupted)}")
        return
    if kind != "cohort":
        raise ConfigError(f"unknown --kind '{kind}' (valid: cohort, sleep)")
    from omnifuse.data.loaders import write_folder  # deferred: keeps `omnifuse --help` fast (torch, pandas)
    from omnifuse.data.simulate import default_cohort  # deferred: keeps `omnifuse --help` fast (torch)

    ds, truth = default_cohort(modalities, seed=seed, n_samples=n_samples)
    write_folder(ds, out, overwrite=overwrite)
    (Path(out) / "truth.json").write_text(json.dumps(truth.to_dict(), indent=2))
    console.print(f"wrote {len(ds)} samples, {ds.n_modalities} modalities to {out}")
    console.print(f"lazy combination (ground truth): {'+'.join(truth.lazy_combination) or 'none'}")


@data_app.command("mimic")
def data_mimic(
    mimic_iv: Path = typer.Option(..., "--mimic-iv", help="MIMIC-IV v2.x folder (hosp/, icu/)."),
    cxr: Path = typer.Option(..., "--cxr", help="MIMIC-CXR-JPG folder (mimic-cxr-2.0.0-metadata.csv.gz, files/)."),
    reports: Path = typer.Option(..., "--reports", help="MIMIC-CXR reports folder (files/pXX/pSUBJECT/sSTUDY.txt)."),
    out: Path = typer.Option(..., "--out", help="Output folder (generic folder format)."),
    views: str = typer.Option("AP,PA", "--views", help="CXR view positions in order of preference (MedFuse: AP)."),
    derive_gcs_total: bool = typer.Option(
        True,
        "--derive-gcs-total/--no-derive-gcs-total",
        help="GCS total from eye+verbal+motor charted together (MIMIC-IV has no GCS total item).",
    ),  # fmt: skip
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty output folder."),
) -> None:
    """Seed 000's in-hospital-mortality cohort from local MIMIC files: EHR (17 variables, 2-hour
    bins over the first 48 h, 76 columns), the stay's chest X-ray and its report's findings."""
    from omnifuse.data.mimic import build_mimic, write_mimic  # deferred: keeps `omnifuse --help` fast (torch, pandas)

    target = Path(out).resolve()
    for source in (mimic_iv, cxr, reports):
        source = Path(source).resolve()
        if source == target or source in target.parents or target in source.parents:
            raise ConfigError(f"{out}: the output folder overlaps the input {source}; choose another --out")
    chosen = tuple(v.strip().upper() for v in views.split(",") if v.strip())
    result = build_mimic(
        mimic_iv, cxr, reports, views=chosen, derive_gcs_total=derive_gcs_total, progress=interactive()
    )
    write_mimic(result, out, overwrite=overwrite)
    s = result.summary
    skipped = ", ".join(f"{k} {v}" for k, v in s["skipped_stays"].items() if v) or "none"
    present = ", ".join(f"{name} {count}" for name, count in s["modalities"].items())
    for line in (
        f"wrote {s['stays_kept']} ICU stays ({s['labels']['died']} in-hospital deaths) to {out}",
        f"stays with each modality: {present}",
        f"skipped stays: {skipped} (of {s['icu_stays_read']} read); details in {Path(out) / 'mimic_summary.json'}",
    ):
        console.print(line, soft_wrap=True, highlight=False)
