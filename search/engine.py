"""Our own small search interface. The rest of the app talks to this, never to Whoosh, so a later
backend (Whoosh and its forks are unmaintained) is a change of this package only.

Documents carry what the index needs to filter by visibility (audience, organization limits) so result
counts and pages are right; the service still checks every shown result with ``courses.visibility``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Protocol

from search.query import ParsedQuery

KINDS = ("course", "lecture", "material")


def doc_key(kind: str, object_id: int) -> str:
    return f"{kind}:{object_id}"


@dataclass(frozen=True)
class IndexDocument:
    kind: str  # course, lecture, material
    id: int
    title: str
    body: str
    category: str = ""
    course_id: int | None = None
    members_only: bool = False  # the document or its course admits party learners only
    org_ids: tuple[int, ...] = ()  # organization limits (own and course's): every one must admit
    archived: bool = False

    @property
    def key(self) -> str:
        return doc_key(self.kind, self.id)


@dataclass(frozen=True)
class Access:
    """Who is searching, as the index filters it. ``None`` fields: no limit (staff)."""

    staff: bool = False
    members: bool = False  # may see members-only documents
    org_ids: tuple[int, ...] = ()  # the user's organization and its ancestors
    logged_in: bool = False  # lectures need a login


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    category: str | None = None
    course_id: int | None = None


@dataclass(frozen=True)
class Hit:
    kind: str
    id: int
    score: float
    title: str = ""
    partial: bool = False  # found by the relaxed search: holds some of the query's terms, not all


@dataclass
class HitPage:
    total: int
    hits: list[Hit] = field(default_factory=list)
    pinyin_fallback: bool = False  # nothing matched the text; these titles match it as pinyin
    total_is_estimate: bool = False  # the engine skipped matches that could not reach this page: about ``total``
    strict_total: int | None = None  # set when relaxed results follow: how many matched the whole query


Progress = Callable[[int], None]


class SearchEngine(Protocol):
    def applied_seq(self) -> int:
        """The index-log sequence number up to which (inclusive) the index is known complete."""

    def apply(self, upserts: Iterable[IndexDocument], deletes: Iterable[str], applied_seq: int) -> None:
        """Add or replace ``upserts``, remove the keys ``deletes``, record ``applied_seq``; atomically."""

    def search(self, query: ParsedQuery, access: Access, filters: Filters, offset: int, limit: int) -> HitPage:
        ...

    def rebuild(self, documents: Iterable[IndexDocument], applied_seq: int, progress: Progress | None = None,
                before_swap: Callable[["SearchEngine"], None] | None = None) -> None:
        """Build a fresh index from ``documents`` beside the live one and swap it in atomically.
        ``before_swap`` receives an engine on the new index (to catch up) while holding the write lock."""

    def writer_lock(self, blocking: bool = True):
        """A context manager: the one writer of this server's index (None when not acquired)."""

    def stats(self) -> dict:
        ...
