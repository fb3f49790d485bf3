"""Fixtures of the NLP tests: the configured taxonomy and places, and one trained model.

The model is nlp/model/current.pkl when it exists and this code can read it (or the file named
by HOTLINE_TEST_MODEL); otherwise it is trained once per session into tests/artefacts/ (cached
there by corpus digest, so a second run does not train again).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def nlp_setup():
    """Taxonomy, places and agencies from the bundled config/."""
    import jieba
    jieba.setLogLevel(logging.WARNING)
    from intake.commands.classify import load_nlp_setup
    return load_nlp_setup(ROOT / "config")


@pytest.fixture(scope="session")
def model_path(nlp_setup) -> Path:
    """A readable trained model: the bundled one, or one trained for this session."""
    from nlp.classifier import DEFAULT_MODEL_PATH, MatterModel, ModelError
    explicit = os.environ.get("HOTLINE_TEST_MODEL")
    if explicit:
        return Path(explicit)
    try:
        MatterModel.load(DEFAULT_MODEL_PATH)
        return DEFAULT_MODEL_PATH
    except ModelError:
        pass
    from nlp.dataset import corpus_digest, load_corpus
    from nlp.train import train_model
    examples, _ = load_corpus(matter_codes=set(nlp_setup.taxonomy.matters))
    cached = ROOT / "tests" / "artefacts" / f"model-{corpus_digest(examples)[:10]}.pkl"
    if not cached.exists():
        train_model(nlp_setup.taxonomy, nlp_setup.places).model.save(cached)
    return cached


@pytest.fixture(scope="session")
def nlp_analyser(nlp_setup, model_path):
    """A ReportAnalyser over the trained model and the configured places."""
    from nlp.analyser import ReportAnalyser
    return ReportAnalyser.load(model_path, nlp_setup.taxonomy, nlp_setup.places, nlp_setup.agencies,
                               nlp_setup.review_threshold)


@pytest.fixture(scope="session")
def finder(nlp_setup):
    """A PlaceFinder over the configured places."""
    from nlp.locate import PlaceFinder
    return PlaceFinder(nlp_setup.places)
