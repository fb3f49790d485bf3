#!/usr/bin/env bash
# Set everything up and run the whole test suite, on SQLite and on a private PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
HOTLINE_TEST_POSTGRES=$(bash scripts/postgres.sh start)
export HOTLINE_TEST_POSTGRES
trap 'bash scripts/postgres.sh stop' EXIT
.venv/bin/python -m pytest -p no:cacheprovider -q -rfEs tests "$@"
