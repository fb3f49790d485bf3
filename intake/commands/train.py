"""`hotline train [--corpus DIR] [--out PATH] [--seed N] [--config DIR] [--quiet]`.

Trains the matter, emergency and agency models from nlp/corpus/ (see nlp/corpus/README.md),
writes the model (default nlp/model/current.pkl), prints its version and the dev-split metrics.
A progress bar goes to stderr unless --quiet.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path


def add_arguments(p) -> None:
    """--corpus, --out, --seed, --config, --quiet."""
    p.add_argument("--corpus", metavar="DIR", help="corpus folder (default: nlp/corpus)")
    p.add_argument("--out", metavar="PATH", help="where to write the model (default: nlp/model/current.pkl)")
    p.add_argument("--seed", type=int, default=13, help="random seed (augmentation, solver); default 13")
    p.add_argument("--config", metavar="DIR", help="configuration folder (taxonomy, places; default: the bundled config/)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


class _Progress:
    """A tqdm bar per stage on stderr (silent with --quiet)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.bars = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        from tqdm import tqdm
        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=stage, file=sys.stderr, leave=True)
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    def close(self):
        """Close every bar (also after a failure)."""
        for bar in self.bars.values():
            bar.close()


def run(args) -> int:
    """Train, save, evaluate on dev, print the summary."""
    import logging

    import jieba
    jieba.setLogLevel(logging.WARNING)  # its start-up chatter is not our output
    from intake.commands.classify import load_nlp_setup
    from nlp.analyser import ReportAnalyser
    from nlp.classifier import DEFAULT_MODEL_PATH
    from nlp.evaluation import evaluate, side_by_side_lines, split_dev
    from nlp.pinyin import homophone_pools
    from nlp.train import train_model

    setup = load_nlp_setup(args.config)
    out = Path(args.out) if args.out else DEFAULT_MODEL_PATH
    progress = _Progress(args.quiet)
    t0 = time.monotonic()
    try:
        result = train_model(setup.taxonomy, setup.places, corpus_dir=args.corpus, seed=args.seed, progress=progress)
    except (ValueError, OSError) as e:
        progress.close()
        print(f"hotline train: {e}", file=sys.stderr)
        return 1
    progress.close()
    for problem in result.problems[:20]:
        print(f"corpus: {problem}", file=sys.stderr)
    analyser = ReportAnalyser(result.model, setup.taxonomy, setup.places, setup.agencies, setup.review_threshold)
    pools = homophone_pools("".join(e.text for e in result.train_examples + result.dev_examples))
    reports = {name: evaluate(analyser, part, pools) for name, part in split_dev(result.dev_examples).items()}
    result.model.state["metrics"] = reports["written"].as_dict()
    result.model.state["metrics_real"] = reports["real"].as_dict()
    result.model.save(out)
    print(f"model {result.model.version} -> {out}")
    print(f"trained on {len(result.train_examples)} examples ({result.info['rows']} rows with augmentation, "
          f"{result.info['features']} features, {result.info['labels']} labels) in {result.seconds:.0f}s; "
          f"total {time.monotonic() - t0:.0f}s")
    for line in side_by_side_lines(reports):
        print(line)
    return 0
