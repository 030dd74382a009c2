"""Demo study materials: texts written for this project (courses/demo_texts/), plus a Word file and a
PDF generated here. Idempotent: a material whose title is already in the library is skipped.

``simple_pdf`` and ``simple_docx`` also serve tests that need real documents.
"""
from __future__ import annotations

import io
import zlib
from pathlib import Path

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from accounts import services as account_services
from core.extensions import db
from courses.materials import DuplicateMaterial, add_material
from courses.models import Audience, Material

TEXTS = Path(__file__).parent / "demo_texts"

PARTY_RIGHTS_OUTLINE = [
    "一、学习目的：了解党员应当履行的义务和享有的权利，把两者统一起来，增强党员意识。",
    "二、党员的义务（要点）：认真学习，提高为人民服务的本领；贯彻执行党的基本路线和各项方针、政策，"
    "带头参加改革开放和社会主义现代化建设；坚持党和人民的利益高于一切；自觉遵守党的纪律；"
    "维护党的团结和统一；切实开展批评和自我批评；密切联系群众；发扬社会主义新风尚。",
    "三、党员的权利（要点）：参加党的有关会议，阅读党的有关文件，接受党的教育和培训；"
    "在党的会议上和党报党刊上参加关于党的政策问题的讨论；对党的工作提出建议和倡议；"
    "在党的会议上有根据地批评党的任何组织和任何党员；行使表决权、选举权，有被选举权；"
    "在党组织讨论决定对党员的党纪处分或作出鉴定时，本人有权参加和进行申辩；"
    "对党的决议和政策如有不同意见，在坚决执行的前提下，可以声明保留，并且可以把自己的意见向党的上级组织直至中央提出；"
    "向党的上级组织直至中央提出请求、申诉和控告。",
    "四、讨论题：结合自己在社区的工作和生活，谈一谈怎样做到义务和权利相统一。",
    "五、学习建议：本提纲配合网络党校课程《党员权利与义务》使用，建议先学课程再读提纲，"
    "支部可以用一次党小组会集中讨论。",
]

MEETING_RECORD_PARAGRAPHS = [
    "说明：本表供党支部记录“三会一课”开展情况，每次活动结束后由支部组织委员填写，年底汇总存档。",
    "填写要求：时间写到日；参加人数包括列席人员；主要内容写明议题和形成的决定。",
]
MEETING_RECORD_TABLE = [
    ["活动类型", "时间", "参加人数", "主要内容"],
    ["支部党员大会", "第一季度", "23", "传达学习上级会议精神，讨论年度工作计划"],
    ["支部委员会会议", "每月", "5", "研究发展党员、志愿服务安排"],
    ["党小组会", "每月", "8", "学习党章第一章，交流学习体会"],
    ["党课", "七月", "25", "书记讲党课：做合格党员，当社区的明白人"],
]

VILLAGE_RULES_GBK = """文明家庭评选办法（试行）

一、评选范围：本社区常住家庭均可自愿参加。
二、评选条件：爱党爱国、遵纪守法；家庭和睦、尊老爱幼；邻里团结、热心公益；垃圾分类、环境整洁。
三、评选程序：家庭自荐或楼长推荐，社区公示七天，无异议的授予“文明家庭”称号。
四、其他：本办法由社区居民委员会负责解释。
"""

CATALOGUE = [
    # (title, file name, category, audience, org code limit or None, content maker)
    ("党建知识读本（社区党员简明版）", "党建知识读本.md", "理论学习", Audience.MEMBERS, None,
     lambda: (TEXTS / "party-basics-reader.md").read_bytes()),
    ("社区志愿服务手册", "社区志愿服务手册.txt", "志愿服务", Audience.PUBLIC, None,
     lambda: (TEXTS / "volunteer-handbook.txt").read_bytes()),
    ("垃圾分类指南（居民版）", "垃圾分类指南.txt", "社区生活", Audience.PUBLIC, None,
     lambda: (TEXTS / "waste-sorting-guide.txt").read_bytes()),
    ("党员权利与义务学习提纲", "党员权利与义务学习提纲.pdf", "理论学习", Audience.MEMBERS, None,
     lambda: simple_pdf("党员权利与义务学习提纲", PARTY_RIGHTS_OUTLINE)),
    ("党支部“三会一课”记录表", "三会一课记录表.docx", "组织生活", Audience.MEMBERS, None,
     lambda: simple_docx("党支部“三会一课”记录表", MEETING_RECORD_PARAGRAPHS, MEETING_RECORD_TABLE)),
    ("文明家庭评选办法（滨江街道）", "文明家庭评选办法.txt", "社区生活", Audience.PUBLIC, "LJ-01",
     lambda: VILLAGE_RULES_GBK.encode("gbk")),  # a GBK file, stored as UTF-8
]


def load() -> int:
    """Add the demo materials that are missing; returns how many were added. The caller commits."""
    existing = set(db.session.scalars(select(Material.title)))
    added = 0
    for title, filename, category, audience, org_code, make in CATALOGUE:
        if title in existing:
            continue
        org = account_services.organization_by_code(org_code) if org_code else None
        upload = FileStorage(stream=io.BytesIO(make()), filename=filename)
        try:
            add_material(upload, title=title, category=category, audience=audience, org=org)
        except DuplicateMaterial:
            continue
        added += 1
    db.session.flush()
    return added


def simple_docx(title: str, paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    """A Word document: a heading, paragraphs, and a table (first row a header)."""
    import docx

    document = docx.Document()
    document.add_heading(title, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        grid.style = "Table Grid"
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    document.add_paragraph("（完）")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _wrap(text: str, width: float) -> list[str]:
    lines = []
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for ch in paragraph:
            w = 0.5 if ord(ch) < 128 else 1.0
            if used + w > width:
                lines.append(line)
                line, used = "", 0.0
            line += ch
            used += w
        lines.append(line)
    return lines


def simple_pdf(title: str, paragraphs: list[str]) -> bytes:
    """A PDF with Chinese text (Adobe's STSong-Light, not embedded; a ToUnicode map makes the text
    extractable). A4 pages, 12 pt, wrapped by character count."""
    lines = _wrap(title, 24) + [""]
    for paragraph in paragraphs:
        lines += _wrap(paragraph, 40) + [""]
    per_page = 46
    pages = [lines[i:i + per_page] for i in range(0, len(lines), per_page)]
    objects: list[bytes | None] = []

    def add(body: bytes | None) -> int:
        objects.append(body)
        return len(objects)

    catalog, pages_id = add(None), add(None)
    cmap = ["/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
            "1 begincodespacerange", "<0000> <FFFF>", "endcodespacerange"]
    for start in range(0, 256, 100):  # UCS-2 codes map to themselves
        block = range(start, min(start + 100, 256))
        cmap += [f"{len(block)} beginbfrange"] + [f"<{h:02X}00> <{h:02X}FF> <{h:02X}00>" for h in block]
        cmap.append("endbfrange")
    cmap += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    cmap_bytes = "\n".join(cmap).encode()
    to_unicode = add(b"<< /Length %d >>\nstream\n" % len(cmap_bytes) + cmap_bytes + b"\nendstream")
    descriptor = add(b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880]"
                     b" /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>")
    cid_font = add(b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo"
                   b" << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> /FontDescriptor %d 0 R /DW 1000 >>"
                   % descriptor)
    font = add(b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light-UniGB-UCS2-H /Encoding /UniGB-UCS2-H"
               b" /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>" % (cid_font, to_unicode))
    kids = []
    for page_lines in pages:
        ops = ["BT", "/F1 12 Tf", "16 TL", "50 790 Td"]
        ops += ["<%s> Tj T*" % "".join(f"{ord(c):04X}" for c in line if ord(c) <= 0xFFFF) for line in page_lines]
        ops.append("ET")
        raw = zlib.compress("\n".join(ops).encode())
        content = add(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(raw) + raw + b"\nendstream")
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 %d 0 R"
                        b" >> >> /Contents %d 0 R >>" % (pages_id, font, content)))
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id
    objects[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref)
    return bytes(out)
