"""Training the matter, emergency and agency models from the corpus.

Steps (all seeded, so the same corpus, parameters and seed give the same model and version):

1. read the corpus and split it (nlp.dataset: ~20 % dev by hash, never trained on);
2. hold out a calibration slice (10 % of train, by hash) for the softmax temperature;
3. augment the rest (nlp.augment: other channel styles, paraphrases, homophone noise at
   10-20 %); the vocabulary (min_df) is counted on written rows only;
4. fit a linear SVM (one-vs-rest, scikit-learn LinearSVC; rare matters weighted up, OUT down)
   on TF-IDF of words, characters and pinyin over the 250 matters + OUT, plus a nearest-centroid
   vote folded into the same weights; fit the temperature that minimises the log loss on the
   calibration slice; refit on all training data with that temperature;
5. fit a logistic emergency model (balanced classes, recall first) and a linear agency model on
   the out-of-scope examples;
6. version = short hash of corpus digest + parameters + seed + dictionary + feature revision.

scikit-learn is imported only here; inference (nlp.classifier) needs numpy alone.
"""
from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from nlp.augment import augment, render
from nlp.classifier import FORMAT, MatterModel
from nlp.dataset import OUT_OF_SCOPE, Example, corpus_digest, load_corpus, split
from nlp.features import BLOCK_WEIGHTS, FEATURE_REVISION, TextPipeline, Vocabulary, feature_counts
from nlp.pinyin import homophone_pools
from nlp.segment import DATA_DIR, domain_vocabulary

__all__ = ["TrainParams", "TrainResult", "train_model", "DEFAULT_PARAMS"]


@dataclass(frozen=True)
class TrainParams:
    """Hyper-parameters; all of them enter the model version."""

    copies: int = 2               # augmented variants per training example
    noise_low: float = 0.10       # homophone substitution rate range of noisy variants
    noise_high: float = 0.20
    paraphrase_rate: float = 0.5  # share of paraphrase-group words swapped in a variant
    C: float = 1.0                # LinearSVC regularisation (matters)
    em_C: float = 2.0             # LogisticRegression (emergency)
    em_threshold: float = 0.4     # emergency probability above which a report is flagged (below 0.5: recall first)
    min_df: int = 2
    max_features: int = 120_000
    calibration_percent: int = 10
    refit: bool = True            # refit on train + calibration slice after the temperature
    hmm: bool = False             # jieba's HMM for unknown words: no better here, and slower
    block_weights: tuple = tuple(sorted(BLOCK_WEIGHTS.items()))  # feature block -> weight
    oos_weight: float = 0.5       # class weight of OUT relative to the matters (OUT has many examples)
    balance: float = 0.5          # exponent of the inverse-frequency class weights (0 = none)
    centroid_weight: float = 2.0  # weight of the nearest-centroid vote added to the SVM scores
    major_weight: float = 1.0     # weight of the major-class scorer folded into every matter of that class (0 = off)
    major_C: float = 1.0          # LinearSVC regularisation of the major-class scorer

    def as_dict(self) -> dict:
        """Parameters as a plain dict (for the version hash and the model file)."""
        return dict(self.__dict__)


DEFAULT_PARAMS = TrainParams()


@dataclass
class TrainResult:
    """The trained model and what happened."""

    model: MatterModel
    train_examples: list[Example]
    dev_examples: list[Example]
    problems: list[str]
    seconds: float
    info: dict = field(default_factory=dict)


def _is_calibration(ex: Example, percent: int) -> bool:
    h = int.from_bytes(hashlib.sha1(("cal:" + (ex.group or ex.text)).encode("utf-8")).digest()[:4], "big")
    return h % 100 < percent


def _taxonomy_examples(taxonomy) -> list[tuple[str, str]]:
    # The standard's own names are one more (clean) example per matter; citizens rarely use
    # them, but inspectors do.
    out = []
    for code, e in taxonomy.matters.items():
        out.append((e.name, code))
        if e.name.endswith("异常"):
            out.append((e.name[:-2] + "坏了", code))
    return out


def _major(label: str) -> str:
    """The major class of a label: a matter code's first two digits; OUT is its own class."""
    return label if label == OUT_OF_SCOPE else label[:2]


def _fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature minimising the negative log likelihood of the true labels."""
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        """Mean negative log likelihood at temperature exp(log_t)."""
        t = float(np.exp(log_t))
        z = scores / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(y)), y].mean())

    res = minimize_scalar(nll, bounds=(np.log(0.01), np.log(10.0)), method="bounded")
    return float(np.exp(res.x))


def train_model(
    taxonomy,
    places=(),
    corpus_dir: Path | None = None,
    seed: int = 13,
    params: TrainParams = DEFAULT_PARAMS,
    progress: Callable[[str, int, int], None] | None = None,
) -> TrainResult:
    """Train all models from the corpus; `progress(stage, done, total)` is called as it goes."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    t0 = time.monotonic()
    report = progress or (lambda stage, done, total: None)
    kwargs = {} if corpus_dir is None else {"root": Path(corpus_dir)}
    examples, problems = load_corpus(matter_codes=set(taxonomy.matters), **kwargs)
    if not examples:
        raise ValueError(f"no usable examples in the corpus ({len(problems)} problems)")
    train, dev = split(examples)
    rng = random.Random(seed)

    words = domain_vocabulary(taxonomy, places)
    pipeline = TextPipeline.for_domain(taxonomy, places, hmm=params.hmm)
    pools = homophone_pools("".join(e.text for e in examples))

    # Texts to fit on: (text, label, emergency, agency, is_calibration)
    rows: list[tuple[str, str, bool, str | None, bool]] = []
    original: list[bool] = []  # written rows (not augmented variants): they alone decide the vocabulary
    for ex in train:
        cal = _is_calibration(ex, params.calibration_percent)
        rows.append((ex.text, ex.label, ex.emergency, ex.agency, cal))
        original.append(True)
        variants = augment(ex.text, ex.style, pools, rng, copies=params.copies, noise=(params.noise_low, params.noise_high),
                           paraphrase_rate=params.paraphrase_rate)
        for v in variants[: 1 if cal else None]:
            rows.append((v, ex.label, ex.emergency, ex.agency, cal))
            original.append(False)
    for text, code in _taxonomy_examples(taxonomy):
        rows.append((text, code, False, None, False))
        rows.append((render(text, "phone", rng), code, False, None, False))
        original += [True, False]

    counts = []
    total = len(rows)
    for i, (text, *_rest) in enumerate(rows):
        counts.append(feature_counts(pipeline.prepare(text)))
        if i % 500 == 0:
            report("features", i, total)
    report("features", total, total)

    fit_mask = np.array([not r[4] for r in rows])
    # Document frequencies from written rows only: an n-gram of one report copied into its
    # augmented variants must not pass min_df (that is how one odd phrase became a strong cue).
    vocab = Vocabulary.fit([c for c, m, o in zip(counts, fit_mask, original) if m and o], min_df=params.min_df, max_features=params.max_features,
                            weights=dict(params.block_weights))
    X = vocab.matrix(counts)
    labels = sorted({r[1] for r in rows})
    label_index = {l: i for i, l in enumerate(labels)}
    y = np.array([label_index[r[1]] for r in rows])

    report("matters", 0, 3)
    class_weight = {label_index[OUT_OF_SCOPE]: params.oos_weight} if OUT_OF_SCOPE in label_index else {}
    if params.balance:
        # Rare matters get heavier examples (capped), so frequent ones do not swallow them.
        freq = np.bincount(y[fit_mask], minlength=len(labels)).astype(float)
        mean = freq[freq > 0].mean()
        for i, f in enumerate(freq):
            if f > 0 and labels[i] != OUT_OF_SCOPE:
                class_weight[i] = float(min(3.0, (mean / f) ** params.balance))
    class_weight = class_weight or None

    def fit_linear(mask) -> tuple[np.ndarray, np.ndarray]:
        """(W, b) over all labels: SVM weights plus the weighted class centroids.

        Adding the (normalised) centroid of each label's training vectors is a nearest-centroid
        vote folded into the same linear scorer: it helps labels with few examples.
        """
        svm = LinearSVC(C=params.C, random_state=seed, max_iter=2000, class_weight=class_weight)
        svm.fit(X[mask], y[mask])
        W = np.zeros((len(vocab), len(labels)), dtype=np.float32)
        b = np.full(len(labels), -10.0, dtype=np.float32)  # labels the fit never saw stay improbable
        W[:, svm.classes_] = svm.coef_.T.astype(np.float32)
        b[svm.classes_] = svm.intercept_.astype(np.float32)
        if params.centroid_weight:
            from scipy.sparse import csr_matrix
            idx = np.flatnonzero(mask)
            onehot = csr_matrix((np.ones(len(idx), dtype=np.float32), (y[idx], np.arange(len(idx)))),
                                shape=(len(labels), len(idx)))
            cent = np.asarray((onehot @ X[idx]).todense(), dtype=np.float32)
            norms = np.linalg.norm(cent, axis=1, keepdims=True)
            cent = np.divide(cent, norms, out=np.zeros_like(cent), where=norms > 0)
            W += params.centroid_weight * cent.T
        if params.major_weight:
            # A second SVM over the major classes (the code's first two digits, OUT its own
            # class) pools the examples of all matters of a class; adding its score to each of
            # the class's matters is a linear term too, so inference does not change.
            groups = sorted({_major(l) for l in labels})
            g_of = np.array([groups.index(_major(l)) for l in labels])
            gsvm = LinearSVC(C=params.major_C, random_state=seed, max_iter=2000)
            gsvm.fit(X[mask], g_of[y[mask]])
            GW = np.zeros((len(vocab), len(groups)), dtype=np.float32)
            Gb = np.zeros(len(groups), dtype=np.float32)
            GW[:, gsvm.classes_] = gsvm.coef_.T.astype(np.float32)
            Gb[gsvm.classes_] = gsvm.intercept_.astype(np.float32)
            W += params.major_weight * GW[:, g_of]
            b += params.major_weight * Gb[g_of]
        return W, b

    W, b = fit_linear(fit_mask)
    cal_mask = ~fit_mask
    temperature = 0.1
    if cal_mask.any():
        cal_scores = np.asarray(X[cal_mask] @ W, dtype=np.float64) + b
        temperature = _fit_temperature(cal_scores, y[cal_mask])
    report("matters", 1, 3)
    if params.refit and cal_mask.any():
        W, b = fit_linear(np.ones(len(rows), dtype=bool))
    report("matters", 2, 3)
    report("matters", 3, 3)

    report("emergency", 0, 1)
    y_em = np.array([r[2] for r in rows], dtype=int)
    if y_em.min() != y_em.max():
        lr = LogisticRegression(C=params.em_C, class_weight="balanced", max_iter=2000, random_state=seed)
        lr.fit(X, y_em)
        em_w, em_b = lr.coef_[0].astype(np.float32), float(lr.intercept_[0])
    else:
        em_w, em_b = np.zeros(len(vocab), dtype=np.float32), -10.0
    report("emergency", 1, 1)

    agencies: list[str] = []
    ag_W = ag_b = None
    oos_rows = [i for i, r in enumerate(rows) if r[1] == OUT_OF_SCOPE and r[3]]
    if oos_rows:
        agencies = sorted({rows[i][3] for i in oos_rows})
        if len(agencies) >= 2:
            ag_y = np.array([agencies.index(rows[i][3]) for i in oos_rows])
            ag = LinearSVC(C=1.0, random_state=seed, max_iter=2000).fit(X[oos_rows], ag_y)
            coef = ag.coef_ if len(agencies) > 2 else np.vstack([-ag.coef_[0], ag.coef_[0]])
            inter = ag.intercept_ if len(agencies) > 2 else np.array([-ag.intercept_[0], ag.intercept_[0]])
            ag_W = coef.T.astype(np.float32)
            ag_b = inter.astype(np.float32)
        else:
            ag_W = np.zeros((len(vocab), 1), dtype=np.float32)
            ag_b = np.zeros(1, dtype=np.float32)

    digest = corpus_digest(examples)
    # The dictionary and the homophone table change the features as much as the corpus does.
    data = hashlib.sha256("\n".join(words).encode("utf-8")
                          + (DATA_DIR / "homophones.txt").read_bytes()
                          + (DATA_DIR / "paraphrases.txt").read_bytes()).hexdigest()
    version = hashlib.sha256(json.dumps({"corpus": digest, "params": params.as_dict(), "seed": seed,
                                         "format": FORMAT, "features": FEATURE_REVISION, "data": data},
                                        sort_keys=True).encode()).hexdigest()[:10]
    state = {
        "format": FORMAT, "version": version, "labels": labels, "vocab": vocab.index, "idf": vocab.idf,
        "W": W, "b": b, "temperature": temperature, "em_w": em_w, "em_b": em_b,
        "em_threshold": params.em_threshold, "agencies": agencies, "ag_W": ag_W, "ag_b": ag_b,
        "domain_words": words, "block_weights": dict(params.block_weights), "hmm": params.hmm, "params": params.as_dict(), "seed": seed, "corpus_digest": digest,
        "trained_examples": len(train), "dev_examples": len(dev), "rows": len(rows),
    }
    model = MatterModel(state)
    seconds = time.monotonic() - t0
    state["train_seconds"] = round(seconds, 1)
    return TrainResult(model, train, dev, problems, seconds,
                       {"rows": len(rows), "features": len(vocab), "temperature": temperature, "labels": len(labels)})
