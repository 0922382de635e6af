#!/usr/bin/env bash
# Create (idempotently) a scratch virtualenv with fusilli 2.0.0 for benchmarks/fusilli_compare.py.
#
#     bash benchmarks/fusilli_setup.sh [VENV_DIR]      # default /tmp/fusilli-venv
#
# fusilli is NOT a dependency of omnifuse: it never goes into the repository's .venv and none
# of its code is copied into the repository.
#
# Why not simply `pip install fusilli==2.0.0`:
#   * fusilli 2.0.0 requires setuptools~=68.0 while torch 2.13.0 requires setuptools>=77.0.3,
#     so pip cannot install both ("ResolutionImpossible"); without a torch constraint pip
#     instead replaces the CPU wheel by torch 2.12.1 plus ~4 GB of nvidia-* CUDA wheels.
#   * fusilli's torchmetrics~=0.0 resolves to torchmetrics 0.11.4, which imports pkg_resources
#     at import time; pkg_resources is gone from setuptools >= 81.
# So: torch 2.13.0 (the local CPU wheel) first; then fusilli's runtime requirements (its
# METADATA minus the setuptools pin) with setuptools 80.10.2 (>= 77.0.3 for torch, < 81 for
# pkg_resources); then fusilli itself with --no-deps (fusilli never imports setuptools; only
# a vendored mcvae/setup.py mentions it). Every version below is the set that worked
# (`pip freeze` of the venv the benchmark was run with), applied as constraints.
set -euo pipefail

VENV="${1:-/tmp/fusilli-venv}"
PY="${PYTHON:-python3}"

if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip)

CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
cat >"$CONSTRAINTS" <<'EOF'
torch==2.13.0
fusilli==2.0.0
lightning==2.6.6
pytorch-lightning==2.6.6
lightning-utilities==0.15.3
torchmetrics==0.11.4
torch-geometric==2.8.1
numpy==1.26.4
pandas==2.3.3
scipy==1.17.1
scikit-learn==1.9.1
matplotlib==3.11.2
tqdm==4.70.1
sentry-sdk==2.75.0
urllib3==2.8.0
setuptools==80.10.2
aiohappyeyeballs==2.7.1
aiohttp==3.14.5
aiosignal==1.4.0
attrs==26.1.0
certifi==2026.10.19.post1
charset-normalizer==3.5.2
cloudpickle==3.1.3
contourpy==1.3.3
cycler==0.12.1
filelock==4.2.12
fonttools==4.68.0
frozenlist==1.8.0
fsspec==2026.9.0
idna==3.20
Jinja2==3.1.6
joblib==1.6.0
kiwisolver==1.5.1
MarkupSafe==3.0.4
mpmath==1.3.0
multidict==7.2.1
narwhals==2.29.0
networkx==3.6.1
packaging==26.3
pillow==13.0.0
propcache==0.5.4
psutil==7.2.2
pyparsing==3.3.3
python-dateutil==4.0.0
pytz==2026.6
PyYAML==6.0.4
requests==2.34.2
sympy==1.14.0
threadpoolctl==3.8.0
typing_extensions==4.16.0
tzdata==2026.6
xxhash==4.1.0
yarl==1.25.1
EOF

ready() {
    "$VENV/bin/python" - <<'EOF' 2>/dev/null
import importlib.metadata as md, sys
want = {"torch": "2.13.0", "fusilli": "2.0.0", "torchmetrics": "0.11.4", "setuptools": "80.10.2"}
ok = all(md.version(k).split("+")[0] == v for k, v in want.items())
import torch, torchmetrics, fusilli.train, fusilli.data  # noqa: F401  (pkg_resources must import)
sys.exit(0 if ok and torch.__version__.endswith("+cpu") else 1)
EOF
}

if ready; then
    echo "fusilli venv already set up: $VENV"
else
    # 1. The local CPU wheel of torch (plain `torch` from the index is the CUDA build).
    "${PIP[@]}" install -c "$CONSTRAINTS" "torch==2.13.0"
    # 2. fusilli 2.0.0's runtime requirements, except its setuptools~=68.0 pin.
    "${PIP[@]}" install -c "$CONSTRAINTS" \
        "torch==2.13.0" \
        "lightning==2.6.6" \
        "matplotlib==3.11.2" \
        "numpy==1.26.4" \
        "pandas==2.3.3" \
        "scikit-learn==1.9.1" \
        "torch-geometric==2.8.1" \
        "torchmetrics==0.11.4" \
        "tqdm==4.70.1" \
        "sentry-sdk==2.75.0" \
        "urllib3==2.8.0" \
        "setuptools==80.10.2"
    # 3. fusilli itself, without letting pip re-resolve (and replace) torch or setuptools.
    "${PIP[@]}" install --no-deps "fusilli==2.0.0"
    ready || { echo "fusilli venv at $VENV does not import cleanly" >&2; exit 1; }
fi

"$VENV/bin/python" - <<'EOF'
import importlib.metadata as md
for name in ("fusilli", "torch", "lightning", "torchmetrics", "torch-geometric", "numpy", "pandas", "setuptools"):
    print(f"  {name}=={md.version(name)}")
EOF
echo "use: --fusilli-python $VENV/bin/python"
