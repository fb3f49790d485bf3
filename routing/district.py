"""The district's divisions: streets/towns (街镇), communities/villages (社区/村) and unit grids.

A unit grid (万米单元网格, GB/T 47678.3) is a closed polygon of about 10,000 m² owned by one
community. Its id has 15 characters: 6-digit admin code + 3-digit street + 3-digit community +
3-digit sequence (Beijing DB11 layout). Where no responsible body is clear, the grid's locality is
responsible by default (属地兜底).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

Point = tuple[float, float]  # (lng, lat)


@dataclass(frozen=True)
class Street:
    """A street (街道) or town (镇): code is 9 digits (admin code + 3)."""

    code: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Community:
    """A community (社区) or village (村): code is 12 digits (street code + 3)."""

    code: str
    name: str
    street_code: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grid:
    """A unit grid: 15-character id, owning community, polygon ring in (lng, lat)."""

    id: str
    community_code: str
    street_code: str
    polygon: tuple[Point, ...]

    @property
    def centroid(self) -> Point:
        """Mean of the ring's vertices: good enough for synthetic, near-rectangular cells."""
        pts = self.polygon[:-1] if len(self.polygon) > 1 and self.polygon[0] == self.polygon[-1] else self.polygon
        return (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))

    def contains(self, point: Point) -> bool:
        """Ray casting point-in-polygon test."""
        x, y = point
        inside = False
        ring = self.polygon
        n = len(ring)
        for i in range(n):
            x1, y1 = ring[i]
            x2, y2 = ring[(i + 1) % n]
            if (y1 > y) != (y2 > y):
                xi = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
                if x < xi:
                    inside = not inside
        return inside


@dataclass(frozen=True)
class District:
    """One district (区): its streets, communities, grids and which grids touch."""

    admin_code: str
    name: str
    streets: Mapping[str, Street]
    communities: Mapping[str, Community]
    grids: Mapping[str, Grid]
    adjacency: Mapping[str, frozenset] = field(default_factory=dict)

    def street_by_name(self, name: str) -> Street | None:
        """The street whose official name or alias is `name`."""
        for s in self.streets.values():
            if name == s.name or name in s.aliases:
                return s
        return None

    def neighbours(self, grid_id: str) -> frozenset:
        """Grids sharing an edge or a corner with this one."""
        return self.adjacency.get(grid_id, frozenset())

    def grid_at(self, point: Point) -> Grid | None:
        """The grid containing a point (lng, lat), or None outside the managed area."""
        for g in self.grids.values():
            if g.contains(point):
                return g
        return None


def compute_adjacency(grids: Mapping[str, Grid]) -> dict[str, frozenset]:
    """Grids are adjacent when their polygons share at least one vertex (edge or corner).

    Vertices are compared at 1e-7 degrees (about 1 cm), so float noise does not split a corner."""
    by_vertex: dict[tuple[int, int], set[str]] = {}
    for g in grids.values():
        for x, y in g.polygon:
            by_vertex.setdefault((round(x * 1e7), round(y * 1e7)), set()).add(g.id)
    adj: dict[str, set[str]] = {gid: set() for gid in grids}
    for ids in by_vertex.values():
        for a in ids:
            adj[a].update(ids - {a})
    return {k: frozenset(v) for k, v in adj.items()}
