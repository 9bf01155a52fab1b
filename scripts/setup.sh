#!/usr/bin/env bash
# Idempotent set-up for Glimpse on Debian 12: system packages, a torch wheel
# (our libtorch) in a versioned cache outside the clone, and an env file that
# the Makefile sources so cargo finds libtorch. With everything present it
# only checks and returns in a second or two.
set -euo pipefail

TORCH_VERSION=2.11.0
FACENET_VERSION=2.6.0
SKIMAGE_VERSION=0.24.0
MEDIAPIPE_VERSION=0.10.21
# Pure-Python parser of the .tflite flatbuffer, used once by convert_face_mesh.py.
TFLITE_PARSER=(tflite==2.18.0 flatbuffers==25.12.19)
CACHE_ROOT="${GLIMPSE_CACHE:-$HOME/.cache/glimpse}"
CACHE="$CACHE_ROOT/v1"
VENV="$CACHE/venv-torch-$TORCH_VERSION"
ENV_FILE="$CACHE/env.sh"
# MTCNN face-detector weights and the public-domain astronaut photo used by
# `glimpse synth`, both taken from pinned PyPI wheels once, at set-up.
MTCNN_DIR="$CACHE/mtcnn-facenet-pytorch-$FACENET_VERSION"
ASSETS_DIR="$CACHE/assets-scikit-image-$SKIMAGE_VERSION"
# MediaPipe Face Mesh (468 dense landmarks, Apache-2.0), converted from the
# face_landmark.tflite inside the pinned mediapipe wheel.
FACE_MESH_DIR="$CACHE/face-mesh-mediapipe-$MEDIAPIPE_VERSION"

APT_PACKAGES=(
  pkg-config clang libclang-dev strace
  libopencv-dev libopencv-contrib-dev opencv-data
  xvfb xauth libgl1 libegl1 libgl1-mesa-dri libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6
)

log() { printf '[setup] %s\n' "$*" >&2; }

export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cargo >/dev/null; then
  log "cargo (Rust 1.85 or newer, from rustup) is required and is not on PATH"
  exit 1
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$CACHE"
if [ ! -f "$VENV/.complete" ]; then
  log "creating torch $TORCH_VERSION virtualenv in $VENV (about 2.7 GB, once)"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "torch==$TORCH_VERSION"
  touch "$VENV/.complete"
fi

if [ ! -f "$MTCNN_DIR/.complete" ]; then
  log "converting MTCNN weights from facenet-pytorch==$FACENET_VERSION into $MTCNN_DIR"
  work="$(mktemp -d)"
  "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps -d "$work" "facenet-pytorch==$FACENET_VERSION"
  (cd "$work" && python3 -m zipfile -e facenet_pytorch-*.whl unpacked)
  rm -rf "$MTCNN_DIR" && mkdir -p "$MTCNN_DIR"
  "$VENV/bin/python" -W ignore "$(dirname "$0")/convert_mtcnn.py" "$work/unpacked/facenet_pytorch/data" "$MTCNN_DIR" >&2
  rm -rf "$work"
  touch "$MTCNN_DIR/.complete"
fi

if [ ! -f "$ASSETS_DIR/.complete" ]; then
  log "extracting the astronaut photo from scikit-image==$SKIMAGE_VERSION into $ASSETS_DIR"
  work="$(mktemp -d)"
  "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.11 --platform manylinux2014_x86_64 -d "$work" "scikit-image==$SKIMAGE_VERSION"
  python3 - "$work"/scikit_image-*.whl "$ASSETS_DIR" <<'PY'
import os, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    data = z.read("skimage/data/astronaut.png")
with open(os.path.join(out, "astronaut.png.tmp"), "wb") as f:
    f.write(data)
os.replace(os.path.join(out, "astronaut.png.tmp"), os.path.join(out, "astronaut.png"))
PY
  rm -rf "$work"
  touch "$ASSETS_DIR/.complete"
fi

if [ ! -f "$FACE_MESH_DIR/.complete" ]; then
  log "converting MediaPipe Face Mesh from mediapipe==$MEDIAPIPE_VERSION into $FACE_MESH_DIR (36 MB wheel, once)"
  work="$(mktemp -d)"
  "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.11 --platform manylinux_2_28_x86_64 -d "$work" "mediapipe==$MEDIAPIPE_VERSION"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --target "$work/pylib" "${TFLITE_PARSER[@]}"
  python3 - "$work"/mediapipe-*.whl "$work/face_landmark.tflite" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as f:
    f.write(z.read("mediapipe/modules/face_landmark/face_landmark.tflite"))
PY
  rm -rf "$FACE_MESH_DIR" && mkdir -p "$FACE_MESH_DIR"
  PYTHONPATH="$work/pylib" "$VENV/bin/python" -W ignore "$(dirname "$0")/convert_face_mesh.py" \
    "$work/face_landmark.tflite" "$FACE_MESH_DIR" >&2
  rm -rf "$work"
  touch "$FACE_MESH_DIR/.complete"
fi

if [ ! -f "$ENV_FILE" ] || [ "$VENV/.complete" -nt "$ENV_FILE" ] || ! grep -q GLIMPSE_FACE_MESH "$ENV_FILE"; then
  # Ask torch itself once; later runs reuse the answer (importing torch costs seconds).
  LIBTORCH="$("$VENV/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null)"
  CXX11_ABI="$("$VENV/bin/python" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null)"
  cat > "$ENV_FILE.tmp" <<ENV
export GLIMPSE_VENV="$VENV"
export LIBTORCH="$LIBTORCH"
export LIBTORCH_CXX11_ABI="$CXX11_ABI"
export GLIMPSE_MTCNN="$MTCNN_DIR"
export GLIMPSE_ASTRONAUT="$ASSETS_DIR/astronaut.png"
export GLIMPSE_FACE_MESH="$FACE_MESH_DIR"
ENV
  mv "$ENV_FILE.tmp" "$ENV_FILE"
fi
. "$ENV_FILE"
log "ready: LIBTORCH=$LIBTORCH (env in $ENV_FILE)"
