"""The national taxonomy GB/T 47678.5-2026 (城市运行管理服务平台 第5部分：管理部件和事项).

Codes are five digits: a two-digit major class and a three-digit subclass. The same code exists
as a component (部件, a physical asset) and as a matter (管理事项); citizen reports are classified
into matters. Matters 01xxx-05xxx are "<component>异常" (a fault of that asset), 06xxx-10xxx are
street and environment matters.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

KINDS = ("component", "matter")


@dataclass(frozen=True)
class TaxonomyEntry:
    """One row of the standard: a component or a matter."""

    kind: str
    code: str
    major_class: str
    name: str

    @property
    def major_code(self) -> str:
        """The two-digit major class (01 市政公用设施 ... 10 其他事项)."""
        return self.code[:2]


@dataclass(frozen=True)
class Taxonomy:
    """All components and matters, looked up by code."""

    matters: Mapping[str, TaxonomyEntry]
    components: Mapping[str, TaxonomyEntry]
    confusable: frozenset = field(default_factory=frozenset)

    def matter(self, code: str) -> TaxonomyEntry:
        """The matter with this code; KeyError when the standard has none."""
        return self.matters[code]

    def is_confusable(self, a: str, b: str) -> bool:
        """True when two matter codes are a pair the taxonomy notes as easily confused."""
        return a == b or frozenset((a, b)) in self.confusable

    @classmethod
    def from_rows(cls, rows: Iterable[TaxonomyEntry], confusable: Iterable[Iterable[str]] = ()) -> "Taxonomy":
        """Build from entries; later duplicates of (kind, code) are ignored by the caller's validation."""
        matters: dict[str, TaxonomyEntry] = {}
        components: dict[str, TaxonomyEntry] = {}
        for row in rows:
            (matters if row.kind == "matter" else components)[row.code] = row
        pairs = set()
        for group in confusable:
            group = list(group)
            for i, a in enumerate(group):
                for b in group[i + 1:]:
                    pairs.add(frozenset((a, b)))
        return cls(matters=matters, components=components, confusable=frozenset(pairs))


def read_taxonomy_csv(path: Path) -> list[tuple[int, dict]]:
    """Rows of a taxonomy CSV (kind, code, major_class, name) with their line numbers."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return [(i + 2, row) for i, row in enumerate(reader)]
