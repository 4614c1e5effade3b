#!/usr/bin/env bash
# The test suite on CPU (sets up .venv on first use). Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
exec .venv/bin/python -m pytest tests -q "$@"
