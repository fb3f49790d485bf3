"""Departments and who handles what.

The seed's disposal principle (常州新北, 2011): a component fault goes to the asset's owner first,
then to the locality (部件先属主后属地); a street or environment matter goes to the locality first,
then to the owner department (事件先属地后属主). Emergencies go to the emergency chain.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Department:
    """A unit that handles cases.

    kind: 'owner' (owns assets: power company, telecom, street lights...), 'specialist'
    (a district bureau: 市政, 园林, 环卫, 城管执法...), 'locality' (a street/town's own team),
    'emergency' (the emergency command chain).
    streets: for a locality team, the official street names it covers.
    components: component codes (or two-digit prefixes) whose assets it owns.
    matters: matter codes (or prefixes) it is the specialist for.
    """

    id: str
    name: str
    kind: str
    streets: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    matters: tuple[str, ...] = ()
    phone: str | None = None


@dataclass(frozen=True)
class Assignment:
    """Where a case goes and why."""

    department_id: str | None
    department_name: str | None
    level: str  # 'district' | 'city'
    emergency: bool
    reasons: tuple[str, ...] = ()
