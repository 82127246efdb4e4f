"""Accounts: argon2 passwords, API tokens kept as hashes, the file, and the rule that a
server on a network needs accounts."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from conftest import make_settings

from assistant.errors import AccountError, AssistantError
from assistant.ingest.spaces import User
from assistant.trust.accounts import Accounts, check_binding


def test_a_user_signs_in_with_their_password_only(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path)
    assert not accounts
    accounts.add("alice", "editor", "correct horse")
    assert accounts.sign_in("alice", "correct horse") == User("alice", "editor")
    assert accounts.sign_in("alice", "correct hors") is None
    assert accounts.sign_in("mallory", "correct horse") is None
    assert [(a.name, a.role, a.has_token) for a in accounts.list()] == [("alice", "editor", False)]


def test_nothing_secret_is_kept_in_clear(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path)
    accounts.add("alice", "reader", "correct horse")
    token = accounts.new_token("alice")
    text = (tmp_path / "users.json").read_text()
    assert "correct horse" not in text and token not in text
    assert json.loads(text)["users"]["alice"]["password"].startswith("$argon2id$")
    assert stat.S_IMODE((tmp_path / "users.json").stat().st_mode) == 0o600


def test_a_token_acts_as_its_user_until_replaced(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path)
    accounts.add("alice", "reader", "correct horse")
    accounts.add("bob", "admin", "battery staple")
    first = accounts.new_token("alice")
    assert accounts.by_token(first) == User("alice", "reader")
    assert accounts.by_token(first + "x") is None and accounts.by_token("") is None
    second = accounts.new_token("alice")
    assert accounts.by_token(first) is None
    assert accounts.by_token(second) == User("alice", "reader")
    accounts.remove("alice")
    assert accounts.by_token(second) is None
    assert accounts.sign_in("alice", "correct horse") is None


def test_a_second_reader_sees_changes_made_by_another(tmp_path: Path) -> None:
    """`assistant users add` while `serve` runs: the server's copy reads the file again."""
    server, command = Accounts(tmp_path), Accounts(tmp_path)
    assert not server
    command.add("carol", "reader", "long enough")
    assert server.sign_in("carol", "long enough") == User("carol", "reader")


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("Alice", "reader", "long enough", "cannot be a user name"),
        ("../etc", "reader", "long enough", "cannot be a user name"),
        ("alice", "owner", "long enough", "No role 'owner'"),
        ("alice", "reader", "short", "too short"),
    ],
)
def test_bad_accounts_are_refused_saying_why(
    tmp_path: Path, name: str, role: str, password: str, message: str
) -> None:
    with pytest.raises(AccountError, match=message):
        Accounts(tmp_path).add(name, role, password)
    assert not (tmp_path / "users.json").exists()


def test_unknown_and_duplicate_names(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path)
    accounts.add("alice", "reader", "long enough")
    with pytest.raises(AccountError, match="has an account already"):
        accounts.add("alice", "admin", "long enough")
    for change in (accounts.remove, accounts.new_token, accounts.user):
        with pytest.raises(AccountError, match="No account is called 'zed'"):
            change("zed")


def test_a_damaged_file_is_reported_not_taken_as_no_accounts(tmp_path: Path) -> None:
    (tmp_path / "users.json").write_text("{not json")
    with pytest.raises(AccountError, match="cannot be read"):
        bool(Accounts(tmp_path))


def test_a_server_on_the_network_needs_accounts(tmp_path: Path) -> None:
    assert check_binding(make_settings(tmp_path)) is None
    network = make_settings(tmp_path, ui={"host": "0.0.0.0"})
    with pytest.raises(AssistantError, match="Refusing to listen on 0.0.0.0 without accounts"):
        check_binding(network)
    Accounts(tmp_path / "data").add("admin", "admin", "long enough")
    assert check_binding(network) is not None
    assert check_binding(make_settings(tmp_path)) is not None  # accounts guard 127.0.0.1 too
