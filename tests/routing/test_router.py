"""Routing by the seed's principle: 部件先属主后属地, 事件先属地后属主, emergencies at once."""
from __future__ import annotations

import pytest

from routing.departments import Department
from routing.district import District, Street
from routing.router import Router, RoutingRules


@pytest.fixture(scope="module")
def router(config):
    """A Router over the bundled configuration."""
    return Router(config.departments, config.routing, config.district)


def test_power_cover_goes_to_the_power_company(router):
    """A 电力井盖 fault (01005) goes to its owner, the power company; the locality is second."""
    a = router.route("01005", "河海街道", False)
    assert a.department_id == "power"
    assert a.department_name == "国网常州供电公司新北供电中心"
    assert a.level == "district" and not a.emergency
    assert any("部件先属主后属地" in r and "01005 电力井盖异常" in r for r in a.reasons)
    assert router.fallback("01005", "河海街道", False).department_id == "locality-hehai"


def test_unknown_owner_cover_goes_to_the_locality(router):
    """A 不明井盖 (01023) has no owner: the street's locality team takes it (属地兜底)."""
    a = router.route("01023", "三井街道", False)
    assert a.department_id == "locality-sanjing"
    assert any("owner unknown" in r for r in a.reasons)


def test_owner_given_by_the_caller_wins(router):
    """When the asset register says whose cover it is, that owner comes first even for 01023."""
    assert router.route("01023", "三井街道", False, component_owner="water").department_id == "water"
    a = router.route("01023", "三井街道", False, component_owner="nobody")
    assert a.department_id == "locality-sanjing"
    assert any("not a department" in r for r in a.reasons)


def test_matter_goes_to_locality_then_specialist(router):
    """06042 垃圾站满溢 in 薛家镇: 薛家镇's team first, the sanitation department as fallback."""
    a = router.route("06042", "薛家镇", False)
    assert a.department_id == "locality-xuejia"
    assert any("事件先属地后属主" in r for r in a.reasons)
    fb = router.fallback("06042", "薛家镇", False)
    assert fb.department_id == "sanitation"


def test_street_aliases_are_understood(router):
    """Short and later names of a street (薛家, 新桥街道) find the same locality team."""
    assert router.route("06042", "薛家", False).department_id == "locality-xuejia"
    assert router.route("06042", "新桥街道", False).department_id == "locality-xinqiao"


def test_no_street_goes_to_the_specialist(router):
    """Without a street a matter goes to its specialist; an unknown street is said so in the reasons."""
    assert router.route("06042", None, False).department_id == "sanitation"
    a = router.route("06042", "火星街道", False)
    assert a.department_id == "sanitation"
    assert any("火星街道 is unknown" in r for r in a.reasons)


def test_most_specific_specialist(router):
    """09009 机动车乱停放 has the traffic police as specialist although 09 belongs to enforcement."""
    assert router.route("09009", None, False).department_id == "traffic-police"
    assert router.route("09006", None, False).department_id == "enforcement"


def test_emergency_goes_to_the_emergency_unit(router):
    """An emergency goes to the emergency unit at once; the normal first choice is the fallback."""
    a = router.route("01011", "龙虎塘街道", True)
    assert a.department_id == "emergency" and a.emergency
    assert router.fallback("01011", "龙虎塘街道", True).department_id == "gas"


def test_city_level_matters(router):
    """轨道交通 and 高压线铁塔 are city-level; matters on a navigable waterway too; others district."""
    assert router.route("02032", "龙虎塘街道", False).level == "city"
    a = router.route("01047", "孟河镇", False)
    assert a.level == "city" and a.department_id == "power"
    assert any("市级事项" in r for r in a.reasons)
    assert router.route("06025", "罗溪镇", False, places=["德胜河"]).level == "city"
    assert router.route("06025", "罗溪镇", False, places=["藻江河"]).level == "district"
    assert router.route("06042", "薛家镇", False).level == "district"


def test_every_matter_is_routed(router, config):
    """Every one of the 250 matters gets a unit, with a street and without one."""
    for code in config.taxonomy.matters:
        assert router.route(code, "河海街道", False).department_id in config.departments, code
        assert router.route(code, None, False).department_id in config.departments, code


def test_unknown_code_does_not_crash(router):
    """A code outside the taxonomy goes to the default unit with a reason, not an exception."""
    a = router.route("99999", "河海街道", False)
    assert a.department_id == "enforcement"
    assert any("unknown matter code" in r for r in a.reasons)


def test_order_is_data():
    """Reversing the order in the rules reverses the choices: the principle is configuration."""
    district = District("320411", "测试区", {"320411001": Street("320411001", "河海街道")}, {}, {})
    departments = {
        "loc": Department("loc", "河海街道城管中队", "locality", streets=("河海街道",)),
        "san": Department("san", "区环卫处", "specialist", matters=("06",)),
        "pow": Department("pow", "供电", "owner", components=("01005",)),
    }
    normal = Router(departments, RoutingRules(), district)
    assert normal.route("06042", "河海街道", False).department_id == "loc"
    assert normal.route("01005", "河海街道", False).department_id == "pow"
    flipped = Router(departments, RoutingRules(matter_order=("specialist", "locality"),
                                                component_order=("locality", "owner")), district)
    assert flipped.route("06042", "河海街道", False).department_id == "san"
    assert flipped.route("01005", "河海街道", False).department_id == "loc"
    assert flipped.fallback("01005", "河海街道", False).department_id == "pow"
