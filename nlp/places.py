"""Places named in citizen text: the gazetteer and what a text says about where.

The gazetteer ties names and their short and spoken forms (薛家 = 薛家镇, 高铁站 = 常州北站) to a
street/town, community and unit grid. The district's own streets and communities are entries too.
"""
from __future__ import annotations

from dataclasses import dataclass

PLACE_KINDS = ("street", "community", "road", "landmark", "market", "school", "compound", "river", "park", "hospital", "station")


@dataclass(frozen=True)
class Place:
    """One named place.

    street: the official street/town name (as in config/district.yaml);
    community: 12-digit community code or None (roads crossing communities);
    grids: unit grid ids the place lies in (a road lists several; a point place one).
    """

    name: str
    kind: str
    street: str
    community: str | None = None
    grids: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Location:
    """Where a report is, as far as the text (and any coordinates) tell.

    Each field is None when nothing says it; `reasons` say which words decided.
    """

    street: str | None = None
    community: str | None = None
    grid: str | None = None
    places: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
