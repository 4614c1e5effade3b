#!/usr/bin/env bash
# The embedded default job: make the tiny synthetic ImageNet-format data, train
# HRNet-W18-small-v1 on it on CPU, evaluate the final checkpoint and print top-1.
# Sets up .venv on first use. Extra args go to tools/train.py.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
.venv/bin/python data_prep/make_tiny.py --tasks cls
WORK=work_dirs/tiny_cls
.venv/bin/python tools/train.py configs/tiny/cls.py --work-dir "$WORK" "$@"
.venv/bin/python tools/test.py configs/tiny/cls.py "$(cat "$WORK/last_checkpoint")" --work-dir "$WORK"
.venv/bin/python tools/analysis/plot_logs.py "$WORK" --out "$WORK/curves.png"
