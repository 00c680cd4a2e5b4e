"""Deterministic article content for the replica: titles, body blocks and the gold record.

Everything is drawn from random.Random(hash(seed, host, post_id, purpose)), so a post's text is
the same in every process and nothing is stored. The vocabulary below is modelled on the site
samples (feed.xml, post-3756.html, laian-post-1414.html): park news, land transfers, factory
rent/sale listings and investment-promotion reports.

A post body is a list of blocks; `blocks_html` renders them as the editor's HTML and
`blocks_paragraphs` gives the clean gold paragraphs (one per line).
"""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import datetime, timedelta
from functools import lru_cache

from crawler.clock import SITE_TZ
from crawler.replica.model import HOTLINE, stable_int, stable_rng

# --------------------------------------------------------------------------------------------
# Vocabulary (data). Each region is the local colour of one subsite.
# --------------------------------------------------------------------------------------------
_COMMON_CORES = ["中晟", "星辰", "衡远", "国盛", "宏昌", "明康", "宝衡", "力拓", "捷利", "洛克", "金洲",
                 "普利", "雅创", "中科瑞", "凯盛", "宏源", "远景", "天恒", "华锐", "恒泰", "博润", "鼎新",
                 "永盛", "瑞丰", "联创", "汇川", "安达", "正昌", "佳禾", "新奥"]
# (business line in company names, what the company does, a product line)
_DOMAINS = [
    ("环保科技", "工业固废资源化利用及环保设备制造", "环保装备"),
    ("机电科技", "精密机电设备研发与制造", "伺服电机"),
    ("检测技术", "第三方检测认证及计量服务", "检测仪器"),
    ("新材料科技", "高性能高分子材料、功能膜材料的研发与生产", "锂电池隔膜"),
    ("医疗器械", "高端医疗器械及耗材的研发与生产", "医用耗材"),
    ("新能源科技", "储能电池系统及光伏组件生产", "储能电池系统"),
    ("电子科技", "功率半导体器件及模组封装测试", "功率半导体器件"),
    ("智能装备", "工业机器人及自动化产线集成", "工业机器人"),
    ("食品", "冷链预制食品加工", "冷链预制食品"),
    ("汽车零部件", "新能源汽车零部件制造", "新能源汽车零部件"),
    ("航空科技", "无人机整机及航空零部件制造", "无人机零部件"),
    ("生物科技", "生物降解材料研发与生产", "生物降解材料"),
]
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙朱马胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
_GIVEN = ["婕", "仲楠", "若鹏", "海涛", "秀兰", "立新", "凌云", "鹏飞", "国庆", "佳琪", "子涵", "明", "强",
          "敏", "磊", "芳", "军", "俊杰", "刚", "霞", "涛", "平", "德明", "建华", "晓东", "丽娟", "志强",
          "文博", "雪梅", "振宇", "红霞", "思远", "永刚", "春燕", "海燕", "建国"]
_FLOORS = ["单层", "双层", "三层", "四层"]
_GROUND = ["环氧地坪", "混凝土地坪，承重5吨/平方米", "耐磨地坪，承重3吨/平方米", "金刚砂地坪"]
_ENV = ["可做食品、医疗器械", "可办环评", "可做精密机械、电子", "环评齐全，可做新材料", "不做化工"]
_INDUSTRIES = ["新材料", "生物医药", "智能制造", "高端装备", "新能源", "集成电路", "汽车零部件", "精细化工"]
_LAND_USE = ["工业用地", "研发用地", "仓储用地"]
_ROADS = ["兴工路", "盛瓯路", "新农路", "春华路", "瑞贤路", "新开河", "夏盛路", "朱枫公路", "金瓯路", "朱吕公路",
          "规划三路", "亭卫公路", "松金公路", "沪杭公路", "大寨河", "漕廊公路", "秀州路", "建设路"]
_HIGHWAYS = ["G15沈海高速", "G60沪昆高速", "S32申嘉湖高速", "G1501绕城高速", "S4沪金高速"]

# Local news headlines of each region, the source of the "more news" teaser lines.
REGIONS = {
    "shanghai_jinshan": {
        "province": "上海", "city": "上海市", "district": "金山区", "short": "金山", "company_prefix": "上海",
        "towns": ["枫泾镇", "朱泾镇", "亭林镇", "吕巷镇", "廊下镇", "张堰镇", "金山卫镇", "漕泾镇", "山阳镇", "石化街道"],
        "parks": ["金山工业区", "金山第二工业区", "上海湾区高新技术产业开发区", "亭林工业区", "朱泾工业园区",
                  "张堰工业园区", "金山卫工业园区", "廊下现代农业园区", "金山区山阳工业园区"],
        "parcel": ["JSS6-0101单元", "FJC1-0201单元", "CJ-0101单元", "TL-0302单元", "JSC2-0102单元"],
        "news_cities": ["镇江", "常州", "南通", "湖州", "嘉兴", "昆山", "扬州"],
        "sources": ["金山区融媒体中心", "上海金山发布", "上观新闻", "解放日报", "金山区经委", "中指研究院",
                    "金山区规划和自然资源局", "上海金山"],
        "authority": "上海市金山区规划和自然资源局",
        "gov_site": "http://www.jinshan.gov.cn/",  # off-site link target inside some articles
        "exchange": "上海市土地交易市场",
        "area_code": "021",
        "teaser_site": "http://www.jsjinshan.com/news/",
        "teasers": ["镇江市区2025年度城乡居民医保参保缴费工作启动", "镇江市中华职业教育社第四次代表大会召开",
                    "镇江市人民代表大会常务委员会公告", "冷空气“来势汹汹” 明晨最低气温跌破冰点",
                    "市管退休干部考察调研重大项目建设情况", "10月产量继续超8000辆 北汽蓝谷麦格纳再创新高",
                    "“深”情合作 “润”育未来 2024润州区校企合作签约", "枫泾古镇迎来秋季旅游高峰 游客量同比增长",
                    "山阳镇“田园综合体”项目完成规划设计", "镇江高新区一批重点项目集中签约",
                    "平湖经开区今年新引进亿元以上项目23个", "廊下镇郊野公园获评国家4A级旅游景区",
                    "全市秋冬季大气污染防治攻坚动员会召开", "金山卫镇城市更新项目启动居民意见征询",
                    "亭林镇举办“亭”好招聘会 提供岗位千余个", "上海化学工业区推进绿色低碳转型",
                    "张堰镇开展安全生产大检查 排查隐患六十余处", "朱泾镇花开海上生态园秋季花展开幕",
                    "金山区召开2025年重大工程建设推进会", "上海湾区高新区新一批“专精特新”企业名单公布",
                    "镇江港集装箱吞吐量创历史新高", "京口区“一刻钟便民生活圈”建设全面铺开",
                    "句容市开展冬季森林防火专项整治行动", "吕巷镇水果公园蟠桃采摘季开启",
                    "金山区人才公寓第二批房源开放申请", "漕泾镇“零碳”示范园区建设加快推进",
                    "嘉兴港区与金山签署跨省域合作框架协议", "扬中市电气产业链再添龙头企业",
                    "第七届进博会金山区签约采购意向金额创新高", "丹阳眼镜产业集群入选国家级中小企业特色产业集群",
                    "全区高质量发展大会召开 部署下阶段重点工作", "金山区卫健委发布冬季传染病防控提示"],
        "tags": ["新质生产力", "镇江", "产业政策", "工业用地", "厂房出租", "厂房出售", "土地出让", "金山工业区",
                 "招商引资", "项目开工", "标准厂房", "枫泾镇", "亭林镇", "专精特新", "长三角一体化", "挂牌出让"],
    },
    "anhui_laian": {
        "province": "安徽", "city": "滁州市", "district": "来安县", "short": "滁州", "company_prefix": "滁州",
        "towns": ["新安镇", "半塔镇", "汊河镇", "水口镇", "雷官镇", "舜山镇", "大英镇", "张山镇"],
        "parks": ["来安县半塔工业园", "来安经济开发区", "汊河经济开发区", "苏滁现代产业园", "琅琊经济开发区",
                  "定远盐化工业园", "全椒经济开发区"],
        "parcel": ["LA2025-", "LA2026-", "CH2024-", "BT2025-"],
        "news_cities": ["滁州", "天长", "明光", "合肥", "马鞍山"],
        "sources": ["中国滁州网", "来安县人民政府", "滁州日报", "安徽日报", "来安县融媒体中心", "滁州市投资促进局"],
        "authority": "滁州市自然资源和规划局",
        "gov_site": "http://www.chuzhou.gov.cn/",  # off-site link target inside some articles
        "exchange": "滁州市公共资源交易中心",
        "area_code": "0550",
        "teaser_site": "http://www.laian.gov.cn/news/",
        "teasers": ["全县安全生产工作会议召开", "滁州海关助力企业出口订单同比增长三成以上", "宁滁城际铁路滁州段建设进展顺利", "来安花红产业园年产值突破亿元", "我县举办“来安人才周”系列活动", "滁州市前三季度规上工业增加值增长12.6%", "半塔镇“红色+生态”文旅融合项目启动建设", "汊河镇召开重点项目推进会暨项目观摩活动", "来安县开展优化营商环境专项督查工作", "滁州市举办长三角产业合作对接会 签约项目32个", "水口镇特色农产品走俏长三角市场 带动农户增收", "雷官镇美丽乡村建设见成效 人居环境持续改善", "来安县新增省级专精特新中小企业5家", "滁州高新区光伏产业链再添新项目 总投资超50亿元", "我县召开招商引资工作调度会 部署下阶段重点任务", "来安县2026年第二批重点项目集中开工", "滁州市召开“双招双引”工作推进会", "舜山镇发展林下经济 助力村集体增收", "全椒县举办智能家电产业发展论坛", "天长市电缆产业集群入选省级特色产业集群名单"],
        "tags": ["滁州", "产业发展", "来安县", "招商引资", "工业用地", "光伏", "新能源", "半塔工业园",
                 "宁滁同城化", "挂牌出让", "厂房出租", "双招双引", "智能家电", "汊河经济开发区"],
    },
    "shanghai_songjiang": {
        "province": "上海", "city": "上海市", "district": "松江区", "short": "松江", "company_prefix": "上海",
        "towns": ["九亭镇", "泗泾镇", "车墩镇", "新桥镇", "洞泾镇", "石湖荡镇", "小昆山镇", "佘山镇"],
        "parks": ["松江经济技术开发区", "松江工业区", "漕河泾开发区松江园区", "松江综合保税区", "车墩工业园区"],
        "parcel": ["SJC1-0001单元", "SJS2-0103单元", "SJT3-0205单元"],
        "news_cities": ["嘉兴", "苏州", "湖州", "无锡"],
        "sources": ["上海松江", "松江报", "上观新闻", "松江区经委", "中指研究院"],
        "authority": "上海市松江区规划和自然资源局",
        "gov_site": "http://www.songjiang.gov.cn/",  # off-site link target inside some articles
        "exchange": "上海市土地交易市场",
        "area_code": "021",
        "teaser_site": "http://www.songjiang.gov.cn/news/",
        "teasers": ["G60科创走廊建设推进大会召开 发布一批重大合作项目", "松江区召开重大项目建设推进会", "九亭镇启动城市更新试点 首批改造三个老旧小区", "泗泾古镇文化旅游节开幕", "车墩影视基地新项目签约落地 总投资逾十亿元", "松江枢纽建设取得新进展 主体结构全面封顶", "新桥镇举办专场招聘会 提供岗位八百余个", "洞泾镇人工智能产业园开园 首批入驻企业20家", "松江区新一批“专精特新”企业名单公布", "小昆山镇农业园区迎来丰收季", "佘山国家旅游度假区冬季系列活动启动", "松江区推进工业用地提质增效 盘活低效用地千余亩"],
        "tags": ["松江", "G60科创走廊", "厂房出租", "工业用地", "招商引资", "项目开工", "土地出让", "标准厂房"],
    },
    "zhejiang_jiashan": {
        "province": "浙江", "city": "嘉兴市", "district": "嘉善县", "short": "嘉善", "company_prefix": "嘉善",
        "towns": ["魏塘街道", "罗星街道", "惠民街道", "大云镇", "西塘镇", "干窑镇", "陶庄镇", "姚庄镇", "天凝镇"],
        "parks": ["嘉善经济技术开发区", "嘉善县中新产业园", "姚庄经济开发区", "嘉善科技新城", "西塘工业园区"],
        "parcel": ["嘉善县2026-", "嘉善县2025-", "姚庄2025-"],
        "news_cities": ["嘉兴", "平湖", "海宁", "桐乡", "湖州"],
        "sources": ["嘉善新闻网", "嘉兴日报", "嘉善县人民政府", "浙江日报", "嘉善县商务局"],
        "authority": "嘉善县自然资源和规划局",
        "gov_site": "http://www.jiashan.gov.cn/",  # off-site link target inside some articles
        "exchange": "嘉兴市公共资源交易中心",
        "area_code": "0573",
        "teaser_site": "http://www.jiashan.gov.cn/news/",
        "teasers": ["嘉善县召开长三角一体化示范区建设推进会", "西塘古镇国庆假期游客量创历史新高", "姚庄镇新签约项目12个 总投资逾六十亿元", "大云镇巧克力小镇获评省级特色小镇", "嘉善县举办人才科创周活动 发布人才新政十条", "魏塘街道老旧小区改造项目全面启动", "干窑镇京砖文化节开幕", "陶庄镇渔业转型见成效 养殖尾水实现达标排放", "嘉善县前三季度新增规上工业企业30家", "天凝镇美丽城镇建设通过省级验收", "嘉善高铁新城建设加快推进 首批项目开工", "惠民街道举办企业服务日活动"],
        "tags": ["嘉善", "长三角一体化", "招商引资", "工业用地", "厂房出售", "项目签约", "示范区", "挂牌出让"],
    },
    "shanghai_fengxian": {
        "province": "上海", "city": "上海市", "district": "奉贤区", "short": "奉贤", "company_prefix": "上海",
        "towns": ["南桥镇", "奉城镇", "庄行镇", "金汇镇", "四团镇", "青村镇", "柘林镇", "海湾镇"],
        "parks": ["奉贤经济开发区", "东方美谷产业园", "上海星火开发区", "临港奉贤园区", "杭州湾开发区"],
        "parcel": ["FX-0101单元", "FX-0302单元", "FXC2-0201单元"],
        "news_cities": ["南通", "平湖", "嘉兴", "宁波"],
        "sources": ["上海奉贤", "奉贤报", "上观新闻", "奉贤区经委", "中指研究院"],
        "authority": "上海市奉贤区规划和自然资源局",
        "gov_site": "http://www.fengxian.gov.cn/",  # off-site link target inside some articles
        "exchange": "上海市土地交易市场",
        "area_code": "021",
        "teaser_site": "http://www.fengxian.gov.cn/news/",
        "teasers": ["东方美谷国际化妆品大会开幕 签约项目总投资逾百亿元", "奉贤区召开优化营商环境大会", "南桥新城建设加快推进 一批重大功能性项目落地", "庄行镇菜花节吸引游客十余万人次", "金汇镇启动乡村振兴示范村建设", "四团镇重点项目集中开工 总投资超三十亿元", "奉贤区新一批“专精特新”企业名单公布", "青村镇黄桃产业再迎丰收 线上销售额同比增长", "海湾镇生态廊道建设工程全面完成", "奉贤新城“十字水街”景观工程启动", "柘林镇海滨旅游项目签约 将打造滨海度假新地标", "奉贤区人才公寓第三批房源开放申请"],
        "tags": ["奉贤", "东方美谷", "厂房出租", "工业用地", "招商引资", "生物医药", "土地出让", "临港"],
    },
    "jiangsu_kunshan": {
        "province": "江苏", "city": "苏州市", "district": "昆山市", "short": "昆山", "company_prefix": "昆山",
        "towns": ["玉山镇", "巴城镇", "周市镇", "陆家镇", "花桥镇", "淀山湖镇", "张浦镇", "周庄镇", "千灯镇"],
        "parks": ["昆山经济技术开发区", "昆山高新区", "花桥经济开发区", "昆山综合保税区", "张浦工业园区"],
        "parcel": ["昆地2026-", "昆地2025-", "KS2024-"],
        "news_cities": ["昆山", "苏州", "太仓", "常熟", "无锡"],
        "sources": ["昆山日报", "昆山市人民政府", "苏州日报", "新华日报", "昆山发布"],
        "authority": "昆山市自然资源和规划局",
        "gov_site": "http://www.ks.gov.cn/",  # off-site link target inside some articles
        "exchange": "苏州市公共资源交易中心",
        "area_code": "0512",
        "teaser_site": "http://www.ks.gov.cn/news/",
        "teasers": ["昆山开发区光电产业园再添新项目 总投资逾二十亿元", "周庄古镇迎来旅游旺季", "花桥国际商务城新签约企业15家", "昆山市召开台资企业座谈会 共商高质量发展", "千灯镇启动文旅融合发展三年行动计划", "巴城镇阳澄湖大闸蟹开捕", "张浦镇举办精密制造产业对接会 现场签约项目八个", "昆山高新区新一批重点项目集中开工", "陆家镇城市更新项目启动居民意见征询", "淀山湖镇生态修复工程完工", "周市镇智能制造产业园开园 首批入驻企业12家", "昆山市新增国家级专精特新“小巨人”企业"],
        "tags": ["昆山", "苏州", "厂房出租", "工业用地", "台资企业", "招商引资", "光电产业", "土地出让"],
    },
}

# Which kinds of article each category position carries (first, second, third category of a site).
CATEGORY_KINDS = [
    [("factory", 6), ("project", 2), ("policy", 2)],
    [("project", 4), ("policy", 3), ("stats", 3)],
    [("land_result", 6), ("land_notice", 3), ("planning", 1)],
]
# On two-category sites the second category also carries the land notices (laian-post-1414.html).
CATEGORY_KINDS_TWO = [
    [("land_result", 4), ("factory", 2), ("project", 4)],
    [("stats", 5), ("policy", 3), ("land_notice", 2)],
]

_HALFWIDTH = str.maketrans({"，": ",", "？": "?", "（": "(", "）": ")", "；": ";"})

KINDS = ("factory", "land_result", "land_notice", "planning", "project", "policy", "stats")

# Tags that belong to one kind of article; every other tag of a site (places, parks) fits any post.
KIND_TAGS = {
    "factory": {"厂房出租", "厂房出售", "标准厂房", "招商引资"},
    "land_result": {"工业用地", "土地出让", "挂牌出让"},
    "land_notice": {"土地出让", "挂牌出让", "工业用地"},
    "planning": {"工业用地", "土地出让"},
    "project": {"招商引资", "项目开工", "项目签约", "专精特新", "双招双引"},
    "policy": {"新质生产力", "产业政策", "长三角一体化", "宁滁同城化", "产业发展", "G60科创走廊", "示范区"},
    "stats": {"产业发展", "新能源", "光伏", "智能家电", "新质生产力", "专精特新"},
}
_KIND_TAG_NAMES = set().union(*KIND_TAGS.values())


def category_kinds(ncats: int) -> list:
    """(kind, weight) lists per category position for a site with ncats categories."""
    table = CATEGORY_KINDS_TWO if ncats == 2 else CATEGORY_KINDS
    return [table[min(i, len(table) - 1)] for i in range(ncats)]


def tag_pool(kind: str, names: list[str]) -> list[int]:
    """Indexes of the site tags a post of this kind may carry."""
    pool = [i for i, n in enumerate(names) if n in KIND_TAGS[kind] or n not in _KIND_TAG_NAMES]
    return pool or list(range(len(names)))


# Ad-law swaps the network applies to its own pages: the gold keeps the real character
# (post-3756.html "蕞新排名", "明晨蕞低气温"). Masks like "安徽*大" stay as they are.
AD_SWAPS = {"最": "蕞"}

# Indent styles seen in the samples: full-width spaces (most), &nbsp; runs (land data posts),
# CSS text-indent (3871 in feed.xml) and none (laian relate intros).
INDENTS = ("full", "full", "full", "full", "nbsp", "css", "none")

_OPENCC: dict = {}


def opencc(config: str):
    """A cached OpenCC converter ("s2t", "t2s"); built once per process."""
    if config not in _OPENCC:
        import opencc as _oc

        _OPENCC[config] = _oc.OpenCC(config)
    return _OPENCC[config]


def site_tags(seed: int, host: str, region: dict) -> list[tuple[int, str]]:
    """(tag_id, name) of one site; ids are sparse like Z-BlogPHP's (tags-6, tags-52 ...)."""
    rng = stable_rng(seed, host, "tags")
    out, tid = [], 1
    for name in region["tags"]:
        tid += rng.choice([1, 1, 2, 3, 5])
        out.append((tid, name))
    return out


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def _person(rng) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN)


def _company(rng, region) -> tuple[str, tuple]:
    dom = rng.choice(_DOMAINS)
    core = rng.choice(_COMMON_CORES)
    suffix = rng.choice(["有限公司", "有限公司", "有限公司", "股份有限公司"])
    return f"{region['company_prefix']}{core}{dom[0]}{suffix}", dom


def _mobile(rng) -> str:
    return "1" + rng.choice("35789") + "".join(str(rng.randrange(10)) for _ in range(9))


def _landline(rng, region) -> str:
    digits = 8 if region["area_code"] in ("021",) else 7
    return region["area_code"] + "-" + str(rng.randrange(2, 9)) + "".join(
        str(rng.randrange(10)) for _ in range(digits - 1))


def _upload(host: str, when: datetime, k: int) -> str:
    local = when.astimezone(SITE_TZ) + timedelta(seconds=37 * k)
    return (f"http://{host}/zb_users/upload/{local:%Y/%m}/"
            f"{local:%Y%m%d%H%M%S}{stable_int(host, when.timestamp(), k) % 9000 + 1000}.jpg")


def text_width(s: str) -> int:
    """Display width as Z-BlogPHP's title cutter counts it: CJK, full-width and curly quotes are 2."""
    return sum(2 if unicodedata.east_asian_width(c) in "WFA" else 1 for c in s)


def truncate_teaser(title: str, width: int = 34) -> str:
    """The teaser line form: titles wider than `width` are cut to fit and end in '...'.

    Read off the samples: "镇江市区2025年度城乡居民医保参保缴..." and "冷空气“来势汹汹” 明晨蕞低气温跌..." are
    both cut at width 34; "10月产量继续超8000辆 北汽蓝谷麦格纳..." is a width-36 cut."""
    if text_width(title) <= width:
        return title
    out, used = [], 0
    for c in title:
        w = 2 if unicodedata.east_asian_width(c) in "WFA" else 1
        if used + w > width:
            break
        out.append(c)
        used += w
    return "".join(out).rstrip() + "..."


# --------------------------------------------------------------------------------------------
# Facts and titles (cheap, cached): used for list pages, sidebars, related and prev/next.
# --------------------------------------------------------------------------------------------
def post_facts(site, meta: dict) -> dict:
    """The kind, title and key facts of a post, derived from its hash and metadata."""
    return _facts(site.network.seed, site.host, site.spec["region"], meta["kind"],
                  meta["post_id"], int(meta["published"].timestamp()))


@lru_cache(maxsize=8192)
def _facts(seed, host, region_key, kind, pid, published_ts) -> dict:
    region = REGIONS[region_key]
    rng = stable_rng(seed, host, pid, "facts")
    local = datetime.fromtimestamp(published_ts, SITE_TZ)
    f = {"kind": kind, "month": local.month, "day": local.day, "year": local.year}
    f["town"] = rng.choice(region["towns"])
    f["park"] = rng.choice(region["parks"])
    f["company"], f["domain"] = _company(rng, region)
    f["city_news"] = rng.choice(region["news_cities"])
    variant = rng.random()
    # Post-level variants (the hard cases for an extractor).
    f["one_image"] = variant < 0.03
    f["long"] = 0.03 <= variant < 0.08
    f["traditional"] = rng.random() < 0.07
    short, district = region["short"], region["district"]
    if f["one_image"]:
        f["title"] = rng.choice([f"图说：{f['park']}建设现场", f"{f['park']}全景图", f"航拍{f['town']}产业园区新貌"])
        return f
    if kind == "factory":
        f["area"] = rng.choice([800, 1200, 1800, 2400, 3500, 5000, 6800, 8000, 12000, 16000, 26000])
        f["floors"] = rng.choice(_FLOORS)
        f["deal"] = rng.choice(["出租", "出售", "出租出售"])
        f["title"] = rng.choice([
            f"{region['province'] if region['province'] == '上海' else ''}{short}独门独院{f['area']}平方米厂房{f['deal']} 带行车",
            f"{short}{f['town']}{f['area']}平米{f['floors']}标准厂房{f['deal']}",
            f"{f['park']}{f['area']}平方米{f['floors']}厂房{f['deal']}",
        ])
    elif kind == "land_result":
        f["price"] = rng.randrange(1500, 26000)
        f["area2"] = f"{rng.uniform(12000, 99000):.2f}"
        f["mu"] = f"{float(f['area2']) / 666.67:.1f}"
        f["parcel"] = rng.choice(region["parcel"]) + f"{rng.randrange(1, 60):02d}-{rng.randrange(1, 9):02d}"
        f["title"] = rng.choice([
            f"{f['company']}以{f['price']}万元底价竞得{region['city']}{district}1宗工业用地",
            f"{f['area2']}平方米！{f['town']}又一宗工业用地花落{f['company']}",
            f"{f['town']}{f['parcel']}地块成功出让 成交价{f['price']}万元",
            f"{f['company']}{f['price']}万元竞得{district}{f['mu']}亩工业用地",
        ])
    elif kind == "land_notice":
        f["n"] = rng.randrange(2, 6)
        f["title"] = rng.choice([
            f"{f['town']}{f['n']}宗产业用地集中出让公告",
            f"{region['city'][:-1] if region['city'] != '上海市' else district}{local.year}年第{rng.randrange(1, 9)}期国有建设用地使用权挂牌出让公告",
        ])
    elif kind == "planning":
        f["title"] = f"{district}{f['town']}{rng.choice(region['parcel'])}控制性详细规划局部调整公示"
    elif kind == "project":
        f["inv"] = rng.randrange(3, 60)
        f["n"] = rng.randrange(3, 10)
        f["q"] = rng.randrange(10, 60)
        f["title"] = rng.choice([
            f"{f['park']}：{f['company']}项目开工建设",
            f"{f['park']}{f['n']}个重点项目集中签约 总投资超{f['inv']}亿元",
            f"{f['company']}年产{f['q']}万件{f['domain'][2]}项目开工",
            f"招商引资“加速跑” {f['park']}跑出发展新速度",
        ])
    elif kind == "policy":
        c = f["city_news"]
        f["g"] = f"{rng.uniform(3, 18):.1f}"
        f["title"] = rng.choice([
            f"{c}出台培育发展新质生产力实施意见 加速布局新领域新赛道",
            f"{c}前{rng.randrange(3, 11)}个月规上工业增加值增长{f['g']}% 新兴产业成重要引擎",
            f"{c}召开高质量发展推进会 部署重点产业链招商工作",
            f"{c}深化工业用地“标准地+承诺制”改革",
            # ASCII quotes in a title (laian-post-1414.html sidebar: 推行&quot;标准地+承诺制&quot;)
            f"{c}推行\"标准地+承诺制\" 企业拿地即开工",
            f"{c}：向“新”而行 以“质”取胜",
        ])
    else:  # stats
        c = f["city_news"]
        f["g"] = f"{rng.uniform(3, 18):.1f}"
        f["title"] = rng.choice([
            f"{c}规上工业增加值增长{f['g']}% 新能源产业成主引擎",
            f"{f['park']}今年新投产项目{rng.randrange(2, 9)}个",
            f"{f['company']}满负荷生产 订单排至明年",
            f"{c}：光伏产业链加速集聚 打造千亿级产业集群",
        ])
    if kind in _MISLEADING and stable_rng(seed, host, pid, "misleading").random() < 0.08:
        # a title that does not say what the body is: the body decides the doc_type
        f["title"] = stable_rng(seed, host, pid, "mtitle").choice(_MISLEADING[kind]).format(**f)
    return f


# --------------------------------------------------------------------------------------------
# Body generation
# --------------------------------------------------------------------------------------------
def _p(text, indent="full"):
    return ("p", text, indent)


def _planning_body(rng, f, region, host, published):
    town = f["town"]
    d0 = datetime(f["year"], f["month"], f["day"])
    d1 = d0 + timedelta(days=30)
    blocks = [
        _p(f"{region['city']}{region['district']}{town}{rng.choice(region['parcel'])}{rng.randrange(1, 40):02d}街坊", f["indent"]),
        _p(f"《{region['city']}{region['district']}{town}控制性详细规划局部调整》初步方案已形成，现根据有关法律法规要求"
           f"对该规划进行公示，征求广大公众意见。", f["indent"]),
        _p(f"本次规划范围东至{rng.choice(_ROADS)}，南至{rng.choice(_ROADS)}，西至{rng.choice(_ROADS)}，北至{rng.choice(_ROADS)}，"
           f"规划面积约{rng.randrange(10, 90)}公顷。", f["indent"]),
        _p("规划调整的主要内容为：将部分工业用地调整为研发用地，并相应优化道路网络和绿地布局，增加公共服务设施配套。", f["indent"]),
        _p(f"公示时间为{d0.year}年{d0.month}月{d0.day}日至{d1.year}年{d1.month}月{d1.day}日，共30日。", f["indent"]),
        _p(f"如对该规划方案有意见和建议，请于公示结束前反馈至{region['authority']}，"
           f"联系电话：{_landline(rng, region)}。", f["indent"]),
        ("img", _upload(host, published, 2), "", 600, "规划范围示意图", "span"),
    ]
    return blocks


_PROJECT_PARAS = [
    "为保障项目顺利推进，{town}成立了专项服务小组，实行“一个项目、一名领导、一套班子、一抓到底”的工作机制。",
    "今年前{k}个月，{park}完成规上工业总产值{q}亿元，同比增长{g1}%；固定资产投资同比增长{g2}%，增速位居全区前列。",
    "据悉，{park}目前仍有{sq}平方米标准厂房可供出租，单层、多层均有，层高8米以上，可满足不同企业的需求。",
    "该项目采用“带方案出让”模式，企业在拿地前即完成设计方案审查，大大缩短了前期手续办理时间。",
    "此外，{town}还将加快配套设施建设，推进人才公寓、邻里中心等项目，提升园区综合承载能力。",
    "近期，{park}还将举办系列招商推介活动，赴长三角重点城市开展专题招商，进一步扩大园区影响力。",
    "据介绍，{co}主要从事{biz}，拥有发明专利{q}项，是国家高新技术企业和专精特新企业。",
    "{co}于{y}年在{short}设立，经过多年发展，已成为细分领域的龙头企业，产品远销欧美、东南亚等{q}多个国家和地区。",
    "在最新公布的专精特新企业名单中，{park}共有{q}家企业入选。",
    "{park}相关负责人{p1}表示，下一步将继续坚持“项目为王”，加大招商引资力度，全力以赴推动一批产业链上下游项目集聚发展。",
    "活动现场，{n}个重点项目集中签约，涵盖新能源、新材料、高端装备等领域，总投资超过{inv}亿元。",
    "项目建成后，将进一步完善{park}的产业链条，带动上下游配套企业集聚，形成规模效应。",
    "近年来，{park}聚焦{ind}等重点产业，主动调整产业结构、优化产业布局、提升产业能级，积极盘活存量厂房和低效用地。",
    "“从接洽到落地，只用了不到{k}个月时间。”{co}总经理{p2}说，“{park}的营商环境和服务效率让我们坚定了在这里投资的信心。”",
    "{town}党委书记{p3}表示，将以更优的服务、更实的举措，为企业发展营造良好环境。",
    "记者在项目现场看到，塔吊林立、机器轰鸣，工人们正抢抓工期加紧施工……",
]
_SUBHEADS = ["优化营商环境 提升服务效能", "强化要素保障 推动项目落地", "聚焦主导产业 精准招商引资",
             "盘活存量资源 拓展发展空间", "坚持项目为王 跑出发展加速度"]

_POLICY_PARAS = [
    "绿色发展是高质量发展的底色。{c}提出，到{y2}年末，单位地区生产总值能耗比2020年下降{g}%。",
    "在优化土地要素配置方面，{c}将深化工业用地弹性供给，鼓励工业用地多元混合利用，持续推进工业用地“标准地+承诺制”出让模式。",
    "会议强调，要坚持把发展经济的着力点放在实体经济上，坚定不移推进新型工业化，加快建设现代化产业体系。",
    "《实施意见》提出，到{y2}年，全市力争形成{k}个千亿级产业集群，战略性新兴产业产值占规上工业产值比重达到{g2}%。",
    "据了解，{c}今年计划实施亿元以上产业项目{q}个，其中十亿元以上项目{k}个，总投资超过{inv2}亿元。",
    "下一步，{c}将围绕“链长制”工作要求，梳理产业链图谱，开展精准招商、以商引商，推动龙头企业带动上下游配套企业集聚发展。",
    "同时，{c}将聚焦提高土地利用效率、夯实产业人才支撑、深化金融赋能等重点，推动各类优质生产要素向新质生产力高效集聚。",
    "{c}还将积极对接上海、苏州等地的科研院所，建设一批新型研发机构和概念验证中心，推动科技成果就地转化。",
    "业内人士认为，随着长三角一体化发展不断深入，{c}与上海在产业链、创新链上的协同将更加紧密。",
    "数据显示，1至{k2}月，全市规上工业增加值同比增长{g}%，高新技术产业产值占规上工业比重达{g2}%。",
    "{c}市发改委主任{p1}分析，当前全市制造业基础良好，门类较为齐全，但整体偏重，新兴产业占比相对较小。",
    "{m}月{d}日，{c}市召开全市高质量发展推进会，部署加快培育发展新质生产力相关工作。",
    "全国先进制造业百强市最新排名中，{c}位于第{q}位，较上年提升{k}个位次。",
    "企业负责人给记者算了一笔账：订单增长三成、产能利用率超过九成、新增就业岗位{q}0余个...",
]
_POLICY_LIST = ["优化生产力布局，推进科技成果转化", "实施传统产业焕新工程，培育壮大战略性新兴产业",
                "加速开辟未来产业新赛道，深入推进“智改数转网联”", "推动生产性服务业提质赋能",
                "持续加大创新主体培育力度，打造一流营商环境"]

_STATS_PARAS = [
    "{m}月{d}日，记者从{c}市统计局获悉，今年以来全市规上工业增加值同比增长{g}%，增速居全省前列。",
    "下一步，{c}将持续强化要素保障，优化营商环境，推动重点产业链“强链补链延链”。",
    "{park}相关负责人{p1}介绍，园区今年新投产项目{k}个，新增规上工业企业{q}家。",
    "业内人士认为，同城化加快推进，为{c}承接产业外溢、吸引长三角优质资源提供了有利条件。",
    "与此同时，智能家电产业加快转型升级，{co}等龙头企业加大研发投入，推出一批高端产品。",
    "{co}总经理{p2}表示，企业今年订单饱满，生产线满负荷运转，预计全年产值同比增长{g2}%以上。",
    "在全省最新公布的开发区综合考核中，{park}位列第{k}名，较上年提升{k2}个位次。",
    "{c}深入推进“双招双引”，聚焦“5+5+N”产业集群，全力打造长三角中心区先进制造业承接地。",
    "作为全国重要的光伏制造基地之一，{c}已集聚光伏产业链企业{q}余家，形成了从硅料、电池片到组件、逆变器的完整产业链。",
    "其中，新能源产业表现亮眼，光伏、储能等领域产值同比增长{g2}%，成为拉动工业增长的主引擎。",
    "据{co}负责人介绍，新生产线投产后，企业产能将提升{k}0%，年新增产值{inv}亿元。",
]

# Lines that make a post "long": extra report paragraphs with varied numbers.
_LONG_PARAS = [
    "{park}第{i}个重点项目为{co}{prod}项目，计划总投资{inv}亿元，目前已完成投资{g}%，主体结构施工进度过半。",
    "在第{i}轮“千企万户大走访”中，服务专员共走访企业{q}家，收集问题诉求{k}条，已协调解决{k2}条。",
    "截至{m}月底，{park}第{i}批次“标准地”出让项目已有{k}个开工建设，平均拿地到开工用时{q}天。",
    "{town}围绕{ind}等方向，梳理形成第{i}批招商线索{q}条，其中亿元以上项目{k}个。",
    "第{i}季度，{park}新增注册企业{q}家，其中科技型企业{k}家，新增规上工业企业{k2}家。",
    "{co}第{i}期扩建工程已完成桩基施工，预计明年{k}月实现设备进场，新增{prod}产能{q}万件。",
    "在第{i}场专题推介会上，{park}共发布厂房载体{q}万平方米、产业用地{k}百亩，现场达成合作意向{k2}个。",
    "园区企业服务中心第{i}次开展“政策直通车”活动，为{q}家企业兑现扶持资金{g}百万元。",
]
# Numbered section heads of long reports.
_LONG_HEADS = ["一、", "二、", "三、", "四、", "五、", "六、", "七、", "八、"]


def _fill(tpl: str, rng, f, region, extra: dict) -> str:
    vals = {
        "town": f["town"], "park": f["park"], "co": f["company"], "biz": f["domain"][1], "prod": f["domain"][2],
        "short": region["short"], "c": f["city_news"], "m": f["month"], "d": f["day"],
        "y": rng.randrange(2003, 2020), "y2": f["year"] + rng.randrange(1, 4),
        "k": rng.randrange(2, 10), "k2": rng.randrange(2, 12), "q": rng.randrange(12, 90),
        "g": f"{rng.uniform(3, 18):.1f}", "g1": f"{rng.uniform(5, 20):.1f}", "g2": f"{rng.uniform(15, 45):.1f}",
        "sq": rng.choice([1800, 3500, 6800, 12000]), "inv": rng.randrange(5, 60), "inv2": rng.randrange(300, 1500),
        "n": f.get("n", rng.randrange(3, 9)), "p1": _person(rng), "p2": _person(rng), "p3": _person(rng),
        "ind": "、".join(rng.sample(_INDUSTRIES, 3)),
    }
    vals.update(extra)
    return tpl.format(**vals)


def _news_body(rng, f, region, host, published, pool, subheads: bool):
    k = rng.randrange(4, min(len(pool), 11) + 1)
    chosen = rng.sample(pool, k)
    blocks = [_p(_fill(t, rng, f, region, {}), f["indent"]) for t in chosen]
    if subheads and len(blocks) >= 6:
        style = rng.choice(["strong", "strong_indent", "h3", "h2"])
        heads = rng.sample(_SUBHEADS, 3)
        for j, pos in enumerate(sorted(rng.sample(range(1, len(blocks)), 2), reverse=True)):
            blocks.insert(pos, (style, heads[j]))
    return blocks


def _project_body(rng, f, region, host, published):
    m, d = f["month"], f["day"]
    lead = (f"{m}月{d}日，{f['company']}年产{f.get('q', 30)}万件{f['domain'][2]}项目在{f['park']}正式开工。该项目总投资"
            f"{rng.uniform(3, 30):.1f}亿元，规划建设现代化生产厂房及配套设施，达产后预计年产值{rng.uniform(5, 26):.1f}亿元。")
    blocks = [_p(lead, f["indent"])] + _news_body(rng, f, region, host, published, _PROJECT_PARAS, rng.random() < 0.6)
    if rng.random() < 0.45:
        cap = rng.choice(["图为签约仪式现场", f"图为{f['park']}一角", "图为项目效果图", "图为开工仪式现场"])
        pos = rng.randrange(1, len(blocks))
        blocks.insert(pos, ("img", _upload(host, published, 3), "", 600, cap, rng.choice(["span", "br", "plain"])))
    return blocks


def _policy_body(rng, f, region, host, published):
    blocks = _news_body(rng, f, region, host, published, _POLICY_PARAS, rng.random() < 0.3)
    if rng.random() < 0.3:
        pos = rng.randrange(1, len(blocks))
        blocks[pos:pos] = [_p("《实施意见》明确了以下重点任务：", f["indent"]), ("ul", rng.sample(_POLICY_LIST, 4))]
    return blocks


def _stats_body(rng, f, region, host, published):
    return _news_body(rng, f, region, host, published, _STATS_PARAS, rng.random() < 0.2)


_BODIES = {
    "planning": _planning_body, "project": _project_body, "policy": _policy_body, "stats": _stats_body,
}


def build_post(site, meta: dict) -> dict:
    """The full post: gold record plus private render fields (keys starting with '_')."""
    return dict(_build(site.network.seed, site.host, site.spec["region"], meta["kind"], site.style,
                       tuple(site.spec.get("teaser_widths", (34,))), meta["post_id"], int(meta["published"].timestamp())))


@lru_cache(maxsize=2048)
def _build(seed, host, region_key, kind, style, widths, pid, published_ts) -> dict:
    region = REGIONS[region_key]
    f = dict(_facts(seed, host, region_key, kind, pid, published_ts))
    rng = stable_rng(seed, host, pid, "body")
    published = datetime.fromtimestamp(published_ts, SITE_TZ)
    f["indent"] = rng.choice(INDENTS)
    source = reporter = editor = original_title = None
    opener = None
    # gold facts: the doc_type the body shows, and its parcels and listings (factposts)
    facts = {"doc_type": "other" if f["one_image"] else DOC_TYPE_OF_KIND[f["kind"]], "parcels": [], "listings": []}
    masks = 0
    if f["one_image"]:
        # the caption names what the title names (title: 图说：PARK建设现场 / PARK全景图 / 航拍TOWN…)
        cap = rng.choice([f"图为{f['park']}建设现场", f"图为{f['park']}全景", f"图为{f['town']}产业园区新貌"])
        blocks = [("img", _upload(host, published, 4), "", 600, cap, "plain")]
    else:
        blocks = _BODIES[f["kind"]](rng, f, region, host, published)
        if isinstance(blocks, tuple):  # factposts bodies: (blocks, gold facts)
            blocks, facts = blocks
        if f["long"]:
            # a long report: numbered sections of varied paragraphs, before any signature lines
            extra, seen, i = [], set(), 0
            style = rng.choice(["h3", "strong", "strong_indent"])
            for n, head in enumerate(_LONG_HEADS[:rng.randrange(4, 9)]):
                extra.append((style, head + _SUBHEADS[n % len(_SUBHEADS)]))
                for _ in range(rng.randrange(5, 10)):
                    i += 1
                    para = _fill(rng.choice(_LONG_PARAS), rng, f, region, {"i": i})
                    if para not in seen:
                        seen.add(para)
                        extra.append(_p(para, f["indent"]))
            tail = len(blocks)
            while tail and blocks[tail - 1][0] == "right":
                tail -= 1
            blocks = blocks[:tail] + extra + blocks[tail:]
        news = f["kind"] in ("project", "policy", "stats")
        r = rng.random()
        if news and f["kind"] == "policy" and r < 0.6 and blocks[0][0] == "p":
            # "XX网讯 " opener in the first paragraph, the reporting outlet's name: the city
            # reported on or the subsite's own (post-3756.html: a 镇江 report opening "金山网讯 ")
            outlet = rng.choice([f["city_news"], f["city_news"], region["short"]])
            opener = f"{outlet}网讯"
            blocks[0] = ("p", f"{opener} {blocks[0][1]}", blocks[0][2])
            source = f"{outlet}网"
        if news and rng.random() < 0.45:
            # reporter byline appended to the last paragraph, full- or half-width brackets
            reporter = f"记者{_person(rng)}通讯员{_person(rng)}"
            last = max(i for i, b in enumerate(blocks) if b[0] == "p")
            lb, rb = rng.choice([("（", "）"), ("(", ")")])
            blocks[last] = ("p", blocks[last][1] + f"{lb}{reporter}{rb}", blocks[last][2])
        elif rng.random() < 0.7 and f["kind"] != "land_notice":
            source = rng.choice(region["sources"])
            blocks.append(_p(f"来源：{source}", "none"))
            if rng.random() < 0.4:
                editor = _person(rng)
                blocks.append(_p(f"责任编辑：{editor}", "none"))
        if news and rng.random() < 0.08:
            original_title = f"{f['park']}跑出高质量发展“加速度”"
            blocks.insert(0, _p(f"原标题：{original_title}", "none"))
        if rng.random() < 0.08:
            # ad-law mask: "安徽*大" stays as it is on the page and in the gold
            masks = 1
            pos = rng.randrange(1, len(blocks) + 1)
            blocks.insert(pos, _p(f"项目全部建成后，将成为{region['province']}*大的{f['domain'][2]}生产基地之一。", f["indent"]))
        if rng.random() < 0.1:
            # an article paragraph with a link inside (an off-site government page): the anchor
            # text is part of the article, the link is an "inline" link for the links dataset
            url = f"{region['gov_site']}col/{stable_int(host, pid, 'link') % 90000 + 10000}.html"
            anchor = rng.choice([f"{region['authority']}官网", "相关政策原文", "挂牌出让文件"])
            pos = rng.randrange(1, len(blocks) + 1)
            blocks.insert(pos, ("plink", "详情请登录", anchor, url, "查询。", f["indent"]))
        if rng.random() < 0.1:
            # some editors paste text with half-width punctuation (post-3756.html "踏上新征程,新质");
            # it is the article's own text, so the gold keeps it
            blocks = [("p", b[1].translate(_HALFWIDTH), b[2]) if b[0] == "p" else b for b in blocks]
    # ad-law swap: the page shows 蕞 where the gold has 最
    swap = rng.random() < 0.5
    paragraphs = blocks_paragraphs(blocks)
    has_zui = any("最" in p for p in paragraphs)
    swaps = ["蕞→最"] if swap and has_zui else []
    traditional = bool(f["traditional"])
    title = f["title"]
    if traditional:
        s2t, t2s = opencc("s2t"), opencc("t2s")
        texts = paragraphs + [title]
        if any(t2s.convert(s2t.convert(t)) != t for t in texts):
            traditional = False  # vocabulary that does not round-trip: keep this post Simplified
    # boilerplate: teaser lines and the contact block (site style decides where they sit)
    has_teasers = rng.random() < (0.75 if style == "inline" else 0.85)
    teasers = []
    if has_teasers:
        n = rng.randrange(6, 9)
        cut = rng.choice(widths)
        # the network's pages swap 最 in teasers too (post-3756.html "明晨蕞低气温跌...")
        teasers = [truncate_teaser(t.replace("最", "蕞"), cut) for t in rng.sample(region["teasers"], n)]
    teaser_links = style == "inline" and rng.random() < 0.3
    if style == "inline":
        contact = "inline" if rng.random() < 0.8 else None
    else:
        contact = "copynotice"
    broker = site_broker(seed, host, pid)
    return {
        "url": f"http://{host}/index.php/post/{pid}.html",
        "site": host,
        "post_id": pid,
        "title": title,
        "paragraphs": paragraphs,
        "text": "\n".join(paragraphs),
        "kind": f["kind"],
        "doc_type": facts["doc_type"],
        "parcels": facts["parcels"],
        "listings": facts["listings"],
        "source": source,
        "reporter": reporter,
        "editor": editor,
        "original_title": original_title,
        "opener": opener,
        "traditional": traditional,
        "swaps": swaps,
        "masks": masks,
        "inline_links": [{"url": b[3], "anchor": b[2]} for b in blocks if b[0] == "plink"],
        "has_teasers": bool(teasers),
        "contact_block": contact,
        "one_image": bool(f["one_image"]),
        "long": bool(f["long"]),
        "_blocks": tuple(blocks),
        "_teasers": tuple(teasers),
        "_teaser_links": tuple(f"{REGIONS[region_key]['teaser_site']}{stable_int(host, pid, i) % 500000 + 500000}.html"
                               for i in range(len(teasers))) if teaser_links else (),
        "_broker": broker,
    }


def site_broker(seed, host, pid) -> dict:
    """The broker whose contact block a post carries (2-3 per site; the first one like post-3756)."""
    rng = stable_rng(seed, host, "brokers")
    if host == "jinshan.021cf.cn":
        first = {"name": "葛毅明", "mobiles": ["13524678515", "13564686846", "13391219793"],
                 "qr": "2023/06/202306121530218862.jpg", "qr2": "2023/06/202306121531047735.jpg"}
    elif host == "laian.021cf.cn":
        first = {"name": "招商专员", "label": "来安招商专员", "mobiles": ["13391219793", "13564686846"],
                 "qr": "2022/09/202209081102361154.jpg", "qr2": "2022/09/202209081102369912.jpg"}
    else:
        first = None
    brokers = [first] if first else []
    while len(brokers) < 3:
        y, m = rng.randrange(2020, 2025), rng.randrange(1, 13)
        stamp = f"{y}{m:02d}{rng.randrange(1, 29):02d}{rng.randrange(8, 18):02d}{rng.randrange(60):02d}"
        name = _person(rng)
        brokers.append({"name": name, "mobiles": [_mobile(rng) for _ in range(rng.randrange(2, 4))],
                        "qr": f"{y}/{m:02d}/{stamp}{rng.randrange(10, 60)}{rng.randrange(1000, 9999)}.jpg",
                        "qr2": f"{y}/{m:02d}/{stamp}{rng.randrange(10, 60)}{rng.randrange(1000, 9999)}.jpg"})
    for b in brokers:
        b.setdefault("label", b["name"])
    # most posts carry the site's main broker; the rest rotate
    pick = stable_rng(seed, host, pid, "broker").random()
    return brokers[0] if pick < 0.7 else brokers[1 if pick < 0.85 else 2]


# --------------------------------------------------------------------------------------------
# Blocks -> HTML and gold
# --------------------------------------------------------------------------------------------
def blocks_paragraphs(blocks) -> list[str]:
    """The gold paragraphs of body blocks: tables one row per line (cells joined by one space),
    lists one item per line, images only through their caption."""
    out: list[str] = []
    for b in blocks:
        kind = b[0]
        if kind in ("p", "h2", "h3", "strong", "strong_indent", "right"):
            out.append(b[1])
        elif kind == "plink":
            out.append(b[1] + b[2] + b[4])
        elif kind == "img":
            if b[4]:
                out.append(b[4])
        elif kind == "table":
            out.extend(table_lines(b))
        elif kind in ("ul", "div"):
            out.extend(b[1])
    return out


def _table_spans(b) -> list[list[tuple[str, int]]]:
    """Rows of a table block as (text, rowspan) cells; rowspan 0 marks a cell covered by a merge."""
    rows = b[1]
    spec = b[3] if len(b) > 3 else {}
    out = [[(c, 1) for c in row] for row in rows]
    for col in spec.get("merge", ()):
        i = 1  # the header row is never merged
        while i < len(rows):
            j = i
            while j + 1 < len(rows) and rows[j + 1][col] == rows[i][col]:
                j += 1
            if j > i:
                out[i][col] = (rows[i][col], j - i + 1)
                for k in range(i + 1, j + 1):
                    out[k][col] = (rows[k][col], 0)
            i = j + 1
    return out


def table_lines(b) -> list[str]:
    """The gold lines of a table block: a title row, then each row's shown cells joined by a space."""
    spec = b[3] if len(b) > 3 else {}
    lines = [spec["title"]] if spec.get("title") else []
    for row in _table_spans(b):
        lines.append(" ".join(" ".join(c.split()) for c, n in row if n and c.strip()))
    return lines


_INDENT_PREFIX = {"full": "\u3000\u3000", "nbsp": "&nbsp;&nbsp;&nbsp;&nbsp;", "css": "", "none": ""}


def blocks_html(blocks, *, lazy: bool, host: str, convert=None) -> list[str]:
    """HTML lines of the body blocks as the editor stored them; `lazy` applies tpure's lazyload
    image rewrite (page) or not (feed); `convert` maps text (OpenCC s2t, ad-law swaps)."""
    cv = convert or (lambda s: s)

    def t(s):
        return html.escape(cv(s), quote=False)

    lines = []
    for b in blocks:
        kind = b[0]
        if kind == "p":
            ind = b[2]
            if ind == "css":
                lines.append(f'<p style="text-indent: 2em;">{t(b[1])}</p>')
            else:
                lines.append(f"<p>{_INDENT_PREFIX[ind]}{t(b[1])}</p>")
        elif kind == "plink":
            _, before, anchor, url, after, ind = b
            head = '<p style="text-indent: 2em;">' if ind == "css" else f"<p>{_INDENT_PREFIX[ind]}"
            lines.append(f'{head}{t(before)}<a href="{url}" target="_blank">{t(anchor)}</a>{t(after)}</p>')
        elif kind == "strong":
            lines.append(f"<p><strong>{t(b[1])}</strong></p>")
        elif kind == "strong_indent":
            lines.append(f"<p>\u3000\u3000<strong>{t(b[1])}</strong></p>")
        elif kind in ("h2", "h3"):
            lines.append(f"<{kind}>{t(b[1])}</{kind}>")
        elif kind == "right":
            lines.append(f'<p style="text-align:right">{t(b[1])}</p>')
        elif kind == "img":
            _, url, alt, width, cap, mode = b
            img = img_tag(url, alt, width, lazy=lazy, host=host)
            if cap and mode == "br":
                lines.append(f'<p style="text-align:center">{img}<br/>{t(cap)}</p>')
            else:
                lines.append(f'<p style="text-align:center">{img}</p>')
                if cap and mode == "span":
                    lines.append(f'<p style="text-align:center"><span style="color:#7f7f7f;">{t(cap)}</span></p>')
                elif cap:
                    lines.append(f'<p style="text-align: center;">{t(cap)}</p>')
        elif kind == "table":
            rows, header = b[1], b[2]
            spec = b[3] if len(b) > 3 else {}
            cells = []
            if spec.get("title"):
                cells.append(f'<tr><td colspan="{len(rows[0])}"><strong>{t(spec["title"])}</strong></td></tr>')
            for i, row in enumerate(_table_spans(b)):
                tag = "th" if header and i == 0 else "td"
                cells.append("<tr>" + "".join(
                    f"<{tag}{f' rowspan={chr(34)}{n}{chr(34)}' if n > 1 else ''}>{t(c)}</{tag}>"
                    for c, n in row if n) + "</tr>")
            lines.append('<table border="1" cellspacing="0" cellpadding="4" width="100%"><tbody>'
                         + "".join(cells) + "</tbody></table>")
        elif kind == "ul":
            lines.append("<ul>" + "".join(f"<li>{t(x)}</li>" for x in b[1]) + "</ul>")
        elif kind == "div":
            inner = "\n".join(f"\u3000\u3000{t(x)}<br />" for x in b[1])
            lines.append(f"<div>{inner}</div>")
    return lines


def img_tag(url: str, alt: str, width, *, lazy: bool, host: str) -> str:
    """An editor image; on pages tpure's lazyload moves src to data-original (post-3756.html)."""
    alt = html.escape(alt)
    w = f' width="{width}"' if width else ""
    if lazy:
        return (f'<img src="http://{host}/zb_users/theme/tpure/style/images/lazyload.png" data-original="{url}"'
                f' class="lazyload" alt="{alt}"{w} />')
    return f'<img src="{url}" alt="{alt}"{w} />'


def contact_html(broker: dict, host: str, *, lazy: bool) -> list[str]:
    """The broker contact block inside .single (post-3756.html, style "inline")."""
    up = f"http://{host}/zb_users/upload/"
    spans = "".join(f'<span style="color: #ff0000;">{m}</span>' for m in broker["mobiles"])
    name = broker["name"]
    return [
        f'<p style="text-align: center;">{img_tag(up + broker["qr"], name + "微信", 180, lazy=lazy, host=host)}</p>',
        f'<p style="text-align: center;"><strong>{name}微信号</strong></p>',
        f"<p>产业招商/厂房土地租售：<strong>{HOTLINE}</strong></p>",
        f"<p>或微信/手机：{spans}&nbsp;</p>",
        "<p>请说明您的需求、用途、税收、公司、联系人、手机号，以便快速帮您对接资源。&nbsp;</p>",
        f"<p>长按/扫一扫加{name}的微信号</p>",
        "<p><br/></p>",
        f'<p style="text-align: center;">{img_tag(up + broker["qr2"], "", 180, lazy=lazy, host=host)}</p>',
        '<p style="text-align: center;">扫一扫关注公众号</p>',
    ]


def zsbox_html(broker: dict, host: str) -> str:
    """The contact block in .copynotice .zsbox (laian-post-1414.html, style "copynotice")."""
    up = f"http://{host}/zb_users/upload/"
    spans = "".join(f"<span>{m}</span>" for m in broker["mobiles"])
    return (f'<div class="zsbox"><p><img src="{up}{broker["qr"]}" alt="" width="120" /></p>'
            f'<p><strong>{broker["label"]}微信号</strong></p><p>产业招商/厂房土地租售：{HOTLINE}</p>'
            f"<p>或微信/手机：{spans}&nbsp;</p>"
            "<p>请说明您的需求、用途、税收、公司、联系人、手机号，以便快速帮您对接资源。</p>"
            f'<p>长按/扫一扫加{broker["name"]}微信号</p></div>')


def page_converter(post: dict):
    """The text mapping the page applies to the gold: OpenCC s2t and/or ad-law swaps."""
    fns = []
    if post["swaps"]:
        fns.append(lambda s: s.translate(str.maketrans(AD_SWAPS)))
    if post["traditional"]:
        s2t = opencc("s2t")
        fns.append(s2t.convert)
    if not fns:
        return None

    def cv(s):
        for fn in fns:
            s = fn(s)
        return s

    return cv


def body_lines(post: dict, host: str, style: str, *, lazy: bool) -> list[str]:
    """All HTML lines inside .single: article, teasers, and the inline contact block."""
    lines = blocks_html(post["_blocks"], lazy=lazy, host=host, convert=page_converter(post))
    links = post["_teaser_links"]
    for i, t in enumerate(post["_teasers"]):
        t = html.escape(t, quote=False)
        if links:
            lines.append(f'<p>\u3000\u3000<a href="{links[i]}" target="_blank">{t}</a></p>')
        else:
            lines.append(f"<p>\u3000\u3000{t}</p>")
    if post["contact_block"] == "inline":
        lines.extend(contact_html(post["_broker"], host, lazy=lazy))
    return lines


_TAG_RE = re.compile(r"<[^>]+>")


def intro_text(lines: list[str], n: int = 150) -> str:
    """Z-BlogPHP's auto intro: the body without tags, lines joined by spaces, cut at n chars + '...'."""
    text = html.unescape(_TAG_RE.sub("", "\n".join(lines))).replace("\n", " ")
    return text[:n] + "..."


def first_image(lines: list[str]) -> str | None:
    """The first image URL of a body (tpure uses it as the list and related thumbnail)."""
    for line in lines:
        m = re.search(r'data-original="([^"]+)"', line) or re.search(r'<img[^>]* src="([^"]+)"', line)
        if m:
            return m.group(1)
    return None


# --------------------------------------------------------------------------------------------
# Land and listing posts with gold facts (crawler/replica/factposts.py)
# --------------------------------------------------------------------------------------------
from crawler.replica import factposts  # noqa: E402 - factposts reads this module's vocabulary

#: The doc_type (crawler.fact_rules.DOC_TYPES) a post of each generator kind shows in its body.
DOC_TYPE_OF_KIND = {"factory": "listing", "land_result": "land_result", "land_notice": "land_notice",
                    "planning": "planning", "project": "project", "policy": "policy", "stats": "statistics"}
_MISLEADING = factposts.MISLEADING_TITLES
_BODIES.update({"factory": factposts.factory_body, "land_result": factposts.land_result_body,
                "land_notice": factposts.land_notice_body})
