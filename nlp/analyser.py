"""One report in, one `nlp.analysis.Analysis` out: classification, emergency, agency, location.

`ReportAnalyser.load(model_path, taxonomy, places, agencies, review_threshold)` reads the model
trained by `hotline train`; `analyse` is read-only and safe to call from many threads at once.

Decisions, in order:
- an inspector's code (`code_hint`) is authoritative: that code, confidence 1.0, no abstention;
- out of scope when OUT is the most probable label; the agency comes from the agency model, or
  from the configured agencies' topic words when the model is unsure (p < 0.35);
- emergency when a rule fires (nlp.emergency) or the emergency model's probability reaches its
  threshold; an emergency always keeps the closest matter code, even if OUT was on top;
- abstain when the top probability is below `review_threshold`; candidates are the top 3 matters.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from nlp.analysis import Analysis, Candidate, Classification
from nlp.classifier import MatterModel
from nlp.dataset import OUT_OF_SCOPE
from nlp.emergency import emergency_cues
from nlp.features import Prepared
from nlp.locate import PlaceFinder
from nlp.places import Location
from nlp.similarity import content_tokens

__all__ = ["ReportAnalyser", "MAX_CHARS"]

MAX_CHARS = 4000


class ReportAnalyser:
    """Classifies and locates citizen reports with a trained model and the gazetteer."""

    def __init__(self, model: MatterModel, taxonomy, places=(), agencies: Mapping | None = None,
                 review_threshold: float = 0.5):
        self.model = model
        self.taxonomy = taxonomy
        self.places = tuple(places)
        self.agencies = dict(agencies or {})
        self.review_threshold = float(review_threshold)
        self.pipeline = model.pipeline(self.places)
        self.finder = PlaceFinder(self.places)
        self._place_words = frozenset(n for p in self.places for n in (p.name, *p.aliases))
        # Tokens that never describe the matter, in one set: one lookup per token.
        self._not_content = self.pipeline.stopwords | self._place_words
        # Topic words of each agency, longest first, for a direct match in the text.
        topics = []
        for aid, agency in self.agencies.items():
            for t in getattr(agency, "topics", ()) or ():
                if t:
                    topics.append((str(t), str(aid)))
        self._topics = sorted(topics, key=lambda ta: -len(ta[0]))
        # Model labels that the configured taxonomy lacks are never returned as codes.
        self._known = frozenset(taxonomy.matters)

    @classmethod
    def load(cls, model_path, taxonomy, places=(), agencies=None, review_threshold: float = 0.5) -> "ReportAnalyser":
        """Read the model at `model_path` (ModelError when missing or unreadable)."""
        return cls(MatterModel.load(Path(model_path)), taxonomy, places, agencies, review_threshold)

    @property
    def model_version(self) -> str:
        """The version id of the loaded model."""
        return self.model.version

    # -- parts -------------------------------------------------------------------------------
    def _agency(self, text: str, model_agency: str | None, model_prob: float) -> tuple[str | None, str]:
        # The model was better than the topic words on the dev split (it sees the whole text);
        # the configured topic words decide only when the model is unsure (p < 0.35).
        usable = model_agency and (not self.agencies or model_agency in self.agencies)
        if usable and model_prob >= 0.35:
            return model_agency, f"agency {model_agency}: model p={model_prob:.2f}"
        for topic, aid in self._topics:
            if topic in text:
                return aid, f"agency {aid}: topic word {topic}"
        if usable:
            return model_agency, f"agency {model_agency}: model p={model_prob:.2f}"
        return None, "agency unknown"

    def _candidates(self, labels, probs) -> list[Candidate]:
        out = []
        for label, p in zip(labels, probs):
            if label == OUT_OF_SCOPE or label not in self._known:
                continue
            out.append(Candidate(label, round(float(p), 4)))
            if len(out) == 3:
                break
        return out

    def analyse(self, text: str, channel: str | None = None, code_hint: str | None = None,
                address: str | None = None, street_hint: str | None = None, *, detail: bool = True) -> Analysis:
        """Classify and locate one report. Never raises on odd text (empty text abstains).

        `detail=False` is for callers that read only the decisions (`hotline classify`): the
        explanations are left out (`Classification.reasons`, `Location.reasons` and `tokens` are
        empty); every decision field is the same as with the default `detail=True`.
        """
        text = text if isinstance(text, str) else ""
        # Open311 caps a description at 4,000 characters; past that a report says nothing new
        # about its matter, and a pasted megabyte must not stall a worker thread.
        text = text[:MAX_CHARS]
        prepared: Prepared = self.pipeline.prepare(text, channel)
        vector = self.model.vector(prepared)
        scores = self.model.score(prepared, vector)
        candidates = self._candidates(scores.labels, scores.probs)
        # Why `detail`: the content tokens (~6 us) and the reason strings (~2 us) were spent for
        # nothing when the caller only writes out the decisions.
        reasons: list[str] = []
        if detail and prepared.fixes:
            reasons.append("heard as: " + ", ".join(f"{a}->{b}" for a, b in prepared.fixes))

        cues = emergency_cues(prepared.text)
        emergency_reasons = list(cues)
        if scores.emergency_prob >= self.model.em_threshold:
            emergency_reasons.append(f"model p={scores.emergency_prob:.2f}")
        emergency = bool(emergency_reasons)

        hint = code_hint if isinstance(code_hint, str) and code_hint in self._known else None
        top_label, top_p = scores.labels[0], scores.probs[0]
        agency = None
        if hint:
            code, confidence, abstain, out_of_scope = hint, 1.0, False, False
            if detail:
                reasons.append(f"code {hint} given by the inspector")
        elif top_label == OUT_OF_SCOPE and not emergency and prepared.text:
            code, confidence, abstain, out_of_scope = None, top_p, top_p < self.review_threshold, True
            model_agency, agency_prob = self.model.agency(prepared, vector)
            agency, why = self._agency(prepared.text, model_agency, agency_prob)
            if detail:
                reasons.append(f"out of scope p={top_p:.2f}")
                reasons.append(why)
        else:
            out_of_scope = False
            if candidates:
                code, confidence = candidates[0].code, candidates[0].confidence
            else:
                code, confidence = None, 0.0
            if detail and top_label == OUT_OF_SCOPE:
                reasons.append(f"out of scope p={top_p:.2f} overridden: emergency keeps the closest matter")
            if not prepared.text:
                # Nothing but fillers or punctuation: the "best" code is only the model's prior.
                confidence = 0.0
                if detail:
                    reasons.append("no words to classify")
            abstain = confidence < self.review_threshold or code is None
            if detail and code and prepared.text:
                reasons.append(f"matter {code} p={confidence:.2f}")
        if detail and code_hint and not hint:
            reasons.append(f"inspector code {code_hint!r} is not a matter code: ignored")
        name = self.taxonomy.matters[code].name if code else None

        where, sounds = prepared.text, prepared.syllables
        if isinstance(address, str) and address.strip():
            where, sounds = self.pipeline.prepare(address).text + " " + where, None
        location = self.finder.locate(where, street_hint=street_hint if isinstance(street_hint, str) else None,
                                      sounds=sounds, detail=detail) if where or street_hint else Location()

        classification = Classification(
            code=code, name=name, confidence=round(float(confidence), 4), abstain=bool(abstain),
            candidates=tuple(candidates), out_of_scope=out_of_scope, agency=agency, emergency=emergency,
            model_version=self.model.version, emergency_reasons=tuple(emergency_reasons), reasons=tuple(reasons),
        )
        tokens = content_tokens(prepared.tokens, self._not_content) if detail else ()
        return Analysis(classification=classification, location=location, normalised_text=prepared.text, tokens=tokens)
