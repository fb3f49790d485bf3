#!/usr/bin/env bash
# Set everything up and run the demo: the service starts, a sample day of reports goes through the
# HTTP API, a summary is printed, and the service keeps running for you to look at.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/hotline demo "$@"
