#!/usr/bin/env bash
# The model on a GPU machine that has libtorch (torch 2.11 + CUDA) but no
# OpenCV and no network: a build of `glimpse` without the `app` feature
# (train, eval, bench model) needs only libtorch.
#
#   here:   bash scripts/gpu-check.sh prepare
#           builds target/torch-only/release/glimpse and stages it, with the
#           training data's flow images and labels, in .gpu/ (git-ignored:
#           the data is never committed, it only travels for the run)
#   there:  bash scripts/gpu-check.sh run        (the device tool: carry .gpu)
#           `bench model` on CUDA, then a short LOSO (GPU_CHECK_FOLDS folds,
#           default 4, full 80-epoch schedule) on CUDA, then the same folds'
#           figures; the JSON reports go to $OUT (or .gpu/out). About 3-5
#           minutes on an H100.
set -euo pipefail
cd "$(dirname "$0")/.."
STAGE=.gpu
DATA=${DATA:-../shared/data/megc2019-composite}

case "${1:-}" in
prepare)
  bash scripts/setup.sh
  # shellcheck disable=SC1091
  source "${GLIMPSE_CACHE:-$HOME/.cache/glimpse}/v1/env.sh"
  cargo build --release --no-default-features --target-dir target/torch-only
  rm -rf "$STAGE" && mkdir -p "$STAGE/data"
  cp target/torch-only/release/glimpse "$STAGE/glimpse"
  strip "$STAGE/glimpse"
  cp "$DATA/labels.csv" "$STAGE/data/"
  cp -r "$DATA/flow" "$STAGE/data/flow"
  echo "staged $(du -sh "$STAGE" | cut -f1) in $STAGE: carry it and run 'bash scripts/gpu-check.sh run'"
  ;;
run)
  OUT_DIR=${OUT:-$STAGE/out}
  mkdir -p "$OUT_DIR"
  PY=${TORCH_PYTHON:-/opt/torch/.venv/bin/python}
  TORCH_LIB=$("$PY" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
  export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
  BIN="$STAGE/glimpse"
  "$BIN" --version
  echo "== bench model (CUDA and CPU) =="
  "$BIN" --device cuda bench model --out "$OUT_DIR/bench-model-cuda.json"
  echo "== LOSO, first ${GPU_CHECK_FOLDS:-4} folds, CUDA =="
  "$BIN" --device cuda train --protocol loso --data "$STAGE/data" --test-time-mirror \
    --folds "${GPU_CHECK_FOLDS:-4}" --out "$OUT_DIR/loso-cuda-${GPU_CHECK_FOLDS:-4}folds.json"
  ;;
*)
  echo "usage: bash scripts/gpu-check.sh prepare|run" >&2
  exit 2
  ;;
esac
