"""Document spaces: the shared library and each user's private space, in one index.

A private document is a file under `corpus/private/<user>/`; its doc id therefore starts
with `private/<user>/`, and that prefix is the only record of whose it is (it survives a
rebuilt index, a copied corpus and a restored backup). Everything else in the corpus
folder is the shared library.

A `User` sees the shared library and their own space; a question is searched, a document
named, listed, briefed, removed or shown on its page only within what its user sees.
`None` for the user is the one person of a laptop with no accounts: they see everything.

Roles: a reader asks and adds to their own space; an editor also adds to and removes from
the shared library; an admin also reads every user's answer records (not their documents).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

PRIVATE_DIR = "private"
ROLES = ("reader", "editor", "admin")
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")


@dataclass(frozen=True)
class User:
    name: str
    role: str = "reader"

    @property
    def edits_shared(self) -> bool:
        return self.role in ("editor", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def owner_of(doc_id: str) -> str | None:
    """The user whose private space holds `doc_id`, or None for the shared library."""
    parts = doc_id.split("/")
    return parts[1] if len(parts) >= 3 and parts[0] == PRIVATE_DIR else None


def sees(user: User | None, doc_id: str) -> bool:
    owner = owner_of(doc_id)
    return user is None or owner is None or owner == user.name


def visible(user: User | None, doc_ids: Iterable[str]) -> list[str]:
    return [d for d in doc_ids if sees(user, d)]


def allowed(user: User | None, doc_ids: Collection[str]) -> tuple[str, ...] | None:
    """The documents a search by `user` may look in, or None when that is all of them
    (searched as before, with no selector)."""
    seen = visible(user, doc_ids)
    return None if len(seen) == len(doc_ids) else tuple(seen)


def space_folder(corpus_dir: Path, user: User | None, shared: bool) -> Path:
    """Where an upload by `user` goes: their private space unless `shared` (an editor's
    choice) or there are no accounts."""
    if user is None or shared:
        return corpus_dir
    return corpus_dir / PRIVATE_DIR / user.name


def is_name(name: str) -> bool:
    """A user name: lower-case letters, digits, '.', '_' and '-', at most 32 (it names a
    folder)."""
    return bool(NAME.match(name))
