"""Queries for supervisors: hot issues and places where one matter keeps coming back."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from intake.db import schema as t


class HotSpotStore:
    """Read-only aggregate queries on the DB pool."""

    def __init__(self, db):
        self.db = db

    def hot_issues(self, since: dt.datetime, until: dt.datetime, limit: int = 100):
        """Cases flagged hot (many reports in a short time) active in the period, most reported first."""
        def thd(conn):
            rows = conn.execute(
                sa.select(t.cases.c.id, t.cases.c.number, t.cases.c.code, t.cases.c.street, t.cases.c.grid,
                          t.cases.c.status, t.cases.c.report_count, t.cases.c.channels, t.cases.c.opened_at,
                          t.cases.c.last_report_at)
                .where(t.cases.c.hot.is_(True), t.cases.c.last_report_at >= since, t.cases.c.opened_at < until)
                .order_by(t.cases.c.report_count.desc(), t.cases.c.last_report_at.desc()).limit(limit)
            ).mappings().all()
            return [dict(r) for r in rows]
        return self.db.do(thd)

    def recurring_places(self, since: dt.datetime, until: dt.datetime, min_cases: int = 2, limit: int = 100):
        """(grid, matter) pairs with at least `min_cases` cases opened in the period, and the
        recurrences among them (cases opened again after an earlier one was closed)."""
        def thd(conn):
            c = t.cases.c
            rows = conn.execute(
                sa.select(c.grid, c.code, sa.func.min(c.street).label("street"),
                          sa.func.count().label("cases"),
                          sa.func.sum(sa.case((c.recurrence_of.is_not(None), 1), else_=0)).label("recurrences"),
                          sa.func.sum(c.report_count).label("reports"),
                          sa.func.min(c.opened_at).label("first"), sa.func.max(c.opened_at).label("last"))
                .where(c.opened_at >= since, c.opened_at < until, c.grid.is_not(None))
                .group_by(c.grid, c.code).having(sa.func.count() >= min_cases)
                .order_by(sa.func.count().desc(), c.grid).limit(limit)).mappings().all()
            return [dict(r) for r in rows]
        return self.db.do(thd)
