"""The demo's facts: two merchants in Wuhan, their stores, category trees, products and staff.

Everything is keyed by a stable code (merchant code, store code, sku code, username) so that the
seed can find what an earlier run created. Coordinates are GCJ-02 (what WeChat and AMap show),
taken near the landmark or street named in each address. Prices are fen.
"""

from dataclasses import dataclass, field

from mendian.core.scope import Role

DEMO_PASSWORD = "mendian-demo-2026"  # noqa: S105 - the published password of the demo accounts
DEMO_CUSTOMER_PHONES = ("13800000001", "13800000002")
DEMO_CUSTOMER_NICKNAMES = {"13800000001": "汉口小王", "13800000002": "武昌李姐"}

# Wuhan's municipal area, generously: every demo store must lie inside it.
WUHAN_BOUNDS = {"min_lat": 29.9, "max_lat": 31.4, "min_lng": 113.7, "max_lng": 115.1}


# --- stores ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    radius_m: int
    fee: int
    free_over: int
    min_order: int


@dataclass(frozen=True)
class StoreSeed:
    code: str
    name: str
    district: str
    address: str
    lat: float
    lng: float
    phone: str
    intro: str
    hours: str  # a key of WEEKLY_HOURS
    delivery: Delivery | None
    prep_minutes: int
    paused: bool = False


@dataclass(frozen=True)
class ExtendedHours:
    """A yearly date on which a store keeps other hours (a holiday eve, the National Day week)."""

    store_code: str
    month: int
    day: int
    opens: str
    closes: str
    note: str


def _every_day(opens: str, closes: str) -> tuple[tuple[int, str, str], ...]:
    return tuple((weekday, opens, closes) for weekday in range(7))


# Weekly plans: (weekday with Monday 0, opens, closes). A close before the open runs past
# midnight; "00:00"-"00:00" is open around the clock.
WEEKLY_HOURS: dict[str, tuple[tuple[int, str, str], ...]] = {
    "around_the_clock": _every_day("00:00", "00:00"),
    "standard": _every_day("07:00", "23:00"),
    "early_market": _every_day("06:00", "22:00"),
    "community": _every_day("06:30", "22:30"),
    "suburb": _every_day("07:30", "22:00"),
    # Friday and Saturday nights run to 02:00 the next morning.
    "late_weekend": tuple(
        (weekday, "08:00", "02:00" if weekday in (4, 5) else "23:00") for weekday in range(7)
    ),
    # Office towers: early on weekdays, shorter at weekends.
    "office": tuple(
        (weekday, "07:00", "22:00") if weekday < 5 else (weekday, "09:00", "21:00") for weekday in range(7)
    ),
    "bakery": tuple(
        (weekday, "08:00", "22:00") if weekday < 5 else (weekday, "08:00", "22:30") for weekday in range(7)
    ),
}

CITY = "武汉市"
NEAR_DELIVERY = Delivery(radius_m=3000, fee=400, free_over=4900, min_order=1500)
CAMPUS_DELIVERY = Delivery(radius_m=2000, fee=300, free_over=3900, min_order=1500)
CBD_DELIVERY = Delivery(radius_m=3000, fee=500, free_over=5900, min_order=2000)
COMMUNITY_DELIVERY = Delivery(radius_m=4000, fee=300, free_over=3900, min_order=1500)
SUBURB_DELIVERY = Delivery(radius_m=5000, fee=600, free_over=5900, min_order=2000)

FRESH_STORES: tuple[StoreSeed, ...] = (
    # 江汉区
    StoreSeed(
        "jianghan-lu", "鲜邻便利·江汉路店", "江汉区", "江汉路步行街118号（地铁江汉路站C出口）",
        30.5806, 114.2863, "027-82791180",
        "江汉路步行街中段，地铁2号线、6号线江汉路站C出口步行2分钟。24小时营业，早餐热干面、关东煮常备。",
        "around_the_clock", NEAR_DELIVERY, 10,
    ),
    StoreSeed(
        "wuhan-cbd", "鲜邻便利·武汉CBD店", "江汉区", "淮海路泛海国际SOHO城1层（王家墩）",
        30.6090, 114.2600, "027-85368826",
        "王家墩武汉CBD写字楼群中心，工作日早7点开门，午间便当、现磨咖啡和办公零食齐全。",
        "office", CBD_DELIVERY, 15,
    ),
    StoreSeed(
        "hankou-station", "鲜邻便利·汉口火车站店", "江汉区", "发展大道汉口火车站东广场出站口旁",
        30.6180, 114.2560, "027-85811902",
        "汉口站东广场出站口旁，24小时营业，旅途用水、泡面、充电线、雨具一站买齐。",
        "around_the_clock", None, 10,
    ),
    StoreSeed(
        "xinhua-lu", "鲜邻便利·新华路店", "江汉区", "新华路218号（新华路体育场对面）",
        30.5925, 114.2745, "027-85772310",
        "新华路体育场对面，晨练的街坊早7点就能买到热豆浆和鲜牛奶。",
        "standard", NEAR_DELIVERY, 15,
    ),
    StoreSeed(
        "tangjiadun", "鲜邻便利·唐家墩店", "江汉区", "建设大道与唐家墩路交汇处东北角",
        30.6115, 114.2720, "027-85603317",
        "唐家墩社区门口，果蔬、粮油、日用品一应俱全，3公里内下单送到家。",
        "standard", NEAR_DELIVERY, 15,
    ),
    # 江岸区
    StoreSeed(
        "wuhan-tiandi", "鲜邻便利·武汉天地店", "江岸区", "中山大道1627号武汉天地壹方南馆1层",
        30.6075, 114.3062, "027-82616075",
        "卢沟桥路步行街对面，周五周六营业至凌晨2点，夜宵、精酿啤酒、冰品不打烊。",
        "late_weekend", CBD_DELIVERY, 15,
    ),
    StoreSeed(
        "lihuangpi-lu", "鲜邻便利·黎黄陂路店", "江岸区", "黎黄陂路38号（近沿江大道）",
        30.5872, 114.2986, "027-82838038",
        "汉口历史风貌区里的小店，逛完江滩和黎黄陂路街头博物馆，来一瓶冰镇汉口二厂。",
        "standard", None, 10,
    ),
    StoreSeed(
        "dazhi-lu", "鲜邻便利·大智路店", "江岸区", "京汉大道大智路地铁站B出口",
        30.5893, 114.2902, "027-82771566",
        "大智路地铁站B出口，上班路上的早餐站：热干面、蛋酒、包子和现煮玉米。",
        "standard", None, 10,
    ),
    StoreSeed(
        "baibuting", "鲜邻便利·百步亭店", "江岸区", "百步亭花园路88号百步亭社区中心",
        30.6470, 114.2960, "027-85930588",
        "百步亭社区中心门口，生鲜果蔬每天早上6点半到店，社区4公里内配送到家。",
        "community", COMMUNITY_DELIVERY, 20,
    ),
    StoreSeed(
        "erqi-lu", "鲜邻便利·二七路店", "江岸区", "解放大道二七路口（地铁二七路站A出口）",
        30.6236, 114.3183, "027-82427727",
        "二七路地铁站A出口，离二七长江大桥汉口桥头步行十分钟。",
        "standard", None, 15,
    ),
    # 硚口区
    StoreSeed(
        "zongguan", "鲜邻便利·宗关店", "硚口区", "解放大道35号（地铁宗关站D出口）",
        30.5790, 114.2240, "027-83856135",
        "宗关地铁站D出口，1号线、3号线换乘客流大，冷饮和速食补货勤。",
        "standard", None, 15,
    ),
    StoreSeed(
        "hanzheng-jie", "鲜邻便利·汉正街店", "硚口区", "汉正街156号（近汉正街都市工业区）",
        30.5700, 114.2720, "027-85856156",
        "汉正街批发市场里的早市店，清晨6点开门，进货的老板们先来一碗热干面。",
        "early_market", NEAR_DELIVERY, 15,
    ),
    StoreSeed(
        "gutian", "鲜邻便利·古田二路店", "硚口区", "解放大道古田二路口南侧",
        30.5910, 114.2020, "027-83239902",
        "古田社区老街坊的菜篮子，蔬菜鸡蛋当天到店，4公里内配送。",
        "community", COMMUNITY_DELIVERY, 20,
    ),
    # 汉阳区
    StoreSeed(
        "zhongjiacun", "鲜邻便利·钟家村店", "汉阳区", "汉阳大道139号（地铁钟家村站B出口）",
        30.5511, 114.2680, "027-84845139",
        "钟家村商圈24小时店，离归元寺、晴川阁都不远，深夜也能买到热乎的关东煮。",
        "around_the_clock", NEAR_DELIVERY, 10,
    ),
    StoreSeed(
        "wangjiawan", "鲜邻便利·王家湾店", "汉阳区", "龙阳大道特8号王家湾摩尔城1层",
        30.5580, 114.2190, "027-84469808",
        "王家湾摩尔城1层，看完电影带一份周黑鸭回家。",
        "standard", CBD_DELIVERY, 15,
    ),
    StoreSeed(
        "sixin", "鲜邻便利·四新店", "汉阳区", "四新大道26号（近武汉国际博览中心）",
        30.5320, 114.2350, "027-84619626",
        "国博中心旁，展会期间早7点开门，参展商的矿泉水、充电宝可以整箱订。",
        "standard", SUBURB_DELIVERY, 15,
    ),
    # 武昌区
    StoreSeed(
        "chuhe-hanjie", "鲜邻便利·楚河汉街店", "武昌区", "中北路汉街总部国际F座1层",
        30.5577, 114.3426, "027-87136677",
        "楚河汉街东头，周五周六营业至凌晨2点，逛完汉街来一支冰淇淋。",
        "late_weekend", CBD_DELIVERY, 15,
    ),
    StoreSeed(
        "wuchang-station", "鲜邻便利·武昌火车站店", "武昌区", "中山路武昌火车站西广场进站口旁",
        30.5290, 114.3170, "027-88068890",
        "武昌站西广场进站口旁，24小时营业，车上吃的喝的一次买齐。",
        "around_the_clock", None, 10,
    ),
    StoreSeed(
        "hubu-xiang", "鲜邻便利·户部巷店", "武昌区", "解放路户部巷口（近司门口）",
        30.5465, 114.3005, "027-88872468",
        "户部巷小吃街口，黄鹤楼步行可达，周末夜里营业到凌晨2点。",
        "late_weekend", None, 10,
    ),
    StoreSeed(
        "jiyuqiao", "鲜邻便利·积玉桥店", "武昌区", "和平大道积玉桥万达广场旁",
        30.5630, 114.3150, "027-88856012",
        "积玉桥江景小区环绕，晚饭前的蔬菜肉蛋30分钟送到。",
        "standard", NEAR_DELIVERY, 15,
    ),
    StoreSeed(
        "zhongnan-lu", "鲜邻便利·中南路店", "武昌区", "中南路7号中商广场东侧",
        30.5420, 114.3340, "027-87327707",
        "中南路商圈写字楼下，午餐便当和咖啡是招牌。",
        "standard", NEAR_DELIVERY, 15,
    ),
    StoreSeed(
        "xudong", "鲜邻便利·徐东店", "武昌区", "徐东大街18号（销品茂对面）",
        30.5900, 114.3500, "027-86788018",
        "徐东销品茂对面，周边小区多，粮油日用整箱配送。",
        "standard", NEAR_DELIVERY, 15,
    ),
    # 洪山区
    StoreSeed(
        "jiedaokou", "鲜邻便利·街道口店", "洪山区", "珞喻路129号（地铁街道口站A出口）",
        30.5275, 114.3539, "027-87876129",
        "武大、理工大之间的学生店，周五周六营业到凌晨2点，考试周夜宵不断档。",
        "late_weekend", CAMPUS_DELIVERY, 10,
    ),
    StoreSeed(
        "guangbutun", "鲜邻便利·广埠屯店", "洪山区", "珞喻路广埠屯资讯广场1层",
        30.5258, 114.3657, "027-87656618",
        "广埠屯电脑城旁，数据线、电池、插线板常备。",
        "standard", None, 15,
    ),
    StoreSeed(
        "huake", "鲜邻便利·华科大店", "洪山区", "珞喻路1037号华中科技大学南大门对面",
        30.5130, 114.4170, "027-87541037",
        "华科南大门对面，宿舍楼下2公里内配送，满39元免配送费。",
        "standard", CAMPUS_DELIVERY, 10,
    ),
    # 东湖高新区
    StoreSeed(
        "guanggu-square", "鲜邻便利·光谷广场店", "东湖高新区", "珞喻路766号（地铁光谷广场站F出口）",
        30.5059, 114.3977, "027-87766766",
        "光谷广场转盘旁24小时店，加班到深夜也有热饭和咖啡。",
        "around_the_clock", NEAR_DELIVERY, 10,
    ),
    StoreSeed(
        "software-park", "鲜邻便利·光谷软件园店", "东湖高新区", "关山大道1号光谷软件园A区1层",
        30.4800, 114.4060, "027-87661001",
        "光谷软件园A区，门店升级改造中，暂停营业，给您带来不便敬请谅解。",
        "office", None, 15, paused=True,
    ),
    StoreSeed(
        "financial-harbor", "鲜邻便利·光谷金融港店", "东湖高新区", "光谷大道77号金融港B区1层",
        30.4600, 114.4260, "027-87977077",
        "金融港园区里的便利店，早餐、午餐、下午茶都能到店自提。",
        "office", None, 15,
    ),
    # 青山区
    StoreSeed(
        "honggangcheng", "鲜邻便利·红钢城店", "青山区", "和平大道红钢城八街口",
        30.6400, 114.3900, "027-86856808",
        "红钢城老社区，阿姨们最爱的早市特价蔬菜，4公里内配送。",
        "community", COMMUNITY_DELIVERY, 20,
    ),
    StoreSeed(
        "youyi-dadao", "鲜邻便利·友谊大道店", "青山区", "友谊大道与建设二路交汇处",
        30.6230, 114.3770, "027-86325202",
        "友谊大道沿线，下班顺路带一份热干面做明早的早餐。",
        "standard", None, 15,
    ),
    # 蔡甸区
    StoreSeed(
        "caidian", "鲜邻便利·蔡甸大街店", "蔡甸区", "蔡甸大街168号",
        30.5820, 114.0290, "027-84948168",
        "蔡甸城区中心，当季蔡甸藜蒿、莲藕本地直采。",
        "suburb", SUBURB_DELIVERY, 20,
    ),
    # 江夏区
    StoreSeed(
        "zhifang", "鲜邻便利·纸坊店", "江夏区", "纸坊大街与文化路交汇处",
        30.3540, 114.3210, "027-81821688",
        "江夏纸坊城区店，粮油米面整箱送，5公里内配送。",
        "suburb", SUBURB_DELIVERY, 20,
    ),
    # 黄陂区
    StoreSeed(
        "qianchuan", "鲜邻便利·前川店", "黄陂区", "前川街百秀街99号",
        30.8760, 114.3770, "027-85996099",
        "黄陂前川城区店，去木兰天池、木兰草原前来补给。",
        "suburb", Delivery(radius_m=5000, fee=500, free_over=4900, min_order=2000), 20,
    ),
    # 东西湖区
    StoreSeed(
        "wujiashan", "鲜邻便利·吴家山店", "东西湖区", "东吴大道吴家山地铁站C出口",
        30.6260, 114.1380, "027-83891166",
        "吴家山地铁站旁，台商投资区上下班的补给站。",
        "standard", Delivery(radius_m=4000, fee=500, free_over=4900, min_order=1500), 15,
    ),
)  # fmt: skip

BAKERY_STORES: tuple[StoreSeed, ...] = (
    StoreSeed(
        "cl-tiandi", "楚麓烘焙·武汉天地店", "江岸区", "中山大道1628号武汉天地壹方北馆1层",
        30.6081, 114.3070, "027-82619628",
        "每天早8点第一炉吐司出炉，下午三点半现烤蛋挞。",
        "bakery", Delivery(radius_m=3000, fee=600, free_over=5900, min_order=2000), 15,
    ),
    StoreSeed(
        "cl-hanjie", "楚麓烘焙·楚河汉街店", "武昌区", "中北路楚河汉街万达广场东区1层",
        30.5571, 114.3440, "027-87139688",
        "汉街店可预订生日蛋糕，提前一天下单，到店自提。",
        "bakery", Delivery(radius_m=3000, fee=600, free_over=5900, min_order=2000), 20,
    ),
    StoreSeed(
        "cl-wangjiawan", "楚麓烘焙·王家湾店", "汉阳区", "龙阳大道王家湾摩尔城B1层",
        30.5575, 114.2200, "027-84468866",
        "摩尔城B1，欧包和碱水结是店里的招牌。",
        "bakery", None, 15,
    ),
    StoreSeed(
        "cl-guanggu", "楚麓烘焙·光谷步行街店", "东湖高新区", "珞喻路光谷步行街意大利风情街1层",
        30.5040, 114.4000, "027-87788166",
        "光谷步行街店，咖啡配可颂的早餐套餐每天供应到10点。",
        "bakery", Delivery(radius_m=3000, fee=500, free_over=4900, min_order=2000), 15,
    ),
)  # fmt: skip

CLOSED_TODAY_STORE = "hanzheng-jie"
CLOSED_TODAY_NOTE = "店休日：冷柜设备检修，今日暂停营业，明日照常"

EXTENDED_HOURS: tuple[ExtendedHours, ...] = (
    ExtendedHours("wuhan-tiandi", 12, 31, "08:00", "03:00", "跨年夜延长营业至凌晨3点"),
    ExtendedHours("chuhe-hanjie", 12, 31, "08:00", "03:00", "跨年夜延长营业至凌晨3点"),
    ExtendedHours("jianghan-lu", 12, 31, "00:00", "00:00", "跨年夜照常24小时营业，加开收银台"),
    ExtendedHours("hubu-xiang", 10, 1, "07:00", "02:00", "国庆黄金周延长营业"),
    ExtendedHours("hubu-xiang", 10, 2, "07:00", "02:00", "国庆黄金周延长营业"),
    ExtendedHours("hubu-xiang", 10, 3, "07:00", "02:00", "国庆黄金周延长营业"),
    ExtendedHours("sixin", 6, 1, "06:30", "23:30", "国博展会期间提前开门、延长营业"),
)


# --- categories -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeafCategory:
    name: str
    icon: str
    shape: str  # how images.py draws this category's products


@dataclass(frozen=True)
class RootCategory:
    name: str
    icon: str
    colour: str  # the gradient of its products' images
    children: tuple[LeafCategory, ...]


FRESH_CATEGORIES: tuple[RootCategory, ...] = (
    RootCategory("生鲜果蔬", "🥬", "#5DAE5B", (
        LeafCategory("时令水果", "🍊", "fruit"),
        LeafCategory("新鲜蔬菜", "🥦", "leaf"),
        LeafCategory("肉禽蛋品", "🥚", "tray"),
    )),
    RootCategory("乳品烘焙", "🥛", "#5B9BD5", (
        LeafCategory("牛奶", "🥛", "carton"),
        LeafCategory("酸奶", "🥣", "cup"),
        LeafCategory("面包蛋糕", "🍞", "bread"),
    )),
    RootCategory("休闲零食", "🍿", "#F2A93B", (
        LeafCategory("坚果炒货", "🥜", "bag"),
        LeafCategory("饼干糕点", "🍪", "box"),
        LeafCategory("膨化食品", "🍟", "bag"),
        LeafCategory("糖果巧克力", "🍫", "box"),
    )),
    RootCategory("酒水饮料", "🥤", "#3FA9D6", (
        LeafCategory("饮用水", "💧", "bottle"),
        LeafCategory("碳酸饮料", "🥤", "can"),
        LeafCategory("茶饮果汁", "🧃", "bottle"),
        LeafCategory("咖啡冲调", "☕", "cup"),
        LeafCategory("啤酒", "🍺", "can"),
        LeafCategory("白酒", "🍶", "bottle"),
    )),
    RootCategory("粮油调味", "🍚", "#C99A2E", (
        LeafCategory("米面杂粮", "🌾", "sack"),
        LeafCategory("食用油", "🫒", "bottle"),
        LeafCategory("调味品", "🧂", "jar"),
    )),
    RootCategory("方便速食", "🍜", "#E8743B", (
        LeafCategory("方便面", "🍜", "bowl"),
        LeafCategory("自热火锅", "🍲", "bowl"),
        LeafCategory("罐头", "🥫", "can"),
    )),
    RootCategory("冷冻食品", "🧊", "#4FC3D9", (
        LeafCategory("速冻水饺", "🥟", "bag"),
        LeafCategory("汤圆面点", "🍡", "bag"),
        LeafCategory("冰淇淋", "🍦", "cup"),
    )),
    RootCategory("日用百货", "🧺", "#9C7B66", (
        LeafCategory("纸品湿巾", "🧻", "roll"),
        LeafCategory("厨房用品", "🍳", "box"),
        LeafCategory("电池数码", "🔋", "box"),
    )),
    RootCategory("个护清洁", "🧴", "#A066C9", (
        LeafCategory("洗发沐浴", "🚿", "bottle"),
        LeafCategory("口腔护理", "🪥", "tube"),
        LeafCategory("衣物清洁", "👕", "jug"),
        LeafCategory("家居清洁", "🧽", "jug"),
    )),
    RootCategory("母婴用品", "🍼", "#EE8FB0", (
        LeafCategory("婴儿奶粉", "🍼", "jar"),
        LeafCategory("纸尿裤湿巾", "👶", "bag"),
    )),
    RootCategory("家居家纺", "🏠", "#7482C9", (
        LeafCategory("毛巾浴巾", "🛁", "cloth"),
        LeafCategory("家居服袜", "👘", "cloth"),
        LeafCategory("雨具", "☂️", "umbrella"),
    )),
    RootCategory("武汉风味", "🏮", "#D94A3D", (
        LeafCategory("热干面", "🥢", "bowl"),
        LeafCategory("鸭货卤味", "🦆", "tray"),
        LeafCategory("楚味小吃", "🥮", "box"),
    )),
)  # fmt: skip

BAKERY_CATEGORIES: tuple[RootCategory, ...] = (
    RootCategory("现烤面包", "🥖", "#C98B4A", (
        LeafCategory("吐司", "🍞", "bread"),
        LeafCategory("欧包", "🥖", "bread"),
        LeafCategory("甜面包", "🥐", "bread"),
    )),
    RootCategory("蛋糕甜点", "🍰", "#E58FA6", (
        LeafCategory("切块蛋糕", "🍰", "cake"),
        LeafCategory("生日蛋糕", "🎂", "cake"),
        LeafCategory("西点", "🧁", "cake"),
    )),
    RootCategory("中式糕点", "🥮", "#B5653A", (LeafCategory("传统糕点", "🥮", "box"),)),
    RootCategory("咖啡饮品", "☕", "#6F4E37", (LeafCategory("咖啡", "☕", "cup"),)),
)  # fmt: skip


# --- products -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantSeed:
    specs: dict[str, str]
    price: int


@dataclass(frozen=True)
class ProductSeed:
    category: str  # the leaf category's name
    brand: str
    name: str
    variants: tuple[VariantSeed, ...]
    tags: tuple[str, ...] = ()
    subtitle: str = ""
    colour: str | None = None  # overrides the category colour in the image (fruit, mostly)


def product(
    category: str,
    brand: str,
    name: str,
    variants: list[tuple[str | dict[str, str], int]],
    *,
    tags: tuple[str, ...] = (),
    subtitle: str = "",
    colour: str | None = None,
) -> ProductSeed:
    """Variants are (spec, price): a plain string is the 规格; a dict names its own spec axes."""
    return ProductSeed(
        category=category,
        brand=brand,
        name=name,
        variants=tuple(
            VariantSeed(specs=spec if isinstance(spec, dict) else {"规格": spec}, price=price)
            for spec, price in variants
        ),
        tags=tags,
        subtitle=subtitle,
        colour=colour,
    )


HOT = ("热销",)
NEW = ("新品",)
LOCAL = ("本地特产",)
OWN = "鲜邻优选"  # the chain's own label

FRESH_PRODUCTS: tuple[ProductSeed, ...] = (
    # 时令水果
    product("时令水果", "秭归", "秭归脐橙", [("2.5kg装", 3990), ("5kg箱装", 6990), ("10kg箱装", 12990)],
            tags=LOCAL + HOT, subtitle="湖北宜昌秭归核心产区，果肉细嫩多汁", colour="#F39C12"),
    product("时令水果", OWN, "阿克苏冰糖心苹果", [("4个装约1kg", 1990), ("5kg箱装", 7990)],
            subtitle="新疆阿克苏产区，糖心明显", colour="#D64541"),
    product("时令水果", OWN, "海南香蕉", [("约1kg", 890), ("一把约2kg", 1690)], tags=HOT, colour="#F4D03F"),
    product("时令水果", OWN, "阳光玫瑰葡萄", [("约500g", 2990), ("约1kg", 5590)],
            tags=NEW, subtitle="青提玫瑰香，皮薄无籽", colour="#9ACD32"),
    product("时令水果", OWN, "红颜草莓", [("约400g盒装", 3990), ("约1kg礼盒", 8990)], tags=NEW, colour="#E74C3C"),
    product("时令水果", OWN, "麒麟西瓜", [("整个约3kg", 2990), ("半个约1.5kg", 1590)], colour="#27AE60"),
    # 新鲜蔬菜
    product("新鲜蔬菜", "蔡甸", "蔡甸藜蒿", [("约300g", 1290), ("约500g", 1990)],
            tags=LOCAL, subtitle="藜蒿炒腊肉，武汉人的春天", colour="#7DBB4E"),
    product("新鲜蔬菜", "洪湖", "洪湖莲藕", [({"品种": "粉藕（煨汤）", "规格": "约1kg"}, 1090),
                                              ({"品种": "脆藕（清炒）", "规格": "约1kg"}, 990)],
            tags=LOCAL + HOT, subtitle="排骨藕汤就用九孔粉藕", colour="#C8A27A"),
    product("新鲜蔬菜", "汉南", "汉南甜玉米", [("2根装", 590)], tags=LOCAL, colour="#F1C40F"),
    product("新鲜蔬菜", OWN, "沙瓤西红柿", [("约500g", 590), ("约1kg", 1090)], colour="#E5533C"),
    product("新鲜蔬菜", OWN, "上海青", [("约400g", 390)], colour="#58A65C"),
    product("新鲜蔬菜", OWN, "黄心土豆", [("约1kg", 490)], colour="#D9B36C"),
    # 肉禽蛋品
    product("肉禽蛋品", OWN, "散养土鸡蛋", [("10枚装", 1590), ("30枚装", 3990)], tags=HOT, colour="#E3B778"),
    product("肉禽蛋品", "双汇", "冷鲜猪里脊", [("约400g", 2390), ("约800g", 4590)], colour="#D9777A"),
    product("肉禽蛋品", "圣农", "鸡翅中", [("500g", 2990), ("1kg", 5590)], colour="#E0A060"),
    product("肉禽蛋品", OWN, "精品猪肋排", [("约500g", 3990)], subtitle="煨藕汤的好排骨", colour="#C9625F"),
    # 牛奶
    product("牛奶", "蒙牛", "蒙牛纯牛奶", [("250ml×16盒", 5990), ("250ml×24盒", 7990), ("1L", 1590)],
            tags=HOT, subtitle="每100ml含3.2g乳蛋白"),
    product("牛奶", "伊利", "伊利纯牛奶", [("250ml×16盒", 5890), ("250ml×24盒", 7790), ("1L", 1490)], tags=HOT),
    product("牛奶", "蒙牛", "特仑苏纯牛奶", [("250ml×12盒", 5990), ("250ml×16盒", 7490)],
            subtitle="每100ml含3.6g优质乳蛋白"),
    product("牛奶", "伊利", "金典有机纯牛奶", [("250ml×12盒", 6590), ("250ml×16盒", 8490)]),
    product("牛奶", "光明", "光明优倍鲜牛奶", [("950ml", 1690), ("450ml", 990)], subtitle="巴氏杀菌，冷藏保存"),
    product("牛奶", "旺旺", "旺仔牛奶", [("245ml×12罐", 5490), ("125ml×20盒", 5990)]),
    # 酸奶
    product("酸奶", "伊利", "安慕希希腊风味酸奶", [({"口味": "原味", "规格": "205g×12盒"}, 6590),
                                                      ({"口味": "黄桃燕麦", "规格": "200g×10盒"}, 5990)],
            tags=HOT),
    product("酸奶", "蒙牛", "纯甄风味酸奶", [({"口味": "原味", "规格": "200g×12盒"}, 5990),
                                              ({"口味": "草莓", "规格": "200g×12盒"}, 5990)]),
    product("酸奶", "简爱", "简爱裸酸奶", [("135g×6杯", 3790), ("100g×12杯", 5990)], tags=NEW, subtitle="只有生牛乳、糖和乳酸菌"),
    product("酸奶", "君乐宝", "简醇0蔗糖酸奶", [("150g×10袋", 3990)]),
    product("酸奶", "养乐多", "养乐多活菌型乳酸菌饮品", [("100ml×5瓶", 1250), ("100ml×10瓶", 2390)], tags=HOT),
    # 面包蛋糕
    product("面包蛋糕", "桃李", "桃李醇熟切片面包", [("200g", 590), ("400g", 990)], tags=HOT),
    product("面包蛋糕", "盼盼", "盼盼法式小面包", [("200g", 990), ("400g", 1690)]),
    product("面包蛋糕", "达利园", "达利园法式软面包", [({"口味": "香奶味"}, 1290), ({"口味": "香橙味"}, 1290)]),
    product("面包蛋糕", "曼可顿", "曼可顿全麦吐司", [("400g", 1290)]),
    # 坚果炒货
    product("坚果炒货", "三只松鼠", "三只松鼠每日坚果", [("25g×30袋", 9990), ("25g×7袋", 2990)], tags=HOT),
    product("坚果炒货", "三只松鼠", "三只松鼠碧根果", [("210g", 2490), ("500g", 5490)]),
    product("坚果炒货", "良品铺子", "良品铺子开心果", [("200g", 3290), ("500g", 6990)], tags=("本地品牌",),
            subtitle="武汉本土零食品牌"),
    product("坚果炒货", "洽洽", "洽洽香瓜子", [({"口味": "原味", "规格": "260g"}, 1190),
                                              ({"口味": "焦糖", "规格": "260g"}, 1290),
                                              ({"口味": "山核桃", "规格": "260g"}, 1290)]),
    product("坚果炒货", "良品铺子", "良品铺子夏威夷果", [("218g", 3490)], tags=("本地品牌",)),
    # 饼干糕点
    product("饼干糕点", "奥利奥", "奥利奥夹心饼干", [({"口味": "原味", "规格": "388g"}, 1990),
                                                    ({"口味": "草莓味", "规格": "388g"}, 1990),
                                                    ({"口味": "巧克力味", "规格": "388g"}, 1990)], tags=HOT),
    product("饼干糕点", "好丽友", "好丽友巧克力派", [("6枚", 1290), ("12枚", 2290)]),
    product("饼干糕点", "良品铺子", "良品铺子蛋黄酥", [("6枚装", 2590)], tags=("本地品牌",)),
    product("饼干糕点", "康师傅", "康师傅3+2苏打夹心饼干", [({"口味": "柠檬味", "规格": "375g"}, 1290),
                                                          ({"口味": "奶油味", "规格": "375g"}, 1290)]),
    # 膨化食品
    product("膨化食品", "乐事", "乐事薯片", [({"口味": "原味", "规格": "70g"}, 890),
                                          ({"口味": "原味", "规格": "135g"}, 1390),
                                          ({"口味": "黄瓜味", "规格": "70g"}, 890),
                                          ({"口味": "黄瓜味", "规格": "135g"}, 1390),
                                          ({"口味": "番茄味", "规格": "70g"}, 890),
                                          ({"口味": "番茄味", "规格": "135g"}, 1390)], tags=HOT),
    product("膨化食品", "上好佳", "上好佳鲜虾片", [("40g", 450), ("80g", 790)]),
    product("膨化食品", "旺旺", "旺旺仙贝", [("52g", 790), ("400g家庭装", 3290)]),
    product("膨化食品", "旺旺", "旺旺雪饼", [("84g", 850)]),
    # 糖果巧克力
    product("糖果巧克力", "德芙", "德芙丝滑牛奶巧克力", [("43g", 1090), ("252g碗装", 5990)], tags=HOT),
    product("糖果巧克力", "费列罗", "费列罗榛果威化巧克力", [("3粒装", 1690), ("16粒礼盒", 7990)]),
    product("糖果巧克力", "大白兔", "大白兔奶糖", [("227g", 1690), ("500g", 3490)]),
    product("糖果巧克力", "阿尔卑斯", "阿尔卑斯棒棒糖", [("20支混合装", 1590)]),
    # 饮用水
    product("饮用水", "农夫山泉", "农夫山泉饮用天然水", [("550ml", 200), ("550ml×24瓶", 3600), ("4L", 990)],
            tags=HOT),
    product("饮用水", "怡宝", "怡宝纯净水", [("555ml", 200), ("555ml×24瓶", 3500), ("4.5L", 1090)], tags=HOT),
    product("饮用水", "百岁山", "百岁山天然矿泉水", [("570ml", 300), ("570ml×24瓶", 5800)]),
    # 碳酸饮料
    product("碳酸饮料", "可口可乐", "可口可乐", [("330ml罐装", 300), ("330ml×24罐", 4990), ("2L", 790)], tags=HOT),
    product("碳酸饮料", "百事", "百事可乐", [("330ml罐装", 300), ("330ml×24罐", 4790), ("2L", 750)]),
    product("碳酸饮料", "雪碧", "雪碧柠檬味汽水", [("500ml", 350), ("2L", 790), ("330ml×24罐", 4990)]),
    product("碳酸饮料", "元气森林", "元气森林苏打气泡水", [({"口味": "白桃"}, 550), ({"口味": "青瓜"}, 550),
                                                        ({"口味": "卡曼橘"}, 550)], tags=NEW),
    product("碳酸饮料", "汉口二厂", "汉口二厂汽水", [({"口味": "荔枝味", "规格": "275ml"}, 680),
                                                  ({"口味": "橘子味", "规格": "275ml"}, 680),
                                                  ({"口味": "苏打味", "规格": "275ml"}, 680)],
            tags=LOCAL + HOT, subtitle="武汉老字号汽水，玻璃瓶装"),
    # 茶饮果汁
    product("茶饮果汁", "康师傅", "康师傅冰红茶", [("500ml", 350), ("1L", 550), ("500ml×15瓶", 4500)], tags=HOT),
    product("茶饮果汁", "统一", "统一冰红茶", [("500ml", 350), ("500ml×15瓶", 4400)]),
    product("茶饮果汁", "统一", "统一阿萨姆奶茶", [("500ml", 450), ("500ml×15瓶", 5990)]),
    product("茶饮果汁", "农夫山泉", "东方树叶无糖茶", [({"口味": "茉莉花茶"}, 550), ({"口味": "乌龙茶"}, 550),
                                                     ({"口味": "青柑普洱"}, 550)]),
    product("茶饮果汁", "康师傅", "康师傅绿茶", [("500ml", 350), ("500ml×15瓶", 4500)]),
    product("茶饮果汁", "汇源", "汇源100%橙汁", [("1L", 1590), ("1L×6盒", 8990)]),
    # 咖啡冲调
    product("咖啡冲调", "雀巢", "雀巢咖啡1+2原味", [("15g×7条", 1290), ("15g×30条", 3990)]),
    product("咖啡冲调", "雀巢", "雀巢丝滑拿铁即饮咖啡", [("268ml", 650)]),
    product("咖啡冲调", "农夫山泉", "炭仌低糖拿铁咖啡", [("270ml", 590)], tags=NEW),
    product("咖啡冲调", "香飘飘", "香飘飘杯装奶茶", [({"口味": "原味", "规格": "80g"}, 450),
                                                  ({"口味": "麦香", "规格": "80g"}, 450),
                                                  ({"口味": "香芋", "规格": "80g"}, 450)]),
    product("咖啡冲调", "桂格", "桂格即食燕麦片", [("500g", 1790), ("1000g", 2990)]),
    # 啤酒
    product("啤酒", "雪花", "雪花勇闯天涯啤酒", [("500ml罐装", 450), ("500ml×12罐", 4990), ("330ml×24罐", 6990)], tags=HOT),
    product("啤酒", "青岛啤酒", "青岛啤酒经典", [("500ml罐装", 600), ("500ml×12罐", 6490), ("330ml×24罐", 8990)]),
    product("啤酒", "百威", "百威啤酒", [("500ml罐装", 750), ("500ml×12罐", 8490)]),
    product("啤酒", "金龙泉", "金龙泉纯生啤酒", [("500ml罐装", 450), ("500ml×12罐", 4590)],
            tags=LOCAL, subtitle="湖北本土啤酒"),
    # 白酒
    product("白酒", "白云边", "白云边12年陈酿", [("42度 500ml", 15800)], tags=LOCAL, subtitle="湖北荆州兼香型白酒"),
    product("白酒", "黄鹤楼", "黄鹤楼酒·清香型", [("42度 500ml", 12800)], tags=LOCAL),
    product("白酒", "红星", "红星二锅头", [("56度 150ml", 600), ("56度 500ml", 2390)]),
    product("白酒", "牛栏山", "牛栏山陈酿", [("42度 500ml", 1590)], tags=HOT),
    product("白酒", "劲牌", "中国劲酒", [("125ml", 1200), ("520ml", 4390)], tags=LOCAL, subtitle="湖北大冶出品"),
    # 米面杂粮
    product("米面杂粮", "金龙鱼", "金龙鱼东北大米", [("5kg", 3990), ("10kg", 7490)], tags=HOT),
    product("米面杂粮", "福临门", "福临门泰国香米", [("5kg", 5990), ("10kg", 11490)]),
    product("米面杂粮", "金沙河", "金沙河鸡蛋挂面", [("细面 1kg", 890), ("宽面 1kg", 890)]),
    product("米面杂粮", "金龙鱼", "金龙鱼高筋小麦粉", [("2.5kg", 1990)]),
    product("米面杂粮", "十月稻田", "十月稻田黄小米", [("1kg", 1590)]),
    # 食用油
    product("食用油", "金龙鱼", "金龙鱼黄金比例食用调和油", [("1.8L", 2990), ("5L", 6990)], tags=HOT),
    product("食用油", "鲁花", "鲁花5S压榨一级花生油", [("1.8L", 6490), ("5L", 15990)]),
    product("食用油", "福临门", "福临门大豆油", [("1.8L", 2390), ("5L", 5990)]),
    product("食用油", "道道全", "道道全菜籽油", [("5L", 7990)]),
    # 调味品
    product("调味品", "海天", "海天味极鲜酱油", [("500ml", 990), ("1.9L", 2390)], tags=HOT),
    product("调味品", "海天", "海天上等蚝油", [("260g", 590), ("700g", 1290)]),
    product("调味品", "老干妈", "老干妈风味豆豉油制辣椒", [("280g", 1090), ("280g×3瓶", 2990)], tags=HOT),
    product("调味品", "恒顺", "恒顺香醋", [("500ml", 790)]),
    product("调味品", "太太乐", "太太乐鸡精", [("200g", 990), ("454g", 1990)]),
    # 方便面
    product("方便面", "康师傅", "康师傅红烧牛肉面", [("桶装", 500), ("5连包", 1390)], tags=HOT),
    product("方便面", "统一", "统一老坛酸菜牛肉面", [("桶装", 500), ("5连包", 1390)]),
    product("方便面", "白象", "白象汤好喝老母鸡汤面", [("5连包", 1690)]),
    product("方便面", "日清", "合味道杯面", [({"口味": "海鲜味"}, 650), ({"口味": "咖喱味"}, 650)]),
    # 自热火锅
    product("自热火锅", "海底捞", "海底捞自热小火锅", [({"口味": "麻辣嫩牛"}, 3590), ({"口味": "番茄牛腩"}, 3590)],
            tags=HOT),
    product("自热火锅", "莫小仙", "莫小仙自热火锅", [("麻辣牛肚 365g", 2190)]),
    product("自热火锅", "自嗨锅", "自嗨锅煲仔饭", [("香肠煲仔饭 251g", 2490)], tags=NEW),
    # 罐头
    product("罐头", "梅林", "梅林午餐肉罐头", [("340g", 1590)]),
    product("罐头", "林家铺子", "林家铺子黄桃罐头", [("425g", 1090)]),
    product("罐头", "甘竹", "甘竹牌豆豉鲮鱼", [("227g", 1390)]),
    # 速冻水饺
    product("速冻水饺", "思念", "思念水饺", [({"口味": "猪肉白菜", "规格": "1kg"}, 2590),
                                          ({"口味": "三鲜", "规格": "1kg"}, 2790),
                                          ({"口味": "玉米猪肉", "规格": "1kg"}, 2590)], tags=HOT),
    product("速冻水饺", "湾仔码头", "湾仔码头荠菜猪肉水饺", [("720g", 3590)]),
    product("速冻水饺", "三全", "三全灌汤水饺", [("猪肉 1kg", 2290), ("三鲜 1kg", 2490)]),
    # 汤圆面点
    product("汤圆面点", "三全", "三全汤圆", [({"口味": "黑芝麻", "规格": "500g"}, 1290),
                                          ({"口味": "花生", "规格": "500g"}, 1290)]),
    product("汤圆面点", "安井", "安井手抓饼", [("900g（10片）", 2190)]),
    product("汤圆面点", "安井", "安井鱼豆腐", [("240g", 990)]),
    # 冰淇淋
    product("冰淇淋", "伊利", "巧乐兹经典巧克力雪糕", [("75g", 500), ("6支装", 2690)], tags=HOT),
    product("冰淇淋", "和路雪", "梦龙冰淇淋", [({"口味": "香草"}, 980), ({"口味": "卡布基诺"}, 980)]),
    product("冰淇淋", "八喜", "八喜冰淇淋", [({"口味": "香草", "规格": "550g"}, 3990),
                                              ({"口味": "朗姆", "规格": "550g"}, 3990)]),
    product("冰淇淋", "蒙牛", "随变冰淇淋", [({"口味": "香草巧克力"}, 450), ({"口味": "抹茶"}, 450)]),
    # 纸品湿巾
    product("纸品湿巾", "维达", "维达超韧抽纸", [("3层100抽×6包", 1990), ("3层100抽×24包", 6990)], tags=HOT),
    product("纸品湿巾", "清风", "清风原木纯品卷纸", [("4层×10卷", 2790), ("4层×27卷", 5990)]),
    product("纸品湿巾", "心相印", "心相印茶语湿巾", [("80片", 1290), ("10片×6包", 990)]),
    product("纸品湿巾", "维达", "维达手帕纸", [("4层×18包", 1090)]),
    # 厨房用品
    product("厨房用品", "妙洁", "妙洁保鲜袋", [("中号100只", 1290), ("大号80只", 1490)]),
    product("厨房用品", "美丽雅", "美丽雅一次性手套", [("100只", 990), ("200只", 1690)]),
    product("厨房用品", "苏泊尔", "苏泊尔不粘炒锅", [({"尺寸": "28cm"}, 13900), ({"尺寸": "32cm"}, 15900)]),
    product("厨房用品", "双枪", "双枪天然竹筷", [("10双装", 1590)]),
    # 电池数码
    product("电池数码", "南孚", "南孚碱性电池", [("5号4粒", 1290), ("7号4粒", 1290), ("5号12粒", 3290)], tags=HOT),
    product("电池数码", "公牛", "公牛插线板", [("3位 1.8m", 3990), ("5位 3m", 5990)]),
    product("电池数码", "倍思", "倍思Type-C快充数据线", [("1m", 2990), ("2m", 3990)]),
    # 洗发沐浴
    product("洗发沐浴", "海飞丝", "海飞丝清爽去油洗发露", [("400ml", 4990), ("750ml", 7990)]),
    product("洗发沐浴", "滋源", "滋源无硅油洗发水", [("465ml", 6990)]),
    product("洗发沐浴", "舒肤佳", "舒肤佳沐浴露", [({"香型": "纯白清香", "规格": "720ml"}, 3990),
                                                  ({"香型": "柠檬清新", "规格": "720ml"}, 3990)], tags=HOT),
    product("洗发沐浴", "六神", "六神花露水", [("95ml", 990), ("195ml", 1590)]),
    # 口腔护理
    product("口腔护理", "云南白药", "云南白药牙膏", [("留兰香型 180g", 3290), ("薄荷清爽型 180g", 3290)]),
    product("口腔护理", "佳洁士", "佳洁士3D炫白牙膏", [("120g", 1990), ("180g", 2590)]),
    product("口腔护理", "高露洁", "高露洁超细毛牙刷", [("2支装", 1990), ("4支装", 3490)]),
    # 衣物清洁
    product("衣物清洁", "蓝月亮", "蓝月亮深层洁净洗衣液", [("1kg", 2590), ("3kg", 5990)], tags=HOT),
    product("衣物清洁", "立白", "立白超洁薰香洗衣液", [("1kg", 1690), ("2kg", 3290)]),
    product("衣物清洁", "奥妙", "奥妙洗衣凝珠", [("20颗", 2290), ("52颗", 4990)]),
    product("衣物清洁", "威露士", "威露士衣物消毒液", [("1L", 3990)]),
    # 家居清洁
    product("家居清洁", "蓝月亮", "蓝月亮洁厕液", [("500g", 1290), ("500g×2瓶", 2290)]),
    product("家居清洁", "立白", "立白洗洁精", [("1kg", 1090), ("1.5kg", 1390)]),
    product("家居清洁", "威猛先生", "威猛先生厨房重油污净", [("500g", 2290)]),
    product("家居清洁", "滴露", "滴露消毒液", [("750ml", 4990), ("1.5L", 8990)]),
    # 婴儿奶粉
    product("婴儿奶粉", "飞鹤", "飞鹤星飞帆婴幼儿配方奶粉", [({"段位": "1段", "规格": "700g"}, 32800),
                                                         ({"段位": "2段", "规格": "700g"}, 31800),
                                                         ({"段位": "3段", "规格": "700g"}, 29800)]),
    product("婴儿奶粉", "伊利", "金领冠婴幼儿配方奶粉", [({"段位": "2段", "规格": "800g"}, 25800),
                                                       ({"段位": "3段", "规格": "800g"}, 23800)]),
    # 纸尿裤湿巾
    product("纸尿裤湿巾", "帮宝适", "帮宝适一级帮纸尿裤", [({"尺码": "S"}, 12900), ({"尺码": "M"}, 12900),
                                                        ({"尺码": "L"}, 13900), ({"尺码": "XL"}, 13900)]),
    product("纸尿裤湿巾", "好奇", "好奇心钻装拉拉裤", [({"尺码": "L"}, 14900), ({"尺码": "XL"}, 14900),
                                                      ({"尺码": "XXL"}, 14900)]),
    product("纸尿裤湿巾", "全棉时代", "全棉时代婴儿湿巾", [("80抽×3包", 3290), ("80抽×6包", 5990)]),
    # 毛巾浴巾
    product("毛巾浴巾", "洁丽雅", "洁丽雅纯棉毛巾", [({"颜色": "米白"}, 1990), ({"颜色": "浅灰"}, 1990),
                                                  ({"颜色": "樱花粉"}, 1990)]),
    product("毛巾浴巾", "金号", "金号纯棉浴巾", [({"颜色": "湖蓝", "尺寸": "70×140cm"}, 4990),
                                              ({"颜色": "雾灰", "尺寸": "70×140cm"}, 4990)]),
    # 家居服袜
    product("家居服袜", "南极人", "南极人纯棉家居服套装", [({"颜色": "藏青", "尺码": "M"}, 8900),
                                                        ({"颜色": "藏青", "尺码": "L"}, 8900),
                                                        ({"颜色": "藏青", "尺码": "XL"}, 8900),
                                                        ({"颜色": "浅粉", "尺码": "M"}, 8900),
                                                        ({"颜色": "浅粉", "尺码": "L"}, 8900),
                                                        ({"颜色": "浅粉", "尺码": "XL"}, 8900)], tags=NEW),
    product("家居服袜", "浪莎", "浪莎男士中筒棉袜5双装", [({"颜色": "黑色", "尺码": "均码"}, 2990),
                                                        ({"颜色": "深灰", "尺码": "均码"}, 2990)]),
    # 雨具
    product("雨具", "天堂伞", "天堂伞三折晴雨伞", [({"颜色": "黑色"}, 4900), ({"颜色": "藏青"}, 4900),
                                                  ({"颜色": "酒红"}, 4900)], tags=HOT),
    product("雨具", OWN, "加厚一次性雨衣", [("成人均码", 590), ("儿童款", 490)]),
    # 热干面
    product("热干面", "蔡林记", "蔡林记热干面", [("5人份袋装", 2990), ("10人份礼盒", 5990)],
            tags=LOCAL + HOT, subtitle="武汉老字号，碱水面配芝麻酱"),
    product("热干面", "鲜邻厨房", "现拌热干面", [("标准份", 690), ("加量份", 890)],
            tags=LOCAL + HOT, subtitle="门店早餐档现拌，萝卜丁、酸豆角任加"),
    product("热干面", "蔡林记", "蔡林记芝麻酱", [("230g", 1590)], tags=LOCAL),
    # 鸭货卤味
    product("鸭货卤味", "周黑鸭", "周黑鸭锁鲜鸭脖", [({"口味": "甜辣", "规格": "200g"}, 3290),
                                                  ({"口味": "微辣", "规格": "200g"}, 3290)],
            tags=LOCAL + HOT, subtitle="武汉周黑鸭，锁鲜装"),
    product("鸭货卤味", "周黑鸭", "周黑鸭锁鲜鸭翅", [("200g", 3590)], tags=LOCAL),
    product("鸭货卤味", "周黑鸭", "周黑鸭鸭锁骨", [("180g", 2990)], tags=LOCAL),
    product("鸭货卤味", "精武", "精武鸭脖", [({"口味": "香辣", "规格": "300g"}, 3890),
                                          ({"口味": "五香", "规格": "300g"}, 3890)], tags=LOCAL),
    # 楚味小吃
    product("楚味小吃", "四季美", "四季美汤包", [("鲜肉 速冻480g", 2990), ("蟹黄 速冻480g", 3590)], tags=LOCAL, subtitle="武汉老字号汤包"),
    product("楚味小吃", "老通城", "老通城三鲜豆皮", [("速冻 500g", 2590)], tags=LOCAL),
    product("楚味小吃", "孝感", "孝感米酒", [("原味 500g", 890), ("桂花 500g", 990)], tags=LOCAL),
    product("楚味小吃", "孝感", "孝感麻糖", [("350g", 1990), ("500g礼盒", 3990)], tags=LOCAL),
)  # fmt: skip

BAKERY_PRODUCTS: tuple[ProductSeed, ...] = (
    product("吐司", "楚麓烘焙", "北海道牛奶吐司", [("整条 450g", 2280), ("半条 225g", 1280)], tags=HOT),
    product("吐司", "楚麓烘焙", "全麦黑麦吐司", [("整条 400g", 1980)]),
    product("吐司", "楚麓烘焙", "红豆麻薯吐司", [("整条 480g", 2580)], tags=NEW),
    product("欧包", "楚麓烘焙", "传统法棍", [("1根", 1280)]),
    product("欧包", "楚麓烘焙", "德式碱水结", [({"口味": "原味"}, 980), ({"口味": "芝士"}, 1180)], tags=HOT),
    product("欧包", "楚麓烘焙", "蔓越莓乳酪软欧", [("1个", 1680)]),
    product("甜面包", "楚麓烘焙", "黄油牛角可颂", [("1个", 880), ("4个装", 3280)], tags=HOT),
    product("甜面包", "楚麓烘焙", "肉松小贝", [("2个装", 1280)]),
    product("甜面包", "楚麓烘焙", "葡式蛋挞", [("2个装", 1080), ("6个装", 2980)], tags=HOT),
    product("切块蛋糕", "楚麓烘焙", "纽约重芝士蛋糕", [("1块", 2280)]),
    product("切块蛋糕", "楚麓烘焙", "提拉米苏", [("1杯", 2580)]),
    product("切块蛋糕", "楚麓烘焙", "黑森林蛋糕", [("1块", 2380)]),
    product("生日蛋糕", "楚麓烘焙", "草莓鲜奶生日蛋糕", [({"尺寸": "6寸"}, 16800), ({"尺寸": "8寸"}, 22800),
                                                      ({"尺寸": "10寸"}, 29800)], tags=HOT),
    product("生日蛋糕", "楚麓烘焙", "巧克力淋面生日蛋糕", [({"尺寸": "6寸"}, 17800), ({"尺寸": "8寸"}, 23800)]),
    product("西点", "楚麓烘焙", "法式马卡龙", [("6枚礼盒", 4800)]),
    product("西点", "楚麓烘焙", "奶油泡芙", [("4个装", 1880)]),
    product("传统糕点", "楚麓烘焙", "绿豆糕", [("6枚装", 2280)]),
    product("传统糕点", "楚麓烘焙", "桂花麻烘糕", [("200g", 1680)], tags=LOCAL),
    product("传统糕点", "楚麓烘焙", "酥皮桃酥", [("8枚装", 1880)]),
    product("咖啡", "楚麓烘焙", "拿铁咖啡", [({"杯型": "中杯"}, 1800), ({"杯型": "大杯"}, 2200)]),
    product("咖啡", "楚麓烘焙", "美式咖啡", [({"杯型": "中杯"}, 1500), ({"杯型": "大杯"}, 1800)]),
)  # fmt: skip

# Latin names for the image fallback when no CJK font is installed.
BRAND_LATIN: dict[str, str] = {
    "秭归": "ZIGUI", OWN: "XIANLIN", "蔡甸": "CAIDIAN", "洪湖": "HONGHU", "汉南": "HANNAN",
    "双汇": "SHINEWAY", "圣农": "SUNNER", "蒙牛": "MENGNIU", "伊利": "YILI", "光明": "BRIGHT",
    "旺旺": "WANT WANT", "简爱": "SIMPLELOVE", "君乐宝": "JUNLEBAO", "养乐多": "YAKULT",
    "桃李": "TAOLI", "盼盼": "PANPAN", "达利园": "DALIYUAN", "曼可顿": "MANKATTAN",
    "三只松鼠": "THREE SQUIRRELS", "良品铺子": "BESTORE", "洽洽": "CHACHEER", "奥利奥": "OREO",
    "好丽友": "ORION", "康师傅": "MASTER KONG", "乐事": "LAY'S", "上好佳": "OISHI", "德芙": "DOVE",
    "费列罗": "FERRERO", "大白兔": "WHITE RABBIT", "阿尔卑斯": "ALPENLIEBE", "农夫山泉": "NONGFU SPRING",
    "怡宝": "C'ESTBON", "百岁山": "GANTEN", "可口可乐": "COCA-COLA", "百事": "PEPSI", "雪碧": "SPRITE",
    "元气森林": "GENKI FOREST", "汉口二厂": "HANKOW ERCHANG", "统一": "UNI-PRESIDENT", "汇源": "HUIYUAN",
    "雀巢": "NESCAFE", "香飘飘": "XIANGPIAOPIAO", "桂格": "QUAKER", "雪花": "SNOW", "青岛啤酒": "TSINGTAO",
    "百威": "BUDWEISER", "金龙泉": "JINLONGQUAN", "白云边": "BAIYUNBIAN", "黄鹤楼": "HUANGHELOU",
    "红星": "HONGXING", "牛栏山": "NIULANSHAN", "劲牌": "JINPAI", "金龙鱼": "ARAWANA",
    "福临门": "FORTUNE", "金沙河": "JINSHAHE", "十月稻田": "SHIYUE DAOTIAN", "鲁花": "LUHUA",
    "道道全": "DAODAOQUAN", "海天": "HAITIAN", "老干妈": "LAOGANMA", "恒顺": "HENGSHUN",
    "太太乐": "TOTOLE", "白象": "BAIXIANG", "日清": "NISSIN", "海底捞": "HAIDILAO", "莫小仙": "MOXIAOXIAN",
    "自嗨锅": "ZIHAIGUO", "梅林": "MALING", "林家铺子": "LINJIA", "甘竹": "GANZHU", "思念": "SYNEAR",
    "湾仔码头": "WANCHAI FERRY", "三全": "SANQUAN", "安井": "ANJOY", "和路雪": "WALL'S", "八喜": "BAXY",
    "维达": "VINDA", "清风": "BREEZE", "心相印": "HEARTTEX", "妙洁": "MIAOJIE", "美丽雅": "MEILIYA",
    "苏泊尔": "SUPOR", "双枪": "SHUANGQIANG", "南孚": "NANFU", "公牛": "BULL", "倍思": "BASEUS",
    "海飞丝": "HEAD&SHOULDERS", "滋源": "SEEYOUNG", "舒肤佳": "SAFEGUARD", "六神": "LIUSHEN",
    "云南白药": "YUNNAN BAIYAO", "佳洁士": "CREST", "高露洁": "COLGATE", "蓝月亮": "BLUE MOON",
    "立白": "LIBY", "奥妙": "OMO", "威露士": "WALCH", "威猛先生": "MR MUSCLE", "滴露": "DETTOL",
    "飞鹤": "FEIHE", "帮宝适": "PAMPERS", "好奇": "HUGGIES", "全棉时代": "PURCOTTON",
    "洁丽雅": "GRACE", "金号": "KINGSHORE", "南极人": "NANJIREN", "浪莎": "LANGSHA", "天堂伞": "PARADISE",
    "蔡林记": "CAILINJI", "鲜邻厨房": "XIANLIN KITCHEN", "周黑鸭": "ZHOUHEIYA", "精武": "JINGWU",
    "四季美": "SIJIMEI", "老通城": "LAOTONGCHENG", "孝感": "XIAOGAN", "楚麓烘焙": "CHULU BAKERY",
}  # fmt: skip


# --- store-level exceptions to the catalog --------------------------------------------------------


@dataclass(frozen=True)
class StorePriceSeed:
    store_code: str
    product_name: str
    spec: str  # the variant's spec values joined by a space, e.g. "550ml" or "粉藕（煨汤） 约1kg"
    price: int


@dataclass(frozen=True)
class DelistingSeed:
    store_code: str
    product_name: str
    reason: str


# Station shops charge station prices; the suburbs sell local produce a little cheaper.
FRESH_STORE_PRICES: tuple[StorePriceSeed, ...] = (
    StorePriceSeed("hankou-station", "农夫山泉饮用天然水", "550ml", 300),
    StorePriceSeed("hankou-station", "可口可乐", "330ml罐装", 400),
    StorePriceSeed("hankou-station", "康师傅红烧牛肉面", "桶装", 600),
    StorePriceSeed("wuchang-station", "农夫山泉饮用天然水", "550ml", 300),
    StorePriceSeed("wuchang-station", "怡宝纯净水", "555ml", 300),
    StorePriceSeed("wuchang-station", "统一老坛酸菜牛肉面", "桶装", 600),
    StorePriceSeed("caidian", "蔡甸藜蒿", "约300g", 990),
    StorePriceSeed("zhifang", "洪湖莲藕", "粉藕（煨汤） 约1kg", 990),
    StorePriceSeed("qianchuan", "散养土鸡蛋", "30枚装", 3590),
)
FRESH_DELISTINGS: tuple[DelistingSeed, ...] = (
    DelistingSeed("hankou-station", "飞鹤星飞帆婴幼儿配方奶粉", "车站店不售奶粉"),
    DelistingSeed("hankou-station", "苏泊尔不粘炒锅", "车站店不售大件厨具"),
    DelistingSeed("wuchang-station", "飞鹤星飞帆婴幼儿配方奶粉", "车站店不售奶粉"),
    DelistingSeed("wuchang-station", "南极人纯棉家居服套装", "车站店不售服装"),
    DelistingSeed("jiedaokou", "白云边12年陈酿", "校园店不售高度白酒"),
    DelistingSeed("huake", "白云边12年陈酿", "校园店不售高度白酒"),
    DelistingSeed("huake", "黄鹤楼酒·清香型", "校园店不售高度白酒"),
    DelistingSeed("hubu-xiang", "金龙鱼东北大米", "景区店不售整袋大米"),
)


# --- merchants ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MerchantSeed:
    code: str
    name: str
    brand_name: str
    sku_prefix: str  # sku codes are <prefix><root><leaf><item>-<variant>
    stores: tuple[StoreSeed, ...]
    categories: tuple[RootCategory, ...]
    products: tuple[ProductSeed, ...]
    settings: dict = field(default_factory=dict)
    store_prices: tuple[StorePriceSeed, ...] = ()
    delistings: tuple[DelistingSeed, ...] = ()
    # The store that takes a holiday today, whatever day "today" is when the seed runs.
    closed_today_store: str | None = None
    extended_hours: tuple[ExtendedHours, ...] = ()


FRESH = MerchantSeed(
    code="wuhan-fresh",
    name="鲜邻便利",
    brand_name="鲜邻便利",
    sku_prefix="XL",
    stores=FRESH_STORES,
    categories=FRESH_CATEGORIES,
    products=FRESH_PRODUCTS,
    settings={"slogan": "家门口的好邻居", "service_phone": "027-82790000"},
    store_prices=FRESH_STORE_PRICES,
    delistings=FRESH_DELISTINGS,
    closed_today_store=CLOSED_TODAY_STORE,
    extended_hours=EXTENDED_HOURS,
)
BAKERY = MerchantSeed(
    code="chulu-bakery",
    name="楚麓烘焙",
    brand_name="楚麓烘焙",
    sku_prefix="CL",
    stores=BAKERY_STORES,
    categories=BAKERY_CATEGORIES,
    products=BAKERY_PRODUCTS,
    settings={"slogan": "每天现烤，楚地风味", "service_phone": "027-87139600"},
)
MERCHANTS: tuple[MerchantSeed, ...] = (FRESH, BAKERY)


# --- staff ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffSeed:
    username: str
    role: str
    display_name: str
    merchant_code: str | None = None
    store_code: str | None = None


STAFF: tuple[StaffSeed, ...] = (
    StaffSeed("platform", Role.PLATFORM_ADMIN, "平台管理员"),
    StaffSeed("hq", Role.MERCHANT_ADMIN, "鲜邻总部·陈经理", "wuhan-fresh"),
    StaffSeed("bakery-hq", Role.MERCHANT_ADMIN, "楚麓总部·周经理", "chulu-bakery"),
    StaffSeed("manager-jh", Role.STORE_MANAGER, "江汉路店·刘店长", "wuhan-fresh", "jianghan-lu"),
    StaffSeed("clerk-jh", Role.STORE_CLERK, "江汉路店·小张", "wuhan-fresh", "jianghan-lu"),
    StaffSeed("clerk-wc", Role.STORE_CLERK, "楚河汉街店·小李", "wuhan-fresh", "chuhe-hanjie"),
)
