"""De-identification of a case's question and answer before they enter the knowledge base.

A pure core (no I/O): the FAQ is read by every enterprise, so whatever identifies the
enterprise that asked — its numbers, its name, the people it mentioned — is replaced
by a placeholder that keeps the sentence readable ("请联系【手机号】", "某女士").

The patterns lean towards replacing too much: a stray 18-character code that is not
really a credit code costs a placeholder, a leaked ID number costs far more. Longer
number shapes are replaced first, so a mobile number inside an ID or bank card number
is never half-replaced. Placeholders contain no digits, letters or name patterns, so
running the function twice changes nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PHONE = "【手机号】"
LANDLINE = "【电话】"
CREDIT_CODE = "【信用代码】"
ID_CARD = "【身份证号】"
EMAIL = "【邮箱】"
BANK_CARD = "【银行卡号】"
ENTERPRISE = "【企业名称】"
CONTACT = "【联系人】"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# 18 characters: ID card (6-digit region, birth date, sequence, check digit or X) …
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
                      r"\d{3}[\dXx](?![0-9A-Za-z])")
# … or 统一社会信用代码: two code characters, a 6-digit division, ten code characters.
_CREDIT_CODE = re.compile(r"(?<![0-9A-Za-z])[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{2}\d{6}"
                          r"[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{10}(?![0-9A-Za-z])")
# Bank cards: 16–19 digits, written solid or in groups of four.
_BANK_CARD = re.compile(r"(?<![\d-])(?:\d{16,19}|\d{4}(?:[ -]\d{4}){3}(?:[ -]?\d{1,3})?)(?![\d-])")
_MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?![\d])")
_LANDLINE = re.compile(
    r"(?<![\d])(?:(?:\(0\d{2,3}\)|（0\d{2,3}）|0\d{2,3}[ -]?)\d{7,8}|[48]00[ -]?\d{3}[ -]?\d{4})"
    r"(?:(?:-|转|分机)\d{1,6})?(?![\d])")
# A local number without area code, only where the text says it is a phone number.
_BARE_LANDLINE = re.compile(r"((?:电话|座机|固话|联系方式|热线)[是为:：\s]{0,3})[2-9]\d{6,7}(?![\d])")

#: Common surnames (single and compound); a name is a surname, at most two more
#: characters, then a form of address.
_COMPOUND = "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 令狐 司徒 夏侯 端木 长孙 宇文 南宫".split()
_SINGLE = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
           "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武"
           "戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮"
           "柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳穆卓古吉"
           "缪简项连芦麦褚娄窦戚岑景宫费卜冷晏席卫米柏宗瞿桂佟臧闵苟邬边卞姬仇栾隋刁沙荣巫寇"
           "桑郎甄丛仲虞敖巩明佘池查麻苑迟邝")
_TITLES = "先生|女士|小姐|经理|老板"
_PERSON = re.compile(rf"(?P<name>(?:{'|'.join(_COMPOUND)}|[{_SINGLE}])[\u4e00-\u9fff]{{0,2}}?)(?P<title>{_TITLES})")
#: Words that look like "surname + given name" before a title but are not names.
_NOT_NAMES = frozenset("项目 客户 财务 销售 大堂 部门 区域 门店 产品 业务 人事 行政 值班 副总 "
                       "商务 市场 经营 法人 公司 企业".split())
#: Leading words that happen to start with a surname character ("关于王女士").
_LEADING = ("谢谢", "关于", "对于", "由于", "向", "和", "同", "跟", "给", "让", "叫", "请", "找", "及", "与", "或", "为")

# Short forms of an enterprise name: without region, without legal form, without trade.
_PAREN = re.compile(r"[（(][^）)]{1,12}[）)]")
_REGION = re.compile(r"^[\u4e00-\u9fff]{2,7}?(?:省|自治区|特别行政区|市|自治州|地区|盟|区|县|旗)")
_FORM = re.compile(r"(?:股份有限公司|有限责任公司|有限公司|股份公司|分公司|公司|集团|合伙企业|个人独资企业|个体工商户|"
                   r"工作室|事务所|合作社|经营部|门市部|商行|店|厂|中心)$")
_TRADE = re.compile(r"(?:信息技术|网络科技|电子商务|科技|技术|网络|信息|电子|贸易|商贸|实业|餐饮|咨询|服务|管理|文化|传媒|"
                    r"建筑|工程|物流|食品|投资|发展|设计|教育|商务|医药|生物|环保|新能源|能源|装饰|广告|供应链|"
                    r"农业|物业|酒店|便利|超市|五金|机械|制造|汽车|服装|印刷|建材|家居|健康|智能|数据|软件)$")


def short_forms(name: str) -> list[str]:
    """The ways people write an enterprise's name, longest first: "深圳市南山区云帆信息技术
    有限公司" → …, "云帆信息技术有限公司", "云帆信息技术", "云帆公司", "云帆". A core of one
    character is not used on its own (it would blank ordinary words)."""
    name = re.sub(r"\s+", "", name or "")
    if len(name) < 2:
        return []
    forms = {name, _PAREN.sub("", name)}
    rest = _PAREN.sub("", name)
    for _ in range(3):  # 广东省 深圳市 南山区
        m = _REGION.match(rest)
        if not m or len(rest) - m.end() < 2:
            break
        rest = rest[m.end():]
        forms.add(rest)
    core = _FORM.sub("", rest)
    if len(core) >= 2:
        forms.add(core)
    for _ in range(3):  # 云帆信息技术 → 云帆
        shorter = _TRADE.sub("", core)
        if shorter == core or len(shorter) < 2:
            break
        core = shorter
        forms.add(core)
    if len(core) >= 2:
        forms.update({core, core + "公司"})
    return sorted((f for f in forms if len(f) >= 2), key=lambda f: (-len(f), f))


def _person(m: re.Match) -> str:
    name, title = m["name"], m["title"]
    lead = next((w for w in _LEADING if name.startswith(w) and len(name) > len(w)), "")
    bare = name[len(lead):]
    if bare in _NOT_NAMES or name in _NOT_NAMES or not (bare[:2] in _COMPOUND or bare[0] in _SINGLE):
        return m[0]
    return f"{lead}某{title}"


def deidentify(text: str, names: Iterable[str] = (), people: Iterable[str] = ()) -> str:
    """``text`` with personal and enterprise data replaced by placeholders.

    ``names``: the case enterprise's name(s); each is also removed in its short forms.
    ``people``: names known from the case (the contact person), replaced as 【联系人】.
    """
    if not text:
        return text
    out = text
    forms = sorted({f for n in names for f in short_forms(n)} | {p.strip() for p in people if len(p.strip()) >= 2},
                   key=len, reverse=True)
    known_people = {p.strip() for p in people}
    for form in forms:  # longest first, so "云帆公司" goes before "云帆"
        out = out.replace(form, CONTACT if form in known_people else ENTERPRISE)
    out = _EMAIL.sub(EMAIL, out)
    out = _ID_CARD.sub(ID_CARD, out)
    out = _CREDIT_CODE.sub(CREDIT_CODE, out)
    out = _BANK_CARD.sub(BANK_CARD, out)
    out = _MOBILE.sub(PHONE, out)
    out = _LANDLINE.sub(LANDLINE, out)
    out = _BARE_LANDLINE.sub(lambda m: m[1] + LANDLINE, out)
    return _PERSON.sub(_person, out)
