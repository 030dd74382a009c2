"""Uploaded files: type checked by content, stored under random names outside static/, served safely.

``save_upload`` copies an upload into ``UPLOAD_FOLDER`` through a temporary file (a failed or refused
upload leaves nothing behind), detects the type from the first bytes — never from the file name — and
enforces the configured size limits. ``send_stored`` serves a stored file with HTTP Range support,
``Content-Disposition`` (RFC 5987 ``filename*`` for Chinese names) and ``X-Content-Type-Options: nosniff``.

A stored file is named by its key, ``ab/cd/<32 hex>.<ext>``: two shard folders and a random name.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from flask import Response, abort, current_app, send_file
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from core.text import single_line

VIDEO_KINDS = frozenset({"mp4", "webm"})
DOCUMENT_KINDS = frozenset({"pdf", "docx", "txt", "md"})
IMAGE_KINDS = frozenset({"png", "jpeg", "webp"})

MIME_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "txt": "text/plain; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}
EXTENSIONS = {"jpeg": "jpg"}  # the file extension of a kind, when it differs from the kind's name
KIND_LABELS = {"pdf": "PDF", "docx": "Word (DOCX)", "txt": "TXT", "md": "Markdown", "mp4": "MP4",
               "webm": "WebM", "png": "PNG", "jpeg": "JPEG", "webp": "WebP"}

_CONTROL_CHARS = re.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f-\x9f]")  # Cc except tab, newlines, form feed
_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}\.[a-z0-9]{2,4}$")
_CHUNK = 1024 * 1024
_HEAD = 4096
# DOCX is a zip: refuse archives with a member inflating beyond ZIP_MAX_MEMBER_BYTES (document.xml is the text)
# or all members together beyond ZIP_MAX_INFLATED_BYTES (zipfile never inflates past a member's declared size).
ZIP_MAX_MEMBER_BYTES = 50 * 1024 * 1024
ZIP_MAX_INFLATED_BYTES = 100 * 1024 * 1024
# A document smaller than this cannot hold a page of text (a 4-byte "bad.exe" is not a material).
MIN_DOCUMENT_BYTES = 12
# Programs, refused whatever else their bytes look like: by their first bytes (Windows PE, ELF, Mach-O, scripts),
# and, for text (whose kind the bytes alone cannot tell), by a program's file name.
_EXECUTABLE_HEADS = (b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa", b"\xca\xfe\xba\xbe", b"#!")
_EXECUTABLE_NAMES = (".exe", ".com", ".bat", ".cmd", ".scr", ".msi", ".dll", ".ps1", ".vbs", ".js", ".jar", ".sh",
                     ".apk", ".app", ".pif", ".cpl", ".lnk")
# Image brands that also use the ISO base media "ftyp" box; they are not videos.
_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"mif1", b"msf1", b"avif", b"avis"}


class UploadError(Exception):
    """An upload was refused; ``message`` is shown to the user (Chinese, translated)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class StoredFile:
    key: str  # storage key, the only name the database keeps
    kind: str  # one of MIME_TYPES' keys
    mime: str
    size: int
    sha256: str  # of the stored bytes (text re-encoded to UTF-8 is hashed as stored)
    path: Path
    filename: str  # the uploaded name made harmless, with the extension the content deserves


def upload_root() -> Path:
    """``UPLOAD_FOLDER``; unset means ``instance/uploads``, a relative path is taken from instance/."""
    configured = current_app.config.get("UPLOAD_FOLDER")
    instance = Path(current_app.instance_path)
    root = Path(configured) if configured else instance / "uploads"
    return root if root.is_absolute() else instance / root


def path_for(key: str) -> Path:
    """The file stored under ``key``. A key that is not ours (``../`` tricks) raises ValueError."""
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError(f"not a storage key: {key!r}")
    return upload_root() / key


def discard(key: str | None) -> None:
    """Remove a stored file (an upload refused after storing, e.g. a duplicate). Missing is fine."""
    if not key:
        return
    try:
        path_for(key).unlink(missing_ok=True)
    except ValueError:
        pass


def limit_for(kind: str) -> int:
    config = current_app.config
    if kind in VIDEO_KINDS:
        return int(config["MAX_VIDEO_BYTES"])
    if kind in IMAGE_KINDS:
        return int(config["MAX_IMAGE_BYTES"])
    return int(config["MAX_DOCUMENT_BYTES"])


def format_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.0f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} B"


def allowed_label(allowed) -> str:
    return "、".join(KIND_LABELS[k] for k in sorted(allowed, key=list(MIME_TYPES).index))


def save_upload(file, *, allowed: set[str] | frozenset[str], max_bytes: int | None = None) -> StoredFile:
    """Store ``file`` (a FileStorage, a path or a binary stream) if its content is one of ``allowed``.

    Raises UploadError with a message for the user when the file is empty, too large, of another
    type, or (text) not decodable. Nothing is left in the upload folder when it raises.
    """
    unknown = set(allowed) - set(MIME_TYPES)
    if unknown:
        raise ValueError(f"unknown kinds: {unknown}")
    stream, original_name, close = _open(file)
    ceiling = max_bytes if max_bytes is not None else max(limit_for(k) for k in allowed)
    root = upload_root()
    tmp_dir = root / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp_path = tmp_dir / (secrets.token_hex(16) + ".part")
    try:
        size, head = _copy(stream, tmp_path, ceiling)
        if size == 0:
            raise UploadError(_("文件是空的，请选择一个有内容的文件。"))
        kind = detect_kind(head, tmp_path, original_name, allowed)
        if kind == "broken-zip" and "docx" in allowed:
            raise UploadError(_("无法读取这个 Word 文件：文件已损坏或不完整。"))
        if kind not in allowed:
            raise UploadError(_("不支持这种文件类型。可以上传：%(kinds)s。", kinds=allowed_label(allowed)))
        refuse_programs_and_scraps(kind, head, size, original_name)
        limit = max_bytes if max_bytes is not None else limit_for(kind)
        if size > limit:
            raise UploadError(_("文件太大：不能超过 %(limit)s。", limit=format_size(limit)))
        if kind in ("txt", "md"):
            size = _normalise_text(tmp_path)
        elif kind == "docx":
            check_zip_size(tmp_path)
        digest = _sha256(tmp_path)
        token = secrets.token_hex(16)
        key = f"{token[:2]}/{token[2:4]}/{token}.{EXTENSIONS.get(kind, kind)}"
        final = root / key
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp_path, final)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    finally:
        if close:
            stream.close()
    return StoredFile(key=key, kind=kind, mime=MIME_TYPES[kind], size=size, sha256=digest, path=final,
                      filename=safe_filename(original_name, kind))


def refuse_programs_and_scraps(kind: str, head: bytes, size: int, original_name: str) -> None:
    """Refuse a program (by its first bytes; text also by a program's file name) and a document too small to
    hold one. The kind itself stays decided by the content."""
    name = original_name.lower().strip()
    if head.startswith(_EXECUTABLE_HEADS) or (kind in ("txt", "md") and name.endswith(_EXECUTABLE_NAMES)):
        raise UploadError(_("不能上传程序文件。"))
    if kind in DOCUMENT_KINDS and size < MIN_DOCUMENT_BYTES:
        raise UploadError(_("文件太小（%(size)s 字节），不像是一份文档。", size=size))


def _open(file) -> tuple[BinaryIO, str, bool]:
    if isinstance(file, FileStorage):
        return file.stream, file.filename or "", False
    if isinstance(file, (str, os.PathLike)):
        return open(file, "rb"), os.path.basename(os.fspath(file)), True
    return file, getattr(file, "name", "") if isinstance(getattr(file, "name", None), str) else "", False


def _copy(stream: BinaryIO, target: Path, ceiling: int) -> tuple[int, bytes]:
    size = 0
    head = b""
    with open(target, "wb") as out:
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            if len(head) < _HEAD:
                head += chunk[: _HEAD - len(head)]
            size += len(chunk)
            if size > ceiling:
                raise UploadError(_("文件太大：不能超过 %(limit)s。", limit=format_size(ceiling)))
            out.write(chunk)
    return size, head


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def detect_kind(head: bytes, path: Path, original_name: str, allowed) -> str | None:
    """The kind of the file from its bytes (None: not one of ``allowed``; "broken-zip": a damaged zip,
    perhaps a Word file). The name only chooses between TXT and Markdown."""
    kind = _binary_kind(head, path)
    if kind is not None:
        return kind if kind in allowed or kind == "broken-zip" else None
    if not ({"txt", "md"} & set(allowed)):
        return None
    if _decode_text(path.read_bytes()) is None:
        return None
    wants_md = original_name.lower().endswith((".md", ".markdown"))
    if wants_md and "md" in allowed or "txt" not in allowed:
        return "md"
    return "txt"


def _binary_kind(head: bytes, path: Path) -> str | None:
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] not in _IMAGE_BRANDS:
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"\x42\x82" in head[:64] and b"webm" in head[:64] else "unknown"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return "broken-zip"
        return "docx" if "word/document.xml" in names else "unknown"
    if b"\x00" in head:
        return "unknown"  # binary of a kind we do not take (executables, archives ...)
    return None


def _decode_text(data: bytes) -> str | None:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK); None for binary data."""
    if b"\x00" in data:
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = len(_CONTROL_CHARS.findall(text))
        return text if controls <= len(text) // 100 else None
    return None


def _normalise_text(path: Path) -> int:
    """Re-save a text file as UTF-8 (no BOM); returns the new size."""
    data = path.read_bytes()
    text = _decode_text(data)
    encoded = text.encode("utf-8")
    if encoded != data:
        path.write_bytes(encoded)
    return len(encoded)


def zip_inflated_size(data: bytes) -> int | None:
    """What a ZIP (XLSX, DOCX) declares it inflates to, in bytes; None if it is no readable ZIP. zipfile never
    inflates a member past its declared size, so this bounds what reading it can cost."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def check_zip_size(path: Path) -> None:
    """UploadError if a DOCX (a zip) is unreadable or would inflate too far (a zip bomb)."""
    try:
        with zipfile.ZipFile(path) as archive:
            sizes = [info.file_size for info in archive.infolist()]
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UploadError(_("无法读取这个 Word 文件：文件已损坏或不完整。"))
    if max(sizes, default=0) > ZIP_MAX_MEMBER_BYTES or sum(sizes) > ZIP_MAX_INFLATED_BYTES:
        raise UploadError(_("无法读取这个 Word 文件：解压后的内容过大（正文不超过 %(mb)d MB）。",
                            mb=ZIP_MAX_MEMBER_BYTES // 2**20))


def safe_filename(name: str, kind: str) -> str:
    """The last component of ``name``, without control characters, ending in the kind's extension.

    ``../../etc/passwd`` becomes ``passwd.txt``; ``a.pdf.exe`` holding a PDF becomes ``a.pdf``.
    """
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().strip(".")
    ext = EXTENSIONS.get(kind, kind)
    valid = {f".{ext}", f".{kind}"} | ({".markdown"} if kind == "md" else set()) | (
        {".jpeg"} if kind == "jpeg" else set())
    stem, suffix = os.path.splitext(base)
    if suffix.lower() in valid:
        result = base
    elif os.path.splitext(stem)[1].lower() in valid:
        result = stem
    else:
        result = f"{stem or 'file'}.{ext}"
    return result[-200:] if len(result) > 200 else result


def send_stored(key: str, *, mime: str, download_name: str, as_attachment: bool) -> Response:
    """Serve a stored file: Range requests (206/416), conditional GET, Content-Disposition, nosniff."""
    try:
        path = path_for(key)
    except ValueError:
        abort(404)
    if not path.is_file():
        abort(404)
    download_name = single_line(download_name) or "file"  # a header value: one line (werkzeug encodes the rest)
    accel = current_app.config.get("UPLOAD_ACCEL_REDIRECT")
    if accel:  # behind nginx (deploy/nginx-ops.conf): nginx sends the file itself, with Range and conditionals
        response = send_file(path, mimetype=mime, as_attachment=as_attachment, download_name=download_name,
                             conditional=False, etag=False, max_age=0, use_x_sendfile=True)
        del response.headers["X-Sendfile"]
        response.headers["X-Accel-Redirect"] = accel.rstrip("/") + "/" + key.lstrip("/")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
        return response
    response = send_file(path, mimetype=mime, as_attachment=as_attachment, download_name=download_name,
                         conditional=True, etag=True, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
    response.headers.setdefault("Accept-Ranges", "bytes")
    return response
