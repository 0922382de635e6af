#!/usr/bin/env bash
# Create (idempotently) a scratch virtualenv with fusilli 2.0.0 for benchmarks/fusilli_compare.py.
#
#     bash benchmarks/fusilli_setup.sh [VENV_DIR]      # default /tmp/fusilli-venv
#
# fusilli is NOT a dependency of omnifuse and never goes into the repository's .venv.
#
# Why not simply `pip install fusilli==2.0.0`:
#   * fusilli 2.0.0 requires setuptools~=68.0 while torch 2.13.0 requires setuptools>=77.0.3,
#     so pip cannot resolve both ("ResolutionImpossible"); without a torch pin pip instead
#     swaps the CPU wheel for torch 2.12.1 + ~4 GB of nvidia-* CUDA wheels.
#   * fusilli's other pins pull torchmetrics 0.11.4, which imports pkg_resources at import
#     time; pkg_resources is gone from setuptools >= 81.
# So: torch 2.13.0 (local CPU wheel) first, then fusilli's runtime requirements (its
# METADATA minus the setuptools pin) with torch constrained to 2.13.0, setuptools in
# [77.0.3, 81), and fusilli itself with --no-deps (fusilli never imports setuptools; only
# a vendored mcvae/setup.py mentions it).
set -euo pipefail

VENV="${1:-/tmp/fusilli-venv}"
PY="${PYTHON:-python3}"

if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip)

CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
printf 'torch==2.13.0\n' >"$CONSTRAINTS"

if "$VENV/bin/python" - <<'EOF' 2>/dev/null; then
import importlib.metadata as md, sys
want = {"torch": "2.13.0", "fusilli": "2.0.0"}
ok = all(md.version(k).split("+")[0] == v for k, v in want.items())
import torch, torchmetrics, fusilli.train, fusilli.data  # noqa: F401  (pkg_resources must import)
sys.exit(0 if ok else 1)
EOF
    echo "fusilli venv ready: $VENV"
else
    # 1. The local CPU wheel of torch (plain `torch` from the index is the CUDA build).
    "${PIP[@]}" install "torch==2.13.0"
    # 2. fusilli 2.0.0's runtime requirements, except its setuptools~=68.0 pin.
    "${PIP[@]}" install -c "$CONSTRAINTS" \
        "torch==2.13.0" \
        "lightning~=2.0" \
        "matplotlib~=3.5" \
        "numpy~=1.25" \
        "pandas~=2.0" \
        "scikit-learn~=1.0" \
        "torch-geometric~=2.0" \
        "torchmetrics~=0.0" \
        "tqdm~=4.0" \
        "sentry-sdk>=1.0.0" \
        "urllib3>=2.5.0" \
        "setuptools>=77.0.3,<81"
    # 3. fusilli itself, without letting pip re-resolve (and downgrade) torch/setuptools.
    "${PIP[@]}" install --no-deps "fusilli==2.0.0"
fi

"$VENV/bin/python" - <<'EOF'
import importlib.metadata as md
for name in ("fusilli", "torch", "lightning", "torchmetrics", "numpy", "pandas", "setuptools", "torch-geometric"):
    print(f"  {name}=={md.version(name)}")
EOF
echo "use: --fusilli-python $VENV/bin/python"
