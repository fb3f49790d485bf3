"""Two `hotline serve` processes on one PostgreSQL take the same reports at once without double cases."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from tests.intake.nodes import Node, make_token

REPORTS = [
    {"channel": "12345", "external_id": f"wo-{i}", "text": t, "received_at": f"2026-11-27T{8 + i // 6:02d}:{(i * 7) % 60:02d}:00+08:00"}
    for i, t in enumerate([
        "市民来电反映：三井菜场门口的垃圾桶满了，垃圾都溢出来了，请及时清运。",
        "来电人称：华山中路人行道上一个井盖松动翘起，存在安全隐患。",
        "市民来电反映：常州北站南广场附近多盏路灯夜间不亮。",
        "诉求人反映：孟河古镇入口附近工地夜间施工噪音太大。",
        "市民来电反映：万达广场东门外共享单车大量乱停堵住人行道。",
        "来电人称：薛家吾悦广场门口流动早餐摊占道经营。",
        "市民来电反映：公司拖欠工资三个月未发。",
        "来电人称：西夏墅中学门口减速带损坏铁钉外露。",
        "市民来电反映：汉江路渣土车沿路撒落泥土。",
        "来电人称：奥体中心附近公共厕所门坏了很脏。",
        "市民来电反映：空港大道一段护栏被撞倒散落路边。",
        "来电人称：薛冶路边报废汽车停放一年多。",
    ])
]
# One problem in other words, sent to the two nodes at the same moment: must end in one case.
SAME_PROBLEM = [
    {"channel": "sms", "external_id": "dup-a", "text": "罗溪新村门口大马路上好几个大坑 骑车差点摔", "received_at": "2026-11-27T12:00:00+08:00"},
    {"channel": "web", "external_id": "dup-b", "text": "罗溪新村门口的道路坑坑洼洼，有好几个大坑，下雨积水", "received_at": "2026-11-27T12:00:30+08:00"},
]


def test_two_nodes_take_the_same_reports_concurrently_without_double_cases(pg_url, tmp_path):
    """Every report is sent to both nodes at once: one stored report each, same answer from both,
    one case per problem, case numbers unique (database constraints and the intake lock, not luck)."""
    token = make_token(pg_url, "platform-12345", "channel")
    a = Node(pg_url, tmp_path)
    try:
        b = Node(pg_url, tmp_path)
        try:
            jobs = [(node, r) for r in REPORTS for node in (a, b)]
            jobs += [(a, SAME_PROBLEM[0]), (b, SAME_PROBLEM[1])]
            with ThreadPoolExecutor(max_workers=8) as pool:
                answers = list(pool.map(lambda job: (job[1]["external_id"], *job[0].post(job[1], token)), jobs))
        finally:
            b.stop()
    finally:
        a.stop()
    by_report: dict[str, list] = {}
    for ext, status, body in answers:
        assert status in (200, 201), body
        by_report.setdefault(ext, []).append(body)
    for ext, bodies in by_report.items():
        if len(bodies) == 2:
            first, second = bodies
            assert first["report_id"] == second["report_id"], ext
            assert first["case"] == second["case"], ext
            assert sorted([first["replayed"], second["replayed"]]) == [False, True], ext
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as c:
            reports = c.execute(sa.text("SELECT count(*) FROM reports")).scalar_one()
            decisions = c.execute(sa.text("SELECT count(*) FROM report_decisions")).scalar_one()
            numbers = c.execute(sa.text("SELECT number FROM cases")).scalars().all()
            dup_cases = c.execute(sa.text(
                "SELECT count(DISTINCT case_id) FROM case_reports cr JOIN reports r ON r.id = cr.report_id "
                "WHERE r.external_id IN ('dup-a', 'dup-b')")).scalar_one()
    finally:
        engine.dispose()
    assert reports == decisions == len(REPORTS) + 2
    assert len(numbers) == len(set(numbers)) and all(numbers)
    assert dup_cases == 1, "one problem reported at the same moment on two nodes is one case"
