"""The trained matter classifier at inference time: pure numpy, no scikit-learn needed.

`MatterModel` holds what `nlp.train` produced: the vocabulary, a linear scorer over the 250
matter codes plus OUT (out of scope), the softmax temperature fitted on a held-out slice of the
training data (calibrated confidences), a linear emergency scorer and a linear agency scorer for
out-of-scope reports. Weights are kept dense (feature x label, float32) so that scoring a text is
a row gather and a sum: no per-call sparse-matrix overhead.

The file is a pickle of plain dicts and numpy arrays with a format number; load only model files
you produced yourself (pickle runs code from the file).
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlp.dataset import OUT_OF_SCOPE
from nlp.features import Prepared, TextPipeline, Vocabulary

__all__ = ["MatterModel", "Scores", "ModelError", "DEFAULT_MODEL_PATH", "FORMAT"]

FORMAT = 1
TOP_K = 10  # labels kept per text, most probable first
DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "model" / "current.pkl"


class ModelError(RuntimeError):
    """The model file is missing, unreadable or of another format."""


@dataclass(frozen=True)
class Scores:
    """What the models say about one text."""

    labels: tuple[str, ...]          # the TOP_K best labels, most probable first
    probs: tuple[float, ...]         # calibrated probabilities in the same order
    emergency_prob: float

    def prob(self, label: str) -> float:
        """Probability of one label (0 when unknown)."""
        try:
            return self.probs[self.labels.index(label)]
        except ValueError:
            return 0.0


def _softmax(z: np.ndarray) -> np.ndarray:
    """Softmax of a fresh array, computed in place (callers pass a temporary they do not keep)."""
    # The ufuncs' reduce directly: what z.max() and z.sum() call, minus their Python wrappers.
    z -= np.maximum.reduce(z)
    np.exp(z, out=z)
    z /= np.add.reduce(z)
    return z


class MatterModel:
    """A trained model; `score` is thread-safe (read-only arrays)."""

    def __init__(self, state: dict):
        if state.get("format") != FORMAT:
            raise ModelError(f"model format {state.get('format')!r}, this code reads {FORMAT}")
        self.state = state
        self.version: str = state["version"]
        self.labels: tuple[str, ...] = tuple(state["labels"])
        self.vocab = Vocabulary(state["vocab"], state["idf"], state.get("block_weights"))
        self.W: np.ndarray = state["W"]
        self.b: np.ndarray = state["b"]
        self.temperature: float = float(state["temperature"])
        self.em_w: np.ndarray = state["em_w"]
        self.em_b: float = float(state["em_b"])
        self.em_threshold: float = float(state["em_threshold"])
        self.agencies: tuple[str, ...] = tuple(state.get("agencies", ()))
        self.ag_W = state.get("ag_W")
        self.ag_b = state.get("ag_b")
        self.domain_words: tuple[str, ...] = tuple(state.get("domain_words", ()))
        self.metrics: dict = state.get("metrics", {})
        self.params: dict = state.get("params", {})

    # -- persistence -------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the model atomically (a reader never sees half a file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        with open(tmp, "wb") as f:
            pickle.dump(self.state, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "MatterModel":
        """Read a model written by `save`; ModelError says what is wrong."""
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"no model at {path}: run `hotline train` first")
        try:
            with open(path, "rb") as f:
                state = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as e:
            raise ModelError(f"cannot read model {path}: {e}") from e
        if not isinstance(state, dict):
            raise ModelError(f"{path} is not a hotline model")
        return cls(state)

    # -- scoring -----------------------------------------------------------------------------
    def vector(self, prepared: Prepared) -> tuple[np.ndarray, np.ndarray]:
        """The (columns, values) TF-IDF vector of one prepared text, as training builds it.

        `score` and `agency` accept it, so a caller that needs both computes it once.
        """
        return self.vocab.vector_of_prepared(prepared)

    def raw_scores(self, prepared: Prepared, vector=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(label scores, columns, values) of one prepared text."""
        cols, vals = self.vector(prepared) if vector is None else vector
        if len(cols):
            # take() gathers the same rows as W[cols] with less overhead.
            s = vals @ self.W.take(cols, axis=0) + self.b
        else:
            s = self.b.copy()
        return s, cols, vals

    def score(self, prepared: Prepared, vector=None) -> Scores:
        """Calibrated probabilities of the best labels and the emergency probability of one text.

        `vector`: the text's `vector(prepared)` when the caller has it already.
        """
        s, cols, vals = self.raw_scores(prepared, vector)
        s /= self.temperature  # s is this call's own array
        p = _softmax(s)
        # Only the best labels are ever looked at (top 3 matters + OUT): no full sort.
        k = min(TOP_K, len(p))
        neg = -p
        # Array methods: what np.argpartition / np.argsort call, minus their Python wrappers.
        top = neg.argpartition(k - 1)[:k]
        order = top[neg[top].argsort()]
        em = float(vals @ self.em_w.take(cols) + self.em_b) if len(cols) else self.em_b
        em_prob = float(1.0 / (1.0 + np.exp(-em)))
        labels = self.labels
        return Scores(
            labels=tuple(map(labels.__getitem__, order.tolist())),
            probs=tuple(p[order].tolist()),
            emergency_prob=em_prob,
        )

    def agency(self, prepared: Prepared, vector=None) -> tuple[str | None, float]:
        """The agency an out-of-scope text most likely belongs to, with its probability.

        Separate from `score` because only out-of-scope texts need it; pass the `vector` that
        scoring used so the features are not computed twice.
        """
        if self.ag_W is None or not len(self.agencies):
            return None, 0.0
        cols, vals = self.vector(prepared) if vector is None else vector
        a = (vals @ self.ag_W.take(cols, axis=0) + self.ag_b) if len(cols) else self.ag_b.copy()
        pa = _softmax(a / max(self.temperature, 1e-3))
        i = int(np.argmax(pa))
        return self.agencies[i], float(pa[i])

    def matter_labels(self) -> tuple[str, ...]:
        """Labels that are matter codes (everything but OUT)."""
        return tuple(l for l in self.labels if l != OUT_OF_SCOPE)

    def pipeline(self, places=()) -> TextPipeline:
        """A text pipeline with the training dictionary plus the deployment's place names."""
        return TextPipeline.for_domain(None, places, extra_words=self.domain_words, hmm=bool(self.state.get("hmm", True)))
