#!/usr/bin/env bash
# Prove the GPU path on one CUDA device in about 8 minutes and measure it; last line printed:
# the summary as one line of JSON (raw figures in $OUT/device_check_raw.json when OUT is set).
#
#   bash tools/device_check.sh             # on the GPU machine (see below)
#   bash tools/device_check.sh --dry-run   # the same steps on the CPU with tiny sizes (CI)
#
# On a machine without mmengine / mmcv-lite / mmpretrain / pycocotools (the device machine),
# the wheels that tools/fetch_wheels.sh put into .whl/ are installed into /tmp/site first
# (pip --no-index --no-deps: nothing is fetched). The tiny datasets are made if missing.
# With the device tool, from the repository root here:
#   bash tools/fetch_wheels.sh && .venv/bin/python data_prep/make_tiny.py
#   run(command="bash tools/device_check.sh", carry=[".whl", "data/tiny"], timeout_s=600)
# Steps and checks: tools/device_check.py. Extra arguments are passed on to it.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-}
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
if ! "$PY" -c 'import mmengine, mmcv, mmpretrain, pycocotools' 2>/dev/null; then
    if ! ls .whl/*.whl >/dev/null 2>&1; then
        echo "error: mmengine/mmcv/mmpretrain/pycocotools missing and no .whl/" \
             "(run tools/fetch_wheels.sh)" >&2
        exit 1
    fi
    SITE=${DEVICE_CHECK_SITE:-/tmp/site}
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$SITE" .whl/*.whl || exit 1
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi

DRY=0
for arg in "$@"; do [ "$arg" = "--dry-run" ] && DRY=1; done
tasks=(cls pose seg)
[ -f configs/tiny/multitask.py ] && tasks+=(multitask)
missing=()
for t in "${tasks[@]}"; do [ -d "data/tiny/$t" ] || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
    "$PY" data_prep/make_tiny.py --tasks "${missing[@]}" || exit 1
fi

export PYTHONUNBUFFERED=1
if [ $DRY = 1 ]; then
    export CUDA_VISIBLE_DEVICES=""  # the dry run is the CPU path, also on a GPU machine
fi
exec "$PY" tools/device_check.py "$@"
