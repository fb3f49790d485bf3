"""`hotline classify [--config DIR] [--model PATH]`: classify JSON Lines from stdin.

Contract: each input line is a JSON object {"id", "text", "channel"?}; for each line, in order,
one JSON line is written and flushed:

    {"id", "code", "name", "confidence", "abstain", "candidates": [{"code", "confidence"} x3],
     "out_of_scope", "emergency", "street", "community", "grid", "model_version"}

`code` is a matter code (also for emergencies) and null only when out of scope; `street` is the
official street name, null when the text does not say. A bad line (not JSON, not an object, no
text, wrong types) gives {"id"?, "error"} and the run goes on. The exit status is 0 when the
input was read to the end (bad lines included); 1 when the model or config cannot be loaded.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config"


def add_arguments(p) -> None:
    """--config DIR, --model PATH."""
    p.add_argument("--config", metavar="DIR", help="configuration folder (default: the bundled config/)")
    p.add_argument("--model", metavar="PATH", help="trained model (default: the config's, else nlp/model/current.pkl)")


class NlpSetup:
    """What the NLP commands need from the configuration."""

    def __init__(self, taxonomy, places, agencies, review_threshold: float, model_path: Path | None, directory: Path):
        self.taxonomy = taxonomy
        self.places = tuple(places)
        self.agencies = dict(agencies)
        self.review_threshold = review_threshold
        self.model_path = model_path
        self.directory = directory


def load_nlp_setup(directory=None) -> NlpSetup:
    """Taxonomy, places, agencies and classifier settings from the validated config folder.

    A config with problems prints every one and exits 2 (intake.commands.common).
    """
    from intake.commands.common import load_config_or_exit

    directory = Path(directory) if directory else DEFAULT_CONFIG
    cfg = load_config_or_exit(directory)
    c = cfg.classifier
    mp = getattr(c, "model_path", None)
    if mp:
        mp = Path(mp)
        if not mp.is_absolute():
            mp = Path(getattr(cfg, "directory", directory)) / mp
    return NlpSetup(cfg.taxonomy, cfg.places, cfg.agencies, float(c.review_threshold), mp or None, directory)


def resolve_model_path(args, setup: NlpSetup) -> Path:
    """--model, else the config's model path, else nlp/model/current.pkl."""
    from nlp.classifier import DEFAULT_MODEL_PATH
    if getattr(args, "model", None):
        return Path(args.model)
    return setup.model_path or DEFAULT_MODEL_PATH


def _result(analysis, rid) -> dict:
    c, loc = analysis.classification, analysis.location
    return {
        "id": rid, "code": c.code, "name": c.name, "confidence": c.confidence, "abstain": c.abstain,
        "candidates": [{"code": k.code, "confidence": k.confidence} for k in c.candidates],
        "out_of_scope": c.out_of_scope, "emergency": c.emergency,
        "street": loc.street, "community": loc.community, "grid": loc.grid,
        "model_version": c.model_version,
    }


def classify_line(analyser, line: str) -> dict:
    """The output object for one input line (an {"id"?, "error"} object for a bad line)."""
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        return {"error": f"not JSON: {e.msg if hasattr(e, 'msg') else e}"}
    if not isinstance(obj, dict):
        return {"error": f"expected a JSON object, got {type(obj).__name__}"}
    rid = obj.get("id")
    out = {"id": rid} if "id" in obj else {}
    if rid is not None and not isinstance(rid, (str, int)):
        return {**out, "error": "id must be a string or an integer"}
    text = obj.get("text")
    if text is None:
        return {**out, "error": "missing field: text"}
    if not isinstance(text, str):
        return {**out, "error": f"text must be a string, got {type(text).__name__}"}
    if not text.strip():
        return {**out, "error": "text is empty"}
    channel = obj.get("channel")
    if channel is not None and not isinstance(channel, str):
        return {**out, "error": f"channel must be a string, got {type(channel).__name__}"}
    # detail=False: the output has no reasons or tokens, so the analyser need not build them.
    return _result(analyser.analyse(text, channel=channel, detail=False), rid)


def run(args) -> int:
    """Read stdin line by line, write one JSON line per input line."""
    import logging

    import jieba
    jieba.setLogLevel(logging.WARNING)  # its start-up chatter is not our output
    from nlp.analyser import ReportAnalyser
    from nlp.classifier import ModelError

    setup = load_nlp_setup(getattr(args, "config", None))
    path = resolve_model_path(args, setup)
    try:
        analyser = ReportAnalyser.load(path, setup.taxonomy, setup.places, setup.agencies, setup.review_threshold)
    except ModelError as e:
        print(f"hotline classify: {e}", file=sys.stderr)
        return 1
    stdin = sys.stdin
    out = sys.stdout
    for raw in stdin:
        line = raw.strip()
        if not line:
            continue
        try:
            result = classify_line(analyser, line)
        except Exception as e:  # noqa: BLE001 - one bad line must never stop the stream
            result = {"error": f"internal error: {type(e).__name__}: {e}"}
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
    return 0
