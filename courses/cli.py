"""``flask --app app materials import DIR``: bulk-import documents into the study materials library."""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from accounts import services as account_services
from core import storage
from core.bulk import bulk_writes
from core.extensions import db
from core.storage import UploadError
from courses.materials import DuplicateMaterial, add_material
from courses.models import Audience

# Files tried by a folder import. The content still decides the type (a .txt holding an EXE is
# refused); the names only keep data files such as .jsonl and .csv out of the library.
DOCUMENT_SUFFIXES = {".pdf", ".docx", ".txt", ".md", ".markdown"}


@dataclass
class ImportReport:
    imported: list[Path] = field(default_factory=list)
    duplicates: list[tuple[Path, str]] = field(default_factory=list)  # (file, title already in the library)
    failed: list[tuple[Path, str]] = field(default_factory=list)  # (file, reason)
    skipped: list[Path] = field(default_factory=list)  # not a document by its name
    ignored: list[Path] = field(default_factory=list)  # named in MATERIALS_IMPORT_IGNORE (README, SOURCES …)


def candidate_files(folder: Path) -> list[Path]:
    """Every file under ``folder`` (recursively, sorted), hidden files and folders left out."""
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def ignore_patterns() -> list[str]:
    """``MATERIALS_IMPORT_IGNORE`` as lower-case patterns (a list, or a comma-separated string from the
    environment)."""
    value = current_app.config.get("MATERIALS_IMPORT_IGNORE") or ()
    if isinstance(value, str):
        value = value.split(",")
    return [p.strip().lower() for p in value if p and p.strip()]


def is_ignored(path: Path, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(path.name.lower(), pattern) for pattern in patterns)


def import_folder(folder: Path, *, category: str = "", audience: Audience = Audience.PUBLIC, org=None,
                  batch_size: int = 50, progress=None, on_problem=None) -> ImportReport:
    """Import every document under ``folder``; one bad file never stops the rest. Commits every
    ``batch_size`` imports (and at the end). ``on_problem(path, reason)`` hears each failure.
    The search index is brought up to date once, at the end (not after every commit: ``core.bulk``)."""
    with bulk_writes():
        return _import_files(folder, category=category, audience=audience, org=org, batch_size=batch_size,
                             progress=progress, on_problem=on_problem)


def _import_files(folder: Path, *, category: str, audience: Audience, org, batch_size: int, progress,
                  on_problem) -> ImportReport:
    report = ImportReport()
    files = candidate_files(folder)
    ignore = ignore_patterns()
    batch: list[tuple[Path, str]] = []  # imported since the last commit: (file, storage key)

    def commit_batch() -> None:
        try:
            db.session.commit()
        except SQLAlchemyError as error:  # the whole batch is lost: say so, and drop its files
            db.session.rollback()
            for lost, key in batch:
                report.imported.remove(lost)
                report.failed.append((lost, _("保存失败：%(error)s", error=type(error).__name__)))
                storage.discard(key)
        batch.clear()

    for path in (progress(files) if progress else files):
        if is_ignored(path, ignore):
            report.ignored.append(path)
            continue
        if path.suffix.lower() not in DOCUMENT_SUFFIXES:
            report.skipped.append(path)
            continue
        try:
            added = add_material(path, category=category, audience=audience, org=org)
        except DuplicateMaterial as duplicate:
            report.duplicates.append((path, duplicate.existing.title))
            continue
        except UploadError as error:
            reason = error.message
        except OSError as error:
            reason = _("无法读取文件：%(error)s", error=error.strerror or str(error))
        except SQLAlchemyError:
            raise
        except Exception as error:  # a bug in a parser must not stop the import of the other files
            reason = _("意外错误：%(error)s", error=f"{type(error).__name__}: {error}")
        else:
            report.imported.append(path)
            batch.append((path, added.file_key))
            if len(batch) >= batch_size:
                commit_batch()
            continue
        report.failed.append((path, reason))
        if on_problem:
            on_problem(path, reason)
    commit_batch()
    return report


materials_cli = click.Group("materials", help="Study materials library (学习资料库).")


@materials_cli.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--category", default="", help="Category for every imported material (分类).")
@click.option("--audience", type=click.Choice([a.value for a in Audience]), default=Audience.PUBLIC.value,
              show_default=True, help="public: every learner; members: party members only.")
@click.option("--org", "org_code", default=None, help="Limit to this organization's subtree (its code).")
@click.option("--batch-size", default=50, show_default=True, help="Commit after this many imports.")
@with_appcontext
def import_command(folder: Path, category: str, audience: str, org_code: str | None, batch_size: int):
    """Import every PDF, DOCX, TXT and Markdown file under FOLDER (recursively).

    Titles come from the documents (first heading, PDF/DOCX metadata title, first line; the year or
    edition added where the document gives it), else from the file name. Files named in
    MATERIALS_IMPORT_IGNORE (README*, SOURCES*, LICENSE*) are skipped, and so are files with the same
    content as a material already in the library; a file that cannot be read is reported with the
    reason and the import goes on.
    """
    org = None
    if org_code:
        org = account_services.organization_by_code(org_code)
        if org is None:
            raise click.BadParameter(_("没有这个组织编码：%(code)s", code=org_code), param_hint="--org")
    problems: list[str] = []

    def progress(files):
        with click.progressbar(files, label=_("导入资料"), show_pos=True,
                               item_show_func=lambda p: p.name if p else "") as bar:
            yield from bar

    report = import_folder(folder, category=category, audience=Audience(audience), org=org,
                           batch_size=max(1, batch_size), progress=progress,
                           on_problem=lambda path, reason: problems.append(f"{path}: {reason}"))
    for line in problems:
        click.echo(_("无法导入 %(line)s", line=line), err=True)
    for path in report.skipped:
        click.echo(_("跳过（不是文档）：%(path)s", path=path))
    for path in report.ignored:
        click.echo(_("跳过（在忽略列表 MATERIALS_IMPORT_IGNORE 中）：%(path)s", path=path))
    click.echo(_("完成：导入 %(imported)d 个，重复 %(duplicates)d 个，失败 %(failed)d 个，跳过 %(skipped)d 个。",
                 imported=len(report.imported), duplicates=len(report.duplicates), failed=len(report.failed),
                 skipped=len(report.skipped) + len(report.ignored)))
