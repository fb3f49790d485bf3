#!/usr/bin/env bash
# Set up everything on a fresh Debian 12 machine with Python 3.11, as root:
# Debian packages, a virtual environment in .venv with the project installed, the trained model.
# Safe to run again: each step checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# fonts-wqy-microhei: Chinese labels in `hotline report` charts and the consoles' screenshots;
# chromium + chromium-driver: the consoles' browser tests (tests/console) drive Debian's Chromium.
APT_PACKAGES=(postgresql wrk fonts-wqy-microhei chromium chromium-driver)

bash scripts/apt-install.sh "${APT_PACKAGES[@]}"

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 python3; do
    if command -v "$c" >/dev/null 2>&1; then PY=$c; break; fi
  done
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[postgres,test]'

# Telephony: kamailio, SIPp, baresip, espeak-ng, sox, pyVoIP, vosk and its test model, prompts.
bash scripts/setup-telephony.sh

if [ ! -f nlp/model/current.pkl ] || [ "${HOTLINE_RETRAIN:-0}" = 1 ]; then
  .venv/bin/hotline train --quiet
fi
