"""Benchmark: per-model training time of omnifuse vs fusilli 2.0.0 on the same real data.

Data: TCGA breast (``shared/data/breast_tcga``), the mRNA (200) and miRNA (184) blocks of all
220 samples (both blocks are present for every sample), 3 subtypes. One grouped, stratified
hold-out (omnifuse's ``holdout_indices``, 20 %) gives 176 training / 44 validation samples;
both libraries get exactly these samples, standardised with training-set statistics.

Models (same layer sizes):

* fusilli ``ConcatTabularData`` (data-level concatenation, fusilli's simplest two-tabular
  fusion): ``cat(x_mrna, x_mirna) (384) -> Linear 256 -> ReLU -> Dropout .15 -> Linear 64 ->
  ReLU -> Dropout .15 -> Linear 3``; Adam, lr 1e-3, no weight decay.
* omnifuse ``early`` with ``embed_dim=256, head_hidden=64, dropout=0.15, weight_decay=0``:
  ``cat(x_mirna, x_mrna, mask) (386) -> LayerNorm -> Linear 256 -> GELU -> Dropout ->
  LayerNorm -> Linear 64 -> GELU -> Dropout -> Linear 3``; AdamW, lr 1e-3.
  (omnifuse ``concat`` fuses per-modality *encoder embeddings*, like fusilli's
  ``ConcatTabularFeatureMaps``, not raw inputs.)

Both sides: E epochs, batch B, early stopping disabled (omnifuse ``patience=10**6``; fusilli
``own_early_stopping_callback=EarlyStopping(patience=10**6)``), no checkpoint files, CPU,
one process, ``torch.set_num_threads(T)`` (and OMP/MKL_NUM_THREADS=T). Each measurement is a
fresh subprocess; imports, CSV parsing and data-module/split-context construction are outside
the timed region. Timed: the library's training call (omnifuse ``fit``; fusilli
``train_and_save_models``, which also runs one ``trainer.validate`` and saves a loss plot
after fitting) and, inside it, Lightning's ``Trainer.fit`` alone (same Lightning class on both
sides, wrapped with a timer). Also recorded: the process CPU time of the training call and
the 1-minute load average when it started (other jobs on the machine inflate wall-clock,
multi-threaded runs most of all).

``--diagnose-gc`` adds a diagnostic fusilli row with the ``gc.collect()`` that fusilli's
``BaseModel.on_validation_epoch_end`` runs after every validation epoch replaced by a no-op
(a profile shows it is most of fusilli's time on this data); it is not how fusilli runs.

    bash benchmarks/fusilli_setup.sh /tmp/fusilli-venv
    .venv/bin/python benchmarks/fusilli_compare.py --fusilli-python /tmp/fusilli-venv/bin/python \
        [--epochs 50] [--batch-sizes 32] [--threads 1 2] [--repeats 3] [--diagnose-gc]

The fusilli side (``--side fusilli``) runs under the scratch interpreter and imports nothing
from omnifuse.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "breast_tcga"
RESULT_PREFIX = "RESULT "
MODALITIES = ("mirna", "mrna")
OMNIFUSE_MODEL = "early"
FUSILLI_MODEL = "ConcatTabularData"
# omnifuse settings that give the fusilli model's layer sizes (384/386 -> 256 -> 64 -> 3).
OMNIFUSE_ARCH = {"embed_dim": 256, "head_hidden": 64, "dropout": 0.15, "lr": 1e-3, "weight_decay": 0.0}


# --------------------------------------------------------------------------------------------
# shared helpers (no third-party imports at module level: this file runs in both venvs)
# --------------------------------------------------------------------------------------------


def _install_fit_timer(log: list[dict[str, Any]]) -> None:
    """Wrap ``lightning.pytorch.Trainer.fit`` to record its wall-clock, epochs and threads."""
    import lightning.pytorch as pl
    import torch

    original = pl.Trainer.fit

    def timed_fit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            log.append(
                {
                    "seconds": time.perf_counter() - start,
                    "epochs": int(self.current_epoch),
                    "threads": torch.get_num_threads(),
                }
            )

    pl.Trainer.fit = timed_fit


def _emit(result: dict[str, Any]) -> None:
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# --------------------------------------------------------------------------------------------
# omnifuse side (repo .venv)
# --------------------------------------------------------------------------------------------


def run_omnifuse(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    import lightning.pytorch  # noqa: F401  (import outside the timed region)

    from omnifuse.data.loaders import load_dataset
    from omnifuse.training.fit import SplitContext, fit

    split = json.loads(Path(args.split_file).read_text())
    t0 = time.perf_counter()
    ds = load_dataset(args.data).select_modalities(list(MODALITIES))
    pos = {sid: i for i, sid in enumerate(ds.sample_ids)}
    train = np.array([pos[s] for s in split["train_ids"]], dtype=np.int64)
    val = np.array([pos[s] for s in split["val_ids"]], dtype=np.int64)
    ctx = SplitContext(ds, train, val)
    prep_seconds = time.perf_counter() - t0

    config = {
        "max_epochs": args.epochs,
        "patience": 10**6,
        "batch_size": args.batch_size,
        "num_threads": args.threads,
        "seed": args.seed,
        **OMNIFUSE_ARCH,
    }
    fit_log: list[dict[str, Any]] = []
    _install_fit_timer(fit_log)
    load = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    fitted = fit(OMNIFUSE_MODEL, ctx, config)
    train_seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu

    proba = fitted.predict_proba(val)
    acc = float((proba.argmax(1) == ds.y[val]).mean())
    _emit(
        {
            "library": "omnifuse",
            "model": OMNIFUSE_MODEL,
            "epochs": args.epochs,
            "batch": args.batch_size,
            "threads": args.threads,
            "train_seconds": train_seconds,
            "cpu_seconds": cpu_seconds,
            "load1": load,
            "trainer_fit_seconds": fit_log[-1]["seconds"],
            "epochs_run": fit_log[-1]["epochs"],
            "threads_seen": fit_log[-1]["threads"],
            "prep_seconds": prep_seconds,
            "n_params": fitted.n_params(),
            "n_train": len(train),
            "n_val": len(val),
            "val_accuracy": acc,
            "val_accuracy_note": "best-epoch weights (restored)",
            "torch": torch.__version__,
            "architecture": repr(fitted.model),
        }
    )


# --------------------------------------------------------------------------------------------
# fusilli side (scratch venv; imports nothing from omnifuse)
# --------------------------------------------------------------------------------------------


def _fusilli_csvs(data: Path, split: dict[str, Any], out: Path) -> tuple[dict[str, str], list[int]]:
    """fusilli's input format (ID, features..., prediction_label), standardised with the
    training samples' mean/std; returns the paths and the validation rows."""
    import pandas as pd

    labels = pd.read_csv(data / "labels.csv").set_index("sample_id")
    ids = list(split["train_ids"]) + list(split["val_ids"])
    codes = {name: i for i, name in enumerate(split["class_names"])}
    y = labels.loc[ids, "subtype"].map(codes).astype("int64").to_numpy()
    paths = {}
    for key, name in (("tabular1", "mrna"), ("tabular2", "mirna")):
        frame = pd.read_csv(data / f"{name}.csv").set_index("sample_id").loc[ids].astype("float64")
        train = frame.loc[split["train_ids"]]
        std = train.std(ddof=0).replace(0.0, 1.0)
        frame = (frame - train.mean()) / std
        frame.index.name = "ID"
        frame = frame.reset_index()
        frame["prediction_label"] = y
        paths[key] = str(out / f"{name}.csv")
        frame.to_csv(paths[key], index=False)
    n_train = len(split["train_ids"])
    return paths, list(range(n_train, len(ids)))


def run_fusilli(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    import warnings

    warnings.filterwarnings("ignore")
    import lightning.pytorch  # noqa: F401
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    from lightning.pytorch.callbacks import EarlyStopping

    import fusilli
    from fusilli.data import prepare_fusion_data
    from fusilli.fusionmodels.tabularfusion.concat_data import ConcatTabularData
    from fusilli.train import train_and_save_models

    split = json.loads(Path(args.split_file).read_text())
    work = Path(args.workdir)
    outputs = {k: str(work / k) for k in ("checkpoints", "figures", "losses")}
    for p in outputs.values():
        Path(p).mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    sources, val_rows = _fusilli_csvs(Path(args.data), split, work)
    dm = prepare_fusion_data(
        prediction_task="multiclass",
        fusion_model=ConcatTabularData,
        data_paths=sources,
        output_paths=outputs,
        batch_size=args.batch_size,
        multiclass_dimensions=len(split["class_names"]),
        test_indices=val_rows,
        own_early_stopping_callback=EarlyStopping(monitor="val_loss", patience=10**6, mode="min"),
        num_workers=0,
    )
    prep_seconds = time.perf_counter() - t0

    if args.no_gc:
        # diagnostic only (--diagnose-gc): fusilli's BaseModel.on_validation_epoch_end calls
        # gc.collect() after every validation epoch; make that call a no-op to measure its share.
        import fusilli.fusionmodels.base_model as base_model

        class _NoCollect:
            def __getattr__(self, name: str) -> Any:
                import gc as real_gc

                return (lambda *a, **k: 0) if name == "collect" else getattr(real_gc, name)

        base_model.gc = _NoCollect()

    fit_log: list[dict[str, Any]] = []
    _install_fit_timer(fit_log)
    load = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    trained = train_and_save_models(
        data_module=dm,
        fusion_model=ConcatTabularData,
        max_epochs=args.epochs,
        enable_checkpointing=False,
        show_loss_plot=False,
    )
    train_seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu

    pl_model = trained[0]
    metrics = dict(zip(pl_model.metric_names_list, pl_model.final_val_metrics))
    _emit(
        {
            "library": "fusilli" + (" (gc.collect disabled)" if args.no_gc else ""),
            "model": FUSILLI_MODEL,
            "epochs": args.epochs,
            "batch": args.batch_size,
            "threads": args.threads,
            "train_seconds": train_seconds,
            "cpu_seconds": cpu_seconds,
            "load1": load,
            "trainer_fit_seconds": fit_log[-1]["seconds"],
            "epochs_run": fit_log[-1]["epochs"],
            "threads_seen": fit_log[-1]["threads"],
            "prep_seconds": prep_seconds,
            "n_params": int(sum(p.numel() for p in pl_model.model.parameters())),
            "n_train": len(dm.train_dataset),
            "n_val": len(dm.test_dataset),
            "val_accuracy": float(metrics.get("Accuracy", float("nan"))),
            "val_accuracy_note": "last-epoch weights",
            "torch": torch.__version__,
            "fusilli": getattr(fusilli, "__version__", "?"),
            "architecture": repr(pl_model.model),
        }
    )


# --------------------------------------------------------------------------------------------
# driver (repo .venv)
# --------------------------------------------------------------------------------------------


def make_split(data: Path, fraction: float, seed: int, out: Path) -> dict[str, Any]:
    """One grouped, stratified hold-out over all samples (omnifuse's splitter), as sample ids."""
    import numpy as np

    from omnifuse.data.loaders import load_dataset
    from omnifuse.data.splits import holdout_indices

    ds = load_dataset(data).select_modalities(list(MODALITIES))
    if not bool(ds.mask.all()):
        raise SystemExit("expected mRNA and miRNA to be present for every sample")
    train, val = holdout_indices(ds, np.arange(len(ds)), fraction, seed=seed)
    split = {
        "train_ids": [str(s) for s in ds.sample_ids[train]],
        "val_ids": [str(s) for s in ds.sample_ids[val]],
        "class_names": list(ds.class_names),
    }
    out.write_text(json.dumps(split))
    return split


def run_child(
    python: str,
    side: str,
    args: argparse.Namespace,
    batch: int,
    threads: int,
    split_file: Path,
    workdir: Path,
    no_gc: bool = False,
) -> dict[str, Any]:
    env = dict(os.environ)
    env.update(
        {
            "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
            "MPLBACKEND": "Agg",
            "OMNIFUSE_CACHE": "off",
            "PYTHONWARNINGS": "ignore",
        }
    )
    cmd = [
        python,
        str(Path(__file__).resolve()),
        "--side",
        side,
        "--data",
        str(args.data),
        "--split-file",
        str(split_file),
        "--epochs",
        str(args.epochs),
        "--batch-size",
        str(batch),
        "--threads",
        str(threads),
        "--seed",
        str(args.seed),
        "--workdir",
        str(workdir),
    ]
    if no_gc:
        cmd.append("--no-gc")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(workdir))
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-25:])
        raise RuntimeError(f"{side} child failed (exit {proc.returncode}):\n{tail}")
    return json.loads(lines[-1][len(RESULT_PREFIX) :])


LIBRARIES = ("omnifuse", "fusilli", "fusilli (gc.collect disabled)")


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["batch"], r["threads"], r["library"]), []).append(r)

    def med(key: tuple, field: str) -> float:
        return statistics.median(r[field] for r in groups[key])

    lines = [
        "| library | model | epochs | batch | threads | median train s | s / epoch | ratio fusilli/omnifuse"
        " | median Trainer.fit s | Trainer.fit ratio | median CPU s | CPU ratio | max load (1 min) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for batch in args.batch_sizes:
        for threads in args.threads:
            base = (batch, threads, "omnifuse")
            for lib in LIBRARIES:
                key = (batch, threads, lib)
                if key not in groups:
                    continue
                t, tf, cpu = med(key, "train_seconds"), med(key, "trainer_fit_seconds"), med(key, "cpu_seconds")
                load = max(r["load1"] for r in groups[key])
                lines.append(
                    f"| {lib} | {groups[key][0]['model']} | {args.epochs} | {batch} | {threads} | {t:.2f}"
                    f" | {t / args.epochs:.4f} | {t / med(base, 'train_seconds'):.2f} | {tf:.2f}"
                    f" | {tf / med(base, 'trainer_fit_seconds'):.2f} | {cpu:.2f} | {cpu / med(base, 'cpu_seconds'):.2f}"
                    f" | {load:.1f} |"
                )
    lines += [
        "",
        "| library | batch | threads | runs: train s (load) | epochs run | torch threads in fit"
        " | params | train/val | prep s (untimed) | val accuracy |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for (batch, threads, lib), rs in sorted(
        groups.items(), key=lambda kv: (-kv[0][0], kv[0][1], LIBRARIES.index(kv[0][2]))
    ):
        r0 = rs[0]
        runs = ", ".join(f"{r['train_seconds']:.2f} ({r['load1']:.1f})" for r in rs)
        accs = ", ".join(sorted({f"{r['val_accuracy']:.3f}" for r in rs}))
        lines.append(
            f"| {lib} | {batch} | {threads} | {runs} | {r0['epochs_run']} | {r0['threads_seen']} | {r0['n_params']}"
            f" | {r0['n_train']}/{r0['n_val']} | {statistics.median(r['prep_seconds'] for r in rs):.2f}"
            f" | {accs} ({r0['val_accuracy_note']}) |"
        )
    return "\n".join(lines)


def driver(args: argparse.Namespace) -> None:
    if not Path(args.data).is_dir():
        raise SystemExit(f"{args.data}: data folder not found (pass --data)")
    if not Path(args.fusilli_python).exists():
        raise SystemExit(f"{args.fusilli_python}: no such interpreter (run benchmarks/fusilli_setup.sh)")
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="fusilli-compare-") as tmp:
        tmpdir = Path(tmp)
        split_file = tmpdir / "split.json"
        split = make_split(Path(args.data), args.val_fraction, args.seed, split_file)
        print(
            f"data: {args.data} ({len(split['train_ids'])} train / {len(split['val_ids'])} validation, "
            f"modalities mrna+mirna, classes {split['class_names']})",
            file=sys.stderr,
        )
        sides = [("omnifuse", sys.executable, False), ("fusilli", args.fusilli_python, False)]
        if args.diagnose_gc:
            sides.append(("fusilli", args.fusilli_python, True))
        run_id = 0
        for batch in args.batch_sizes:
            for threads in args.threads:
                for rep in range(args.repeats):
                    # alternate the order of the sides between repeats to spread any drift
                    for side, python, no_gc in sides if rep % 2 == 0 else sides[::-1]:
                        run_id += 1
                        workdir = tmpdir / f"run{run_id}"
                        workdir.mkdir()
                        r = run_child(python, side, args, batch, threads, split_file, workdir, no_gc)
                        results.append(r)
                        print(
                            f"  {r['library']:30s} batch={batch} threads={threads} rep={rep}: "
                            f"{r['train_seconds']:.2f} s (Trainer.fit {r['trainer_fit_seconds']:.2f} s, "
                            f"CPU {r['cpu_seconds']:.2f} s, {r['epochs_run']} epochs, load {r['load1']:.1f})",
                            file=sys.stderr,
                        )
    arch = {r["library"]: r["architecture"] for r in results}
    fusilli_version = next(r.get("fusilli") for r in results if r["library"] == "fusilli")
    print(
        f"# omnifuse vs fusilli training time ({platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {results[0]['torch']}, fusilli {fusilli_version}, {args.repeats} repeats)\n"
    )
    print(report(results, args))
    print("\nomnifuse model:\n```\n" + arch["omnifuse"] + "\n```\nfusilli model:\n```\n" + arch["fusilli"] + "\n```")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=1))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fusilli-python", help="python of the scratch venv with fusilli (driver only)")
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[32])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--diagnose-gc",
        action="store_true",
        help="also time fusilli with its per-epoch gc.collect() disabled (diagnostic row)",
    )
    p.add_argument("--json-out", help="also write every run's raw record here")
    # internal: one measurement in a fresh interpreter
    p.add_argument("--side", choices=["driver", "omnifuse", "fusilli"], default="driver", help=argparse.SUPPRESS)
    p.add_argument("--split-file", help=argparse.SUPPRESS)
    p.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--workdir", help=argparse.SUPPRESS)
    p.add_argument("--no-gc", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.side == "driver":
        if not args.fusilli_python:
            p.error("--fusilli-python is required")
        driver(args)
    else:
        args.threads = args.threads[0]
        (run_omnifuse if args.side == "omnifuse" else run_fusilli)(args)


if __name__ == "__main__":
    main()
