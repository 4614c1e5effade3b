#!/usr/bin/env bash
# Download the wheels tools/device_check.sh installs on the GPU machine, into .whl/.
#
#   bash tools/fetch_wheels.sh [DEST]        (default DEST: .whl, git-ignored)
#
# The device machine has Python 3.12 with its own torch and the packages in ON_DEVICE
# below (from the device tool's KINDS.md list), but no mmengine / mmcv-lite / mmpretrain /
# pycocotools and no package registry. So this fetches exactly those four (at the versions
# of requirements/pinned.txt) and the dependencies of theirs that the machine lacks, each
# with --no-deps: resolving deps would pull opencv-python (tens of MB) and a second
# numpy/torch that would shadow the machine's own. Pure-Python wheels are py3-none-any;
# pycocotools is a cp312 manylinux one. tools/check_wheel_deps.py then checks that every
# requirement of every wheel is among them or in ON_DEVICE, so a missing one fails here
# and not on GPU time (the dry run under Python 3.12 + torch 2.11 found two).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-.whl}
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3

pin() {  # version of $1 in requirements/pinned.txt
    sed -n "s/^$1==\([^ ]*\).*/\1/p" requirements/pinned.txt
}
PACKAGES=(
    "mmengine==$(pin mmengine)" "mmcv-lite==$(pin mmcv-lite)" "mmpretrain==$(pin mmpretrain)"
    "pycocotools==$(pin pycocotools)"
    # missing dependencies of the four above (the rest is on the machine)
    addict==2.4.0 termcolor==3.3.0 yapf==0.43.0 platformdirs==4.14.9
    mat4py==0.6.0 ordered-set==4.1.0 importlib-metadata==10.2.0
    modelindex==0.0.2 model-index==0.1.11  # mmpretrain's name for it, and the real package
    lazy-importer==0.1.0  # importlib-metadata 10 imports it on Python < 3.15
)
ON_DEVICE=(
    torch torchvision timm numpy scipy matplotlib opencv-python-headless pillow pyyaml rich
    einops packaging zipp click markdown
)
mkdir -p "$DEST"
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 -d "$DEST" "${PACKAGES[@]}"
count=$(ls "$DEST"/*.whl | wc -l)
size=$(du -sk "$DEST" | cut -f1)
echo "$count wheels in $DEST, $((size / 1024)) MiB ($size KiB); the device carry limit is 64 MiB"
"$PY" tools/check_wheel_deps.py "$DEST" --python 3.12 --have "${ON_DEVICE[@]}" || exit 1
if [ "$size" -gt $((48 * 1024)) ]; then
    echo "error: $DEST is over 48 MiB, leaving too little of the 64 MiB carry for the tree" >&2
    exit 1
fi
