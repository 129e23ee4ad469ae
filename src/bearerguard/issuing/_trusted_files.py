"""Files the issuing side trusts: who could have written them, and how they are opened.

Whoever can write a key ring's directory or one of its files can swap keys and
forge every token. :func:`check_owner` refuses a path that group or others may
write, or that belongs to another user (root excepted); :func:`read_trusted`
reads a file only after checking the very file it opened; :func:`open_lock`
never follows a symbolic link. Nothing the issuing side reads from disk comes
near :data:`MAX_FILE_SIZE`.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .._errors import ConfigurationError

__all__ = ["MAX_FILE_SIZE", "check_owner", "check_trusted_file", "open_lock", "read_trusted"]

#: No manifest, JWK, PEM private key or clients file comes near 1 MiB.
MAX_FILE_SIZE = 1 << 20


def check_owner(path: Path, info: os.stat_result, what: str, chmod: str) -> None:
    """Refuse what another user could have written: group/other-writable, or not ours or root's."""
    if os.name != "posix":
        return
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022:
        raise ConfigurationError(
            f"{what} {path} is writable by group or others (mode {mode:04o}), so they could "
            f"swap its keys; refusing it: run `{chmod} {path}`"
        )
    uid = os.geteuid()
    if info.st_uid not in (uid, 0):
        raise ConfigurationError(
            f"{what} {path} belongs to uid {info.st_uid}, not to this user (uid {uid}) or root, "
            f"so that user could swap its keys; refusing it: run `chown {uid} {path}` "
            "(as root), or use a directory of your own"
        )


def check_trusted_file(path: Path, info: os.stat_result) -> None:
    """Refuse a key ring file that is not a regular file or that others could have written."""
    if not stat.S_ISREG(info.st_mode):
        raise ConfigurationError(f"{path} is not a regular file")
    check_owner(path, info, "key ring file", "chmod go-w")


def read_trusted(path: Path) -> bytes:
    """The bytes of a ring file, after checking who could have written it."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        check_trusted_file(path, os.fstat(fd))
        with os.fdopen(os.dup(fd), "rb") as stream:
            data = stream.read(MAX_FILE_SIZE + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_SIZE:
        raise ConfigurationError(f"{path} is too large for a key ring file")
    return data


def open_lock(path: Path) -> int:
    """Open (or create) the lock file; never through a symbolic link, never anything but a file."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP or path.is_symlink():
            raise ConfigurationError(
                f"lock file {path} is a symbolic link; refusing to follow it: remove it"
            ) from None
        raise ConfigurationError(f"cannot open lock file {path}: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigurationError(f"lock file {path} is not a regular file: remove it")
    except BaseException:
        os.close(fd)
        raise
    return fd
