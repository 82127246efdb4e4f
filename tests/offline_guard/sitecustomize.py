"""Refuse, and write down, every network connection that would leave this machine (tests).

Put this folder on PYTHONPATH: every Python process started with it, and every child
that inherits the variable, refuses connections and name lookups for anything but the
loopback interface, and appends each attempt to the file named by OFFLINE_GUARD_LOG.
The offline test runs the product under it, inside a network namespace that has only
loopback, and then requires that file to be empty.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from pathlib import Path

_LOG = os.environ.get("OFFLINE_GUARD_LOG", "")
_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "", None}


def _record(what: str) -> None:
    if _LOG:
        import sys
        import traceback

        caller = "; ".join(
            f"{Path(f.filename).name}:{f.lineno}" for f in traceback.extract_stack()[-8:-2]
        )
        with open(_LOG, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {what} by {Path(sys.argv[0]).name} at {caller}\n")


def _is_local(host: object) -> bool:
    if host in _LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _refuse(what: str) -> OSError:
    _record(what)
    return OSError(errno.ENETUNREACH, f"offline: refused {what}")


_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_sendto = socket.socket.sendto
_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):  # type: ignore[index]
        raise _refuse(f"connect {address!r}")
    return _connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):  # type: ignore[index]
        _record(f"connect_ex {address!r}")
        return errno.ENETUNREACH
    return _connect_ex(self, address)  # type: ignore[arg-type]


def _guarded_sendto(self: socket.socket, data: bytes, *args: object) -> int:
    address = args[-1]
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):  # type: ignore[index]
        raise _refuse(f"sendto {address!r}")
    return _sendto(self, data, *args)  # type: ignore[arg-type]


def _guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
    if not _is_local(host):
        _record(f"getaddrinfo {host!r}")
        raise socket.gaierror(socket.EAI_NONAME, f"offline: refused lookup of {host!r}")
    return _getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.socket.sendto = _guarded_sendto  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo  # type: ignore[assignment]
