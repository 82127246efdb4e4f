"""The accounts of a shared assistant: who may sign in, with what role, and API tokens.

One JSON file, `users.json` in the data folder (mode 0600), replaced whole and atomically
under a file lock, so `assistant users ...` can run while `assistant serve` does (the
server reads the file again when it changes). Passwords are kept only as argon2id hashes
(argon2-cffi); an API token is shown once, when it is made, and kept as its SHA-256: a
token is 32 random bytes, so a fast hash is safe and a request is checked without
argon2's deliberate cost.

No accounts: the assistant is one person's, reachable from this computer only
(`check_binding`). Roles are those of `ingest/spaces.py`.

Not done: lockout after failed sign-ins, password expiry, renaming a user.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AccountError, AssistantError
from ..ingest.spaces import ROLES, User, is_name
from ..settings import Settings

FILE_NAME = "users.json"
FORMAT = 1
MIN_PASSWORD = 8
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    has_token: bool
    created: str


class Accounts:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FILE_NAME
        self._lock = threading.Lock()
        self._cache: tuple[float, dict[str, Any]] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Accounts:
        return cls(settings.paths.data_dir)

    # ------------------------------------------------------------ reading

    def _read(self) -> dict[str, Any]:
        """The users by name, read again only when the file changed."""
        try:
            changed = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        with self._lock:
            if self._cache is None or self._cache[0] != changed:
                try:
                    data = json.loads(self.path.read_text("utf-8"))
                except (OSError, ValueError) as exc:
                    raise AccountError(
                        f"{self.path} cannot be read ({exc}): restore it from a backup, or "
                        "move it away and add the accounts again with `assistant users add`."
                    ) from exc
                if data.get("format") != FORMAT:
                    raise AccountError(
                        f"{self.path} has format {data.get('format')!r}, not {FORMAT}: it was "
                        "written by another version of the assistant."
                    )
                self._cache = (changed, data["users"])
            return self._cache[1]

    def __bool__(self) -> bool:
        return bool(self._read())

    def list(self) -> list[Account]:
        return [
            Account(name, u["role"], bool(u.get("token")), u["created"])
            for name, u in sorted(self._read().items())
        ]

    def user(self, name: str) -> User:
        found = self._read().get(name)
        if found is None:
            raise AccountError(f"No account is called '{name}': see `assistant users list`.")
        return User(name, found["role"])

    # ------------------------------------------------------------ checking

    def sign_in(self, name: str, password: str) -> User | None:
        """The user, if `password` is theirs; None otherwise (an unknown name costs the
        same argon2 check, so a wrong name and a wrong password cannot be told apart)."""
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError

        hasher = PasswordHasher()
        found = self._read().get(name)
        stored = found["password"] if found else _decoy()
        try:
            hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        return User(name, found["role"]) if found else None

    def by_token(self, token: str) -> User | None:
        digest = _token_hash(token)
        for name, u in self._read().items():
            if u.get("token") and secrets.compare_digest(u["token"], digest):
                return User(name, u["role"])
        return None

    # ------------------------------------------------------------ changing

    def add(self, name: str, role: str, password: str) -> User:
        from argon2 import PasswordHasher

        if not is_name(name):
            raise AccountError(
                f"'{name}' cannot be a user name: use lower-case letters, digits, '.', '_' "
                "or '-' (at most 32, starting with a letter or digit)."
            )
        if role not in ROLES:
            raise AccountError(f"No role '{role}': choose one of {', '.join(ROLES)}.")
        _check_password(password)
        hashed = PasswordHasher().hash(password)

        def change(users: dict[str, Any]) -> None:
            if name in users:
                raise AccountError(
                    f"'{name}' has an account already: `assistant users remove {name}` first."
                )
            users[name] = {"role": role, "password": hashed, "token": "", "created": _now()}

        self._change(change)
        return User(name, role)

    def set_password(self, name: str, password: str) -> None:
        from argon2 import PasswordHasher

        _check_password(password)
        hashed = PasswordHasher().hash(password)
        self._change(lambda users: self._known(users, name).update(password=hashed))

    def remove(self, name: str) -> None:
        def change(users: dict[str, Any]) -> None:
            self._known(users, name)
            del users[name]

        self._change(change)

    def new_token(self, name: str) -> str:
        """A new API token for `name`, replacing any earlier one; shown only now."""
        token = "pa-" + secrets.token_urlsafe(32)
        digest = _token_hash(token)
        self._change(lambda users: self._known(users, name).update(token=digest))
        return token

    def _known(self, users: dict[str, Any], name: str) -> dict[str, Any]:
        if name not in users:
            raise AccountError(f"No account is called '{name}': see `assistant users list`.")
        found: dict[str, Any] = users[name]
        return found

    def _change(self, change: Any) -> None:
        """Read, change and replace the file under its lock (0600: it holds hashes)."""
        from filelock import FileLock

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path) + ".lock"):
            try:
                users = json.loads(self.path.read_text("utf-8"))["users"]
            except FileNotFoundError:
                users = {}
            change(users)
            temporary = self.path.with_name(self.path.name + ".new")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"format": FORMAT, "users": users}, out, indent=1, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        with self._lock:
            self._cache = None


@functools.cache
def _decoy() -> str:
    """A hash of nothing, made once: checked for an unknown name so that it takes as long."""
    from argon2 import PasswordHasher

    return PasswordHasher().hash(secrets.token_hex(16))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"The password is too short: use at least {MIN_PASSWORD} characters.")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def check_binding(settings: Settings) -> Accounts | None:
    """The accounts that guard the server, or None for one person's laptop (bound to this
    computer, no accounts); refuses to listen on a network with no accounts."""
    accounts = Accounts.from_settings(settings)
    if accounts:
        return accounts
    if settings.ui.host in LOCAL_HOSTS:
        return None
    raise AssistantError(
        f"Refusing to listen on {settings.ui.host} without accounts: anyone on the network "
        "could read and change the library. Add one first, `assistant users add NAME --role "
        "admin`, or use --host 127.0.0.1."
    )
