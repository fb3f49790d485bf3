#!/usr/bin/env bash
# Set up the telephony layer on Debian 12 (Python 3.11), as root: SIP/audio tools from Debian,
# the 'telephony' extra (pyVoIP, vosk, the Korean test model, websockets) into .venv, and the
# voice prompts generated with espeak-ng (never downloaded) into var/prompts (git-ignored), or
# where config/lines.yaml says.
# Safe to run again: each step checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(kamailio sip-tester baresip espeak-ng sox)

bash scripts/apt-install.sh "${APT_PACKAGES[@]}"
# kamailio's Debian package starts a system service on 5060; the tests run their own instance
# on free ports, so the system one is not needed (and must not hold 5060 for a real deployment
# on the same host). Stopping it is harmless when it is not running or there is no systemd.
if command -v systemctl >/dev/null 2>&1; then
  systemctl stop kamailio >/dev/null 2>&1 || true
fi

PY=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# The same pins as setup.py's 'telephony' extra.
.venv/bin/python -m pip install -q -e '.[telephony]'

# Prompts: from config/lines.yaml when it exists (each line's greeting, voice and folder),
# else for the three hotlines with the default greeting into var/prompts.
.venv/bin/python - <<'PY'
import os, sys
import yaml
from telephony.prompts import generate_prompts
from telephony.config import parse_lines

path = "config/lines.yaml"
jobs = {}                                   # (folder, voice) -> [(hotline, greeting)]
if os.path.exists(path):
    with open(path, encoding="utf8") as f:
        cfg, problems = parse_lines(yaml.safe_load(f), path)
    if problems:
        sys.exit("setup-telephony: " + "\n".join(m for _, m in problems))
    for line in cfg.lines:
        jobs.setdefault((line.prompts_dir or cfg.prompts_dir, line.language), []).append(
            (line.hotline, line.greeting))
else:
    jobs[(os.environ.get("HOTLINE_PROMPTS_DIR", "var/prompts"), "cmn")] = [
        ("12345", ""), ("12319", ""), ("110", "")]
for (folder, voice), hotlines in jobs.items():
    written = generate_prompts(folder, hotlines, voice=voice)
    print(f"setup-telephony: prompts ({voice}) in {folder}: {len(written)} generated")
PY
