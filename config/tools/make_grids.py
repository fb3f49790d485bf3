#!/usr/bin/env python3
"""Generate the demo district's synthetic geography: district.yaml, grids.yaml, gazetteer.yaml.

Deterministic: the same script always writes the same files. Run from anywhere:

    .venv/bin/python config/tools/make_grids.py            # writes into config/
    .venv/bin/python config/tools/make_grids.py --out DIR  # writes elsewhere

Names and codes are real (常州市新北区, NBS 2023 division codes, 2011 street list of the seed);
the geometry is NOT: the district is laid out on a lng/lat lattice (20 columns x 16 rows over
lng 119.85-120.05, lat 31.80-32.05). Each street/town is a rectangle of cells placed roughly as in
reality (孟河/春江 north by the Yangtze, 西夏墅/罗溪 west, 薛家/新桥 south-west, 三井 centre,
河海 south-centre, 龙虎塘 east). Inside a street, communities take consecutive runs of a
boustrophedon (snake) walk over its rows, so each community is edge-connected. Neighbouring cells
share vertices exactly, so routing.district.compute_adjacency finds real adjacency.

Grid ids follow GB/T 47678.3 / DB11: 6 admin + 3 street + 3 community + 3 sequence, the sequence
numbered west to east, north to south inside the community. There are exactly 268 grids, the count
of the seed article (44.7 km², 268 unit grids).

Roads are lines of cells (a row or a column); two crossing roads share exactly the cell at their
crossing, which is how "X路和Y路交叉口" resolves to one grid. The script checks every invariant it
relies on and stops with a message when the data breaks one.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ADMIN = "320411"
DISTRICT_NAME = "常州市新北区"
COLS, ROWS = 20, 16
LNG0, LNG1 = 119.85, 120.05
LAT0, LAT1 = 32.05, 31.80  # north edge first: row 0 is the northernmost row
DLNG = (LNG1 - LNG0) / COLS
DLAT = (LAT0 - LAT1) / ROWS

# Streets of 2011 (seed). code, official name, aliases, rectangle (col0, col1, row0, row1) inclusive.
STREETS = [
    ("320411101", "孟河镇", ["孟河"], (0, 7, 0, 1)),
    ("320411004", "春江镇", ["春江", "春江街道"], (8, 19, 0, 1)),
    ("320411105", "西夏墅镇", ["西夏墅"], (0, 2, 2, 5)),
    ("320411104", "罗溪镇", ["罗溪"], (3, 6, 2, 5)),
    ("320411002", "三井街道", ["三井"], (7, 14, 2, 10)),
    ("320411003", "龙虎塘街道", ["龙虎塘"], (15, 19, 2, 8)),
    ("320411103", "薛家镇", ["薛家"], (1, 6, 6, 9)),
    ("320411006", "新桥镇", ["新桥", "新桥街道"], (1, 6, 10, 13)),
    ("320411001", "河海街道", ["河海"], (7, 15, 11, 15)),
]

# Communities per street, in layout order (snake walk), with their number of grids.
# Codes are the NBS 2023 12-digit codes. 河海街道 no longer exists in 2023 (merged into 三井街道);
# its former communities are listed there as 320411002009 and 320411002017-024. We re-code them under
# 320411001 keeping the last three digits (e.g. 河海社区 320411002017 -> 320411001017).
# Bare short forms that are also a street alias or another place's name are left out
# (河海, 三井, 春江, 汉江路, 世茂香槟湖, 绿都万和城), so every name resolves to one place.
COMMUNITIES = {
    "320411001": [  # 河海街道: 9 x 5 grids
        ("017", "河海社区居委会", 5, ["河海社区"]),
        ("018", "天安社区居委会", 5, None),
        ("019", "汇丰社区居委会", 5, None),
        ("020", "阳光社区居委会", 5, None),
        ("021", "兰翔社区居委会", 5, None),
        ("022", "国宾社区居委会", 5, None),
        ("023", "衡山社区居委会", 5, None),
        ("024", "汉江路社区居委会", 5, ["汉江路社区", "汉江社区"]),
        ("009", "藻江社区居委会", 5, None),
    ],
    "320411002": [  # 三井街道: 15 communities, 72 grids
        ("001", "华山社区居委会", 5, None),
        ("002", "飞龙社区居委会", 5, None),
        ("003", "龙城社区居委会", 5, None),
        ("004", "三井社区居委会", 5, ["三井社区"]),
        ("005", "巢湖社区居委会", 5, None),
        ("006", "府田社区居委会", 5, None),
        ("007", "府成社区居委会", 5, None),
        ("008", "洪福社区居委会", 5, None),
        ("010", "秦岭社区居委会", 5, None),
        ("011", "龙锦社区居委会", 5, None),
        ("012", "府新社区居委会", 5, None),
        ("013", "世茂香槟湖社区居委会", 5, ["世茂香槟湖社区", "香槟湖社区"]),
        ("014", "绿都万和城社区居委会", 4, ["绿都万和城社区", "万和城社区"]),
        ("015", "富都社区居委会", 4, None),
        ("016", "燕兴社区居委会", 4, None),
    ],
    "320411003": [  # 龙虎塘街道: 6 communities, 35 grids
        ("001", "腾龙社区居委会", 6, None),
        ("002", "盘龙社区居委会", 6, None),
        ("003", "玲珑社区居委会", 6, None),
        ("004", "祥龙社区居委会", 6, None),
        ("005", "锦珑社区居委会", 6, None),
        ("006", "吟龙社区居委会", 5, None),
    ],
    "320411004": [  # 春江镇 (春江街道 since 2016; 2023 code 004): 8 communities, 24 grids
        ("005", "春江社区居委会", 3, ["春江社区"]),
        ("001", "百丈社区居委会", 3, None),
        ("006", "圩塘社区居委会", 3, None),
        ("007", "龙圩社区居委会", 3, None),
        ("002", "录安洲社区居委会", 3, None),
        ("003", "黄海社区居委会", 3, None),
        ("004", "东海社区居委会", 3, None),
        ("009", "滨江社区居委会", 3, None),
    ],
    "320411006": [  # 新桥镇 (新桥街道; 2023 code 006): 8 communities/villages, 24 grids
        ("001", "新龙湖社区居委会", 3, None),
        ("002", "道乡社区居委会", 3, None),
        ("003", "望湖社区居委会", 3, None),
        ("004", "江湾社区居委会", 3, None),
        ("005", "锦海社区居委会", 3, None),
        ("205", "仲家村村委会", 3, None),
        ("206", "史墅村村委会", 3, None),
        ("212", "郭塘桥村村委会", 3, None),
    ],
    "320411101": [  # 孟河镇: 8 communities/villages, 16 grids
        ("004", "孟城社区居委会", 2, None),
        ("005", "万绥社区居委会", 2, None),
        ("006", "齐梁社区居委会", 2, None),
        ("007", "小河社区居委会", 2, None),
        ("008", "代英社区居委会", 2, None),
        ("201", "通江村村委会", 2, None),
        ("217", "石桥村村委会", 2, None),
        ("220", "小黄山村村委会", 2, None),
    ],
    "320411103": [  # 薛家镇: 8 communities, 24 grids
        ("002", "吕墅社区居委会", 3, None),
        ("003", "中巷社区居委会", 3, None),
        ("004", "新晨社区居委会", 3, None),
        ("005", "后肖社区居委会", 3, None),
        ("006", "漕河社区居委会", 3, None),
        ("008", "橄榄城社区居委会", 3, None),
        ("009", "奥园社区居委会", 3, None),
        ("010", "丽园社区居委会", 3, None),
    ],
    "320411104": [  # 罗溪镇: 7 communities/villages, 16 grids
        ("002", "汤庄桥社区居委会", 3, None),
        ("003", "青莲社区居委会", 3, None),
        ("004", "罗墅湾社区居委会", 2, None),
        ("005", "空港社区居委会", 2, None),
        ("006", "溪南社区居民委员会", 2, None),
        ("007", "高巷社区居委会", 2, None),
        ("203", "王下村村委会", 2, None),
    ],
    "320411105": [  # 西夏墅镇: 6 communities/villages, 12 grids
        ("001", "华墅社区居委会", 2, None),
        ("002", "浦河社区居委会", 2, None),
        ("003", "池上社区居委会", 2, None),
        ("004", "丽江社区居委会", 2, None),
        ("005", "香山社区居委会", 2, None),
        ("203", "梅林村村委会", 2, None),
    ],
}

# Roads and rivers: name, kind, aliases, official street, axis ('row'/'col'), index, from, to.
LINES = [
    # 河海街道
    ("河海东路", "road", [], "河海街道", "row", 13, 12, 15),
    ("河海中路", "road", [], "河海街道", "row", 13, 9, 11),
    ("河海西路", "road", ["河海路"], "河海街道", "row", 13, 1, 8),
    ("汉江路", "road", ["汉江中路"], "河海街道", "col", 14, 9, 15),
    ("珠江路", "road", [], "河海街道", "row", 14, 7, 15),
    ("太湖东路", "road", ["太湖路"], "河海街道", "row", 12, 7, 15),
    # 三井街道
    ("通江中路", "road", ["通江路"], "三井街道", "col", 10, 2, 15),
    ("龙锦路", "road", [], "三井街道", "row", 4, 7, 14),
    ("华山中路", "road", ["华山路"], "三井街道", "col", 8, 2, 10),
    ("巢湖路", "road", [], "三井街道", "row", 6, 7, 14),
    ("秦岭路", "road", [], "三井街道", "row", 8, 7, 14),
    ("府琛路", "road", [], "三井街道", "col", 12, 2, 10),
    ("泰山路", "road", [], "三井街道", "row", 2, 7, 14),
    ("黄河中路", "road", [], "三井街道", "row", 10, 7, 14),
    ("晋陵北路", "road", ["晋陵路"], "三井街道", "col", 11, 2, 15),
    ("龙城大道", "road", [], "三井街道", "row", 7, 1, 19),
    # 龙虎塘街道
    ("长江北路", "road", ["长江路"], "龙虎塘街道", "col", 16, 0, 8),
    ("衡山路", "road", [], "龙虎塘街道", "row", 5, 13, 19),
    ("辽河路", "road", [], "龙虎塘街道", "row", 3, 15, 19),
    ("嫩江路", "road", [], "龙虎塘街道", "col", 18, 2, 8),
    ("岷江路", "road", [], "龙虎塘街道", "col", 17, 2, 8),
    # 春江镇
    ("春江路", "road", [], "春江镇", "col", 13, 0, 1),
    ("圩塘大街", "road", [], "春江镇", "row", 0, 8, 19),
    ("江边路", "road", ["沿江路"], "春江镇", "row", 1, 8, 12),
    # 新桥镇
    ("新桥大街", "road", [], "新桥镇", "col", 3, 10, 13),
    ("黄河西路", "road", [], "新桥镇", "row", 10, 1, 6),
    ("锦江路", "road", [], "新桥镇", "row", 11, 1, 6),
    # 孟河镇
    ("孟城路", "road", [], "孟河镇", "col", 3, 0, 1),
    ("小河路", "road", [], "孟河镇", "row", 0, 0, 7),
    ("万绥路", "road", [], "孟河镇", "col", 6, 0, 1),
    # 薛家镇
    ("薛冶路", "road", [], "薛家镇", "col", 5, 6, 9),
    ("吕墅路", "road", [], "薛家镇", "row", 8, 1, 6),
    ("顺园路", "road", [], "薛家镇", "col", 2, 6, 9),
    ("玉龙北路", "road", ["玉龙路"], "薛家镇", "col", 6, 6, 13),
    # 罗溪镇
    ("罗溪大街", "road", [], "罗溪镇", "col", 4, 2, 5),
    ("空港大道", "road", [], "罗溪镇", "row", 4, 0, 6),
    # 西夏墅镇
    ("西夏墅大街", "road", [], "西夏墅镇", "col", 1, 2, 5),
    ("浦河路", "road", [], "西夏墅镇", "row", 3, 0, 2),
    # Rivers (not roads: they may share several cells with roads and are not used for crossings)
    ("德胜河", "river", [], "罗溪镇", "col", 6, 0, 5),
    ("新孟河", "river", [], "孟河镇", "col", 0, 0, 5),
    ("澡港河", "river", ["藻港河"], "三井街道", "col", 9, 0, 10),
    ("藻江河", "river", [], "河海街道", "col", 15, 11, 15),
    ("北塘河", "river", [], "河海街道", "row", 15, 7, 15),
]

# Point places: name, kind, aliases, official street, community (short name as in COMMUNITIES), index
# of the grid inside the community (sorted by id).
POINTS = [
    # 河海街道 (docs/places.md)
    ("中华恐龙园", "landmark", ["恐龙园", "常州恐龙园"], "河海街道", "汉江路社区居委会", 2),
    ("新北区人民法院", "landmark", ["区法院", "新北法院"], "河海街道", "国宾社区居委会", 1),
    ("新城南都", "compound", [], "河海街道", "汇丰社区居委会", 0),
    ("天安花园", "compound", [], "河海街道", "天安社区居委会", 2),
    ("锦绣东苑", "compound", [], "河海街道", "阳光社区居委会", 3),
    ("河海农贸市场", "market", ["河海菜场", "河海菜市场"], "河海街道", "河海社区居委会", 2),
    ("河海实验学校", "school", [], "河海街道", "兰翔社区居委会", 1),
    # 河海街道 (more)
    ("紫荆公园", "park", [], "河海街道", "衡山社区居委会", 2),
    ("新北区人民医院", "hospital", ["区人民医院", "新北人民医院"], "河海街道", "藻江社区居委会", 1),
    ("地铁河海大学站", "station", [], "河海街道", "兰翔社区居委会", 3),
    ("国宾花园", "compound", [], "河海街道", "国宾社区居委会", 3),
    ("汇丰新村", "compound", [], "河海街道", "汇丰社区居委会", 3),
    # 三井街道
    ("新北万达广场", "landmark", ["万达", "万达广场", "新北万达"], "三井街道", "府田社区居委会", 1),
    ("常州奥体中心", "landmark", ["奥体", "奥体中心", "体育馆"], "三井街道", "龙城社区居委会", 2),
    ("新北区政府", "landmark", ["区政府", "新北区行政中心", "行政中心"], "三井街道", "府新社区居委会", 2),
    ("世茂香槟湖", "compound", ["香槟湖"], "三井街道", "世茂香槟湖社区居委会", 1),
    ("绿都万和城", "compound", ["万和城"], "三井街道", "绿都万和城社区居委会", 1),
    ("府翰苑", "compound", [], "三井街道", "府成社区居委会", 2),
    ("富都花园", "compound", [], "三井街道", "富都社区居委会", 1),
    ("三井农贸市场", "market", ["三井菜场", "三井菜市场"], "三井街道", "三井社区居委会", 2),
    ("华山菜场", "market", ["华山农贸市场", "华山菜市场"], "三井街道", "华山社区居委会", 2),
    ("三井实验小学", "school", ["三井小学"], "三井街道", "洪福社区居委会", 1),
    ("新区公园", "park", ["新北公园"], "三井街道", "飞龙社区居委会", 2),
    ("新北区实验中学", "school", ["实验中学"], "三井街道", "巢湖社区居委会", 2),
    ("常州外国语学校", "school", ["外国语学校", "常外"], "三井街道", "秦岭社区居委会", 2),
    ("百草园小学", "school", [], "三井街道", "龙锦社区居委会", 3),
    ("三井社区卫生服务中心", "hospital", ["三井卫生院"], "三井街道", "燕兴社区居委会", 1),
    ("地铁新区公园站", "station", [], "三井街道", "飞龙社区居委会", 3),
    ("府琛花园", "compound", [], "三井街道", "府田社区居委会", 3),
    ("飞龙新村", "compound", [], "三井街道", "飞龙社区居委会", 0),
    # 龙虎塘街道
    ("常州北站", "station", ["高铁站", "北站", "常州高铁站", "高铁北站"], "龙虎塘街道", "玲珑社区居委会", 2),
    ("新龙生态林", "park", ["生态林"], "龙虎塘街道", "吟龙社区居委会", 2),
    ("龙虎塘新村", "compound", [], "龙虎塘街道", "盘龙社区居委会", 1),
    ("星河国际", "compound", [], "龙虎塘街道", "腾龙社区居委会", 3),
    ("东南花苑", "compound", [], "龙虎塘街道", "祥龙社区居委会", 2),
    ("龙虎塘农贸市场", "market", ["龙虎塘菜场", "龙虎塘菜市场"], "龙虎塘街道", "盘龙社区居委会", 4),
    ("龙虎塘实验小学", "school", ["龙虎塘小学"], "龙虎塘街道", "锦珑社区居委会", 2),
    ("龙虎塘社区卫生服务中心", "hospital", ["龙虎塘卫生院"], "龙虎塘街道", "腾龙社区居委会", 1),
    # 春江镇
    ("常州港", "landmark", ["圩塘码头", "常州港码头"], "春江镇", "圩塘社区居委会", 0),
    ("魏村闸", "landmark", [], "春江镇", "龙圩社区居委会", 1),
    ("春江花苑", "compound", [], "春江镇", "春江社区居委会", 1),
    ("圩塘新村", "compound", [], "春江镇", "圩塘社区居委会", 2),
    ("春江农贸市场", "market", ["春江菜场", "春江菜市场"], "春江镇", "春江社区居委会", 2),
    ("春江中学", "school", [], "春江镇", "百丈社区居委会", 1),
    ("春江卫生院", "hospital", [], "春江镇", "百丈社区居委会", 2),
    # 新桥镇
    ("新桥工业园", "landmark", [], "新桥镇", "郭塘桥村村委会", 1),
    ("河海大学常州校区", "school", ["河海大学", "河海常州校区"], "新桥镇", "江湾社区居委会", 1),
    ("新桥花苑", "compound", [], "新桥镇", "道乡社区居委会", 1),
    ("新桥新村", "compound", [], "新桥镇", "锦海社区居委会", 1),
    ("新桥菜市场", "market", ["新桥菜场", "新桥农贸市场"], "新桥镇", "新龙湖社区居委会", 1),
    ("新桥实验小学", "school", ["新桥小学"], "新桥镇", "望湖社区居委会", 1),
    ("新龙湖公园", "park", [], "新桥镇", "新龙湖社区居委会", 2),
    # 孟河镇
    ("孟河古镇", "landmark", ["孟河老街"], "孟河镇", "孟城社区居委会", 0),
    ("孟河汽摩配市场", "market", ["汽摩配城", "汽摩配市场"], "孟河镇", "代英社区居委会", 1),
    ("孟河新村", "compound", [], "孟河镇", "孟城社区居委会", 1),
    ("孟河农贸市场", "market", ["孟河菜场"], "孟河镇", "万绥社区居委会", 0),
    ("孟河中学", "school", [], "孟河镇", "万绥社区居委会", 1),
    ("孟河卫生院", "hospital", [], "孟河镇", "齐梁社区居委会", 0),
    # 薛家镇
    ("薛家工业园", "landmark", [], "薛家镇", "漕河社区居委会", 1),
    ("吾悦广场", "landmark", ["新北吾悦", "吾悦"], "薛家镇", "奥园社区居委会", 1),
    ("顺园新村", "compound", [], "薛家镇", "新晨社区居委会", 1),
    ("吕墅花苑", "compound", [], "薛家镇", "吕墅社区居委会", 1),
    ("薛家农贸市场", "market", ["薛家菜场", "薛家菜市场"], "薛家镇", "中巷社区居委会", 1),
    ("薛家实验小学", "school", ["薛家小学"], "薛家镇", "后肖社区居委会", 1),
    ("薛家卫生院", "hospital", [], "薛家镇", "丽园社区居委会", 1),
    ("橄榄城", "compound", [], "薛家镇", "橄榄城社区居委会", 1),
    # 罗溪镇
    ("罗溪工业园", "landmark", [], "罗溪镇", "高巷社区居委会", 0),
    ("罗溪新村", "compound", [], "罗溪镇", "罗墅湾社区居委会", 1),
    ("王下新村", "compound", [], "罗溪镇", "王下村村委会", 0),
    ("罗溪农贸市场", "market", ["罗溪菜场", "罗溪菜市场"], "罗溪镇", "溪南社区居民委员会", 0),
    ("罗溪中心小学", "school", ["罗溪小学"], "罗溪镇", "青莲社区居委会", 1),
    # 西夏墅镇
    ("西夏墅工具城", "market", ["工具城", "工具市场"], "西夏墅镇", "香山社区居委会", 0),
    ("梅林公园", "park", [], "西夏墅镇", "梅林村村委会", 0),
    ("西夏墅新村", "compound", [], "西夏墅镇", "华墅社区居委会", 1),
    ("西夏墅农贸市场", "market", ["西夏墅菜场"], "西夏墅镇", "华墅社区居委会", 0),
    ("西夏墅中学", "school", [], "西夏墅镇", "池上社区居委会", 1),
    # More public places citizens name
    ("新北区图书馆", "landmark", ["区图书馆"], "三井街道", "龙城社区居委会", 3),
    ("新北区市民广场", "landmark", ["市民广场"], "三井街道", "府新社区居委会", 3),
    ("新北区妇幼保健院", "hospital", ["妇幼保健院"], "三井街道", "华山社区居委会", 4),
    ("龙虎塘公交首末站", "station", ["龙虎塘公交站"], "龙虎塘街道", "吟龙社区居委会", 4),
    ("春江公园", "park", [], "春江镇", "黄海社区居委会", 1),
    ("小黄山", "landmark", ["孟河小黄山"], "孟河镇", "小黄山村村委会", 1),
    ("罗溪卫生院", "hospital", [], "罗溪镇", "汤庄桥社区居委会", 1),
    ("西夏墅卫生院", "hospital", [], "西夏墅镇", "丽江社区居委会", 0),
    ("新桥卫生院", "hospital", [], "新桥镇", "仲家村村委会", 1),
    ("薛家公园", "park", [], "薛家镇", "丽园社区居委会", 2),
]


def short_forms(name: str) -> list[str]:
    """Aliases of a community: the name without 居委会/村委会 suffix, then the bare short form."""
    for suffix in ("社区居民委员会", "社区居委会"):
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            return [base + "社区", base]
    if name.endswith("村村委会"):
        base = name[: -len("村村委会")]
        return [base + "村", base]
    return []


def fail(message: str) -> None:
    """Stop with a message: the data in this script breaks an invariant."""
    sys.exit(f"make_grids: {message}")


def vertex(col: int, row: int) -> list[float]:
    """The lattice vertex at the north-west corner of cell (col, row), rounded identically for all."""
    return [round(LNG0 + col * DLNG, 6), round(LAT0 - row * DLAT, 6)]


def ring(col: int, row: int) -> list[list[float]]:
    """Closed ring (NW, NE, SE, SW, NW) of a cell; neighbours share these exact vertices."""
    return [vertex(col, row), vertex(col + 1, row), vertex(col + 1, row + 1), vertex(col, row + 1), vertex(col, row)]


def build():
    """Lay out streets, communities and grids; return (district, grids, cell index, places)."""
    cell_owner: dict[tuple[int, int], tuple[str, str]] = {}  # (col,row) -> (street code, community code)
    streets_out, communities_out = [], []
    by_short: dict[str, str] = {}
    taken = {n for _, _, aliases, _ in STREETS for n in aliases}
    taken |= {n for line in LINES for n in (line[0], *line[2])}
    taken |= {n for point in POINTS for n in (point[0], *point[2])}
    street_name = {code: name for code, name, _, _ in STREETS}
    for code, name, aliases, (c0, c1, r0, r1) in STREETS:
        streets_out.append({"code": code, "name": name, "aliases": aliases})
        walk = []
        for i, row in enumerate(range(r0, r1 + 1)):
            cols = list(range(c0, c1 + 1))
            walk.extend((c, row) for c in (cols if i % 2 == 0 else reversed(cols)))
        comms = COMMUNITIES[code]
        if sum(n for _, _, n, _ in comms) != len(walk):
            fail(f"{name}: communities take {sum(n for _, _, n, _ in comms)} grids, the block has {len(walk)}")
        pos = 0
        for suffix, cname, n, aliases in comms:
            ccode = code + suffix
            if aliases is None:
                # A bare short form that is also a street alias or a gazetteer name would resolve to
                # two places; keep only the unambiguous forms.
                aliases = [a for a in short_forms(cname) if a not in taken]
            communities_out.append({"code": ccode, "name": cname, "street": name, "aliases": aliases})
            by_short[cname] = ccode
            for cell in walk[pos:pos + n]:
                if cell in cell_owner:
                    fail(f"cell {cell} used twice")
                cell_owner[cell] = (code, ccode)
            pos += n
    # Grid ids: per community, cells sorted north to south, then west to east.
    grids_out = []
    cell_id: dict[tuple[int, int], str] = {}
    for c in communities_out:
        cells = sorted((cell for cell, (_, cc) in cell_owner.items() if cc == c["code"]), key=lambda cr: (cr[1], cr[0]))
        for seq, (col, row) in enumerate(cells, start=1):
            gid = f"{c['code']}{seq:03d}"
            cell_id[(col, row)] = gid
            grids_out.append({"id": gid, "community": c["code"], "cell": (col, row), "polygon": ring(col, row)})
    if len(grids_out) != 268:
        fail(f"{len(grids_out)} grids, the seed has 268")
    _check_contiguous(communities_out, cell_owner)

    places = []
    road_cells: dict[str, set] = {}
    for name, kind, aliases, street, axis, idx, a, b in LINES:
        cells = [(idx, r) for r in range(a, b + 1)] if axis == "col" else [(c, idx) for c in range(a, b + 1)]
        missing = [cell for cell in cells if cell not in cell_owner]
        if missing:
            fail(f"{name} runs through cells outside the district: {missing}")
        if not any(street_name[cell_owner[cell][0]] == street for cell in cells):
            fail(f"{name} has no grid in its street {street}")
        comms = {cell_owner[cell][1] for cell in cells}
        places.append({
            "name": name, "kind": kind, "aliases": aliases, "street": street,
            "community": comms.pop() if len(comms) == 1 else None,
            "grids": [cell_id[cell] for cell in cells],
        })
        if kind == "road":
            road_cells[name] = set(cells)
    names = sorted(road_cells)
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            if len(road_cells[x] & road_cells[y]) > 1:
                fail(f"roads {x} and {y} share {len(road_cells[x] & road_cells[y])} grids")
    for name, kind, aliases, street, cname, index in POINTS:
        ccode = by_short.get(cname) or fail(f"{name}: unknown community {cname}")
        if street_name[ccode[:9]] != street:
            fail(f"{name}: community {cname} is not in {street}")
        gids = sorted(g["id"] for g in grids_out if g["community"] == ccode)
        places.append({"name": name, "kind": kind, "aliases": [a for a in aliases if a != name],
                       "street": street, "community": ccode, "grids": [gids[index % len(gids)]]})
    return streets_out, communities_out, grids_out, places


def _check_contiguous(communities, cell_owner):
    """Every community's cells must form one edge-connected region."""
    for c in communities:
        cells = {cell for cell, (_, cc) in cell_owner.items() if cc == c["code"]}
        start = next(iter(cells))
        seen, todo = {start}, [start]
        while todo:
            col, row = todo.pop()
            for n in ((col + 1, row), (col - 1, row), (col, row + 1), (col, row - 1)):
                if n in cells and n not in seen:
                    seen.add(n)
                    todo.append(n)
        if seen != cells:
            fail(f"community {c['name']} is not contiguous")


HEADER = "# GENERATED by config/tools/make_grids.py -- edit the script and re-run it, not this file.\n"


def dump(data) -> str:
    """YAML text: block style, Chinese kept readable, keys in insertion order."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=200)


def write(out: Path) -> None:
    """Write district.yaml, grids.yaml and gazetteer.yaml into `out`."""
    streets, communities, grids, places = build()
    district = {
        "district": {
            "admin_code": ADMIN,
            "name": DISTRICT_NAME,
            "note": "Names and codes are real (2011 streets of the seed, NBS 2023 community codes); "
                    "the geometry is synthetic, a lattice laid out only roughly as in reality.",
        },
        "streets": streets,
        "communities": communities,
    }
    (out / "district.yaml").write_text(
        HEADER
        + "# 常州市新北区 as in the seed (2011): nine streets/towns. 12-digit community codes are NBS 2023\n"
          "# codes; 河海街道 (320411001) no longer exists in 2023, so its communities, which 2023 lists under\n"
          "# 三井街道 (320411002009 藻江, 320411002017-024 河海..汉江路), are re-coded under 320411001 keeping\n"
          "# their last three digits. 春江镇/新桥镇 keep the 2023 codes of 春江街道/新桥街道 (004/006).\n"
        + dump(district), encoding="utf-8")
    lines = [HEADER, "# 268 unit grids (万米单元网格). id = 6 admin + 3 street + 3 community + 3 sequence\n",
             "# (sequence west to east, north to south inside the community). Polygons are synthetic\n",
             "# closed rings [lng, lat]; neighbouring cells share vertices exactly.\n", "grids:\n"]
    for g in grids:
        poly = ", ".join(f"[{x}, {y}]" for x, y in g["polygon"])
        lines.append(f"  - {{id: \"{g['id']}\", community: \"{g['community']}\", polygon: [{poly}]}}\n")
    (out / "grids.yaml").write_text("".join(lines), encoding="utf-8")
    (out / "gazetteer.yaml").write_text(
        HEADER
        + "# Named places: every name of docs/places.md with its street and short forms, plus more real or\n"
          "# plausible 新北区 roads, rivers and landmarks. Roads list a line of adjacent grids; two crossing\n"
          "# roads share exactly the grid of their crossing. Streets and communities are places too: the\n"
          "# loader adds them from district.yaml.\n"
        + dump({"places": places}), encoding="utf-8")
    print(f"wrote {len(streets)} streets, {len(communities)} communities, {len(grids)} grids, "
          f"{len(places)} places into {out}")


def main(argv=None) -> int:
    """Command line: --out DIR (default: the config/ folder this script lives in)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    write(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
