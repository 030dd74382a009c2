"""Text as extracted from documents, made searchable and readable: one pure function for every extractor.

Browser-printed and some office PDFs map characters to the CJK radical code points that look the same —
⺠ (U+2EA0) for 民, ⾃ (U+2F83) for 自, ⽀ (U+2F40) for 支 — so 民主集中制 never matches the text and copying
it gives the wrong characters. :func:`normalize_document_text` folds them to the ideographs:

* NFKC, applied only to the compatibility look-alikes it exists for here: Kangxi Radicals (U+2F00–2FDF),
  CJK Compatibility Ideographs (U+F900–FAFF, U+2F800–2FA1F) and Latin ligatures (ﬁ → fi). Not to the whole
  text: NFKC would also turn Chinese punctuation into ASCII (，→ , ：→ : （）→ ()) and …… into ......,
  changing what members read.
* A map for the CJK Radicals Supplement (U+2E80–2EFF) and CJK Strokes (U+31C0–31EF), which NFKC leaves
  alone (only ⺟ and ⻳ have compatibility mappings): Unicode's EquivalentUnifiedIdeograph.txt (15.0).
"""
from __future__ import annotations

import re
import unicodedata

_RADICALS = (
    "⺁⺂⺃⺄⺅⺆⺇⺈⺉⺊⺋⺌⺍⺎⺏⺐⺑⺒⺓⺔⺕⺖⺗⺘"
    "⺙⺛⺜⺝⺞⺟⺠⺡⺢⺣⺤⺥⺦⺧⺨⺩⺪⺫⺬⺭⺮⺯⺰⺱"
    "⺲⺳⺴⺵⺶⺷⺸⺹⺺⺻⺼⺽⺾⺿⻀⻁⻂⻃⻄⻅⻆⻇⻈⻉"
    "⻊⻋⻌⻍⻎⻏⻐⻑⻒⻓⻔⻕⻖⻗⻘⻙⻚⻛⻜⻝⻞⻟⻠⻡"
    "⻢⻣⻤⻥⻦⻧⻨⻩⻪⻫⻬⻭⻮⻯⻰⻱⻲⻳㇆㇏㇐㇑㇒㇓"
    "㇔㇕㇖㇗㇘㇙㇚㇛㇜㇝㇞㇟㇠㇡"
)
_IDEOGRAPHS = (
    "厂乛乚乙亻冂𠘨刀刂卜㔾小小兀尣尢𡯂巳幺彑𫜹忄心扌"
    "攵旡日月歺母民氵氺灬爫爫丬牛犭王𤴔目示礻𥫗糹纟罓"
    "罒㓁冗𦉫羊𦍌𦍋耂肀聿肉𦥑艹艹艹虎衤覀西见角𧢲讠贝"
    "𧾷车辶辶辶邑钅長镸长门𨸏阝雨青韦页风飞食𩙿飠饣𩠐"
    "马骨鬼鱼鸟卤麦黄黾斉齐歯齿竜龙龜亀龟𠃌乀一丨丿丿"
    "丶𠃍乛𠃊𠃎𠄌亅𡿨𠃋乀𠃑乚乙𠄎"
)
_RADICAL_MAP = str.maketrans(dict(zip(_RADICALS, _IDEOGRAPHS)))
_COMPATIBILITY = re.compile("[\u2f00-\u2fdf\uf900-\ufaff\ufb00-\ufb06\U0002f800-\U0002fa1f]")


def _nfkc(match: re.Match) -> str:
    return unicodedata.normalize("NFKC", match.group())


def normalize_document_text(text: str) -> str:
    """``text`` with radical, stroke and compatibility look-alikes replaced by the ideographs meant."""
    return _COMPATIBILITY.sub(_nfkc, text).translate(_RADICAL_MAP)
