# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The audit log record format of ttahub.ops: a hash-chained JSON lines file.

PRIVATE to the collection. It can have breaking changes at any time.

One record per line. Every record has ``time`` (UTC, ISO 8601 with microseconds and ``Z``), ``run_id``, ``event``,
``prev`` and ``hash``, plus flat fields that never hold secrets. ``hash`` is the SHA-256 hex digest of the record's
canonical JSON without ``hash``; ``prev`` is the previous record's ``hash`` (64 zeros for the first record).

Canonical JSON is ``json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)``
encoded as ASCII: the defaults of :func:`json.dumps` apart from the separators, so any JSON library can re-create it
(non-ASCII text is written as ``\\uXXXX`` escapes and the file is pure ASCII). Each line of the file is exactly the
canonical JSON of the whole record (``hash`` included) followed by ``\\n``; :func:`verify` rejects any other spelling.

Writers: the ``ttahub.ops.audit_log`` callback and out-of-process writers (the SSH watchdog) all call
:func:`append_record`, which takes an exclusive ``fcntl.flock`` on the file, so records from several processes chain
correctly. Standard library only: module_utils, the callback and plain scripts import this file.
"""

from __future__ import annotations

import collections.abc as _c
import datetime
import fcntl
import hashlib
import json
import math
import os
import re
import typing as t
from ansible_collections.ttahub.ops.plugins.module_utils import _runtime
from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError

__all__ = [
    "GENESIS",
    "MASK",
    "REQUIRED_FIELDS",
    "AuditLogError",
    "VerifyResult",
    "append_record",
    "canonical",
    "default_path",
    "is_secret_key",
    "record_hash",
    "redact",
    "redact_text",
    "utc_now",
    "verify",
]

GENESIS = "0" * 64
"""The ``prev`` of the first record of a log."""

MASK = "********"
"""What a secret value is replaced with."""

REQUIRED_FIELDS = ("time", "run_id", "event", "prev", "hash")
"""Fields every record has; ``append_record`` sets them, so callers must not pass them as fields."""

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TAIL_BLOCK = 65536


class AuditLogError(OpsError):
    """The audit log cannot be written. The message says what to do."""

    kind = "audit_log_failed"


class VerifyResult(t.NamedTuple):
    """The outcome of :func:`verify`.

    ``count`` is the number of records that verified before the first broken one (all of them when ``ok``);
    ``first_bad_line`` is the 1-based line number of the first broken record (``None`` when ``ok`` or when the file
    cannot be read at all); ``reason`` says what is wrong with it; ``last_hash`` is the ``hash`` of the last good
    record (``None`` for an empty log). A hash chain cannot show that records were cut from the end of the log: keep
    ``last_hash`` elsewhere (a CI artifact, a ticket) to detect that.
    """

    ok: bool
    count: int
    first_bad_line: int | None
    reason: str | None
    last_hash: str | None = None


# ---------------------------------------------------------------------------------------------------------------------
# The record format


def canonical(record: _c.Mapping[str, t.Any]) -> bytes:
    """The canonical JSON of ``record``: sorted keys, no spaces, ASCII only (``\\uXXXX`` escapes), no NaN."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def record_hash(record: _c.Mapping[str, t.Any]) -> str:
    """SHA-256 hex digest of the canonical JSON of ``record`` without its ``hash`` field."""
    body = {key: value for key, value in record.items() if key != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


def utc_now() -> str:
    """The current time as UTC ISO 8601 with microseconds and ``Z``, e.g. ``2026-11-28T09:15:02.123456Z``."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_path() -> str:
    """``audit.jsonl`` in the state folder (``_runtime.state_dir``)."""
    return os.path.join(_runtime.state_dir(), "audit.jsonl")


# ---------------------------------------------------------------------------------------------------------------------
# Redaction: nothing secret reaches the log

# A key is secret when its lowercase name, with "-" and " " read as "_", contains one of these...
_SECRET_KEY_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "authorization",
    "private_key",
    "privatekey",
    "api_key",
    "apikey",
    "credential",
    "cookie",
    "session_key",
)
# ...or is one of these (one-time codes: `cf ssh-code`, OTPs).
_SECRET_KEY_NAMES = frozenset(("code", "ssh_code", "sshcode", "one_time_code", "passcode", "otp", "pwd", "pass"))

_TEXT_PATTERNS = (
    # PEM private keys (RSA, EC, OPENSSH, ENCRYPTED, ...), also when cut off before the END line.
    (
        re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END \1PRIVATE KEY-----|\Z)", re.S),
        "-----BEGIN \\1PRIVATE KEY----- " + MASK + " -----END \\1PRIVATE KEY-----",
    ),
    # HTTP authorization: "Authorization: Bearer abc", "bearer abc", "Basic abc".
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{6,}"), "\\1\\2" + MASK),
    # key=value / key: value where the key looks secret ("CF_PASSWORD=x", "--password=x", "token: x", '"secret": "x"').
    (
        re.compile(
            r"(?i)((?<![\w-])[\w-]{0,64}?(?:password|passwd|passphrase|secret|token|authorization|api[_-]?key|"
            r"private[_-]?key|ssh[_-]?code|passcode)[\w-]{0,64}[\"']?\s*[=:]\s*)(?![\"']?\*{8})"
            r"(\"[^\"]*\"|'[^']*'|[^\s,;&\"'}\]]+)"
        ),
        "\\1" + MASK,
    ),
    # Credentials in URLs: scheme://user:password@host.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,30}://[^/\s:@]{1,256}:)[^/\s@]{1,256}@"), "\\1" + MASK + "@"),
    # GitHub tokens and JWTs (UAA access and refresh tokens are JWTs).
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
)


def is_secret_key(key: t.Any) -> bool:
    """Whether a mapping key names a secret (password, passwd, token, secret, code, authorization, private key...)."""
    name = re.sub(r"[\s-]+", "_", str(key).strip().lower())
    return name in _SECRET_KEY_NAMES or any(part in name for part in _SECRET_KEY_PARTS)


def redact_text(text: str) -> str:
    """``text`` with secret-looking parts masked: private key blocks, bearer tokens, ``password=...``, URL passwords."""
    text = str(text)
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(value: t.Any, text_filter: _c.Callable[[str], str] | None = None) -> t.Any:
    """A plain-JSON copy of ``value`` with every secret masked, recursively.

    Values under secret-looking keys (:func:`is_secret_key`) become :data:`MASK` (``None`` and booleans are kept: they
    cannot hold a secret). Every string goes through :func:`redact_text` and then ``text_filter`` (the callback passes
    ansible-core's ``mask_secrets`` there). Tuples and sets become lists, other objects their ``str()``, so the result
    always serializes with :func:`canonical`.
    """

    def text(item: t.Any) -> str:
        out = redact_text(str(item))
        return text_filter(out) if text_filter is not None else out

    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return text(value)
    if isinstance(value, _c.Mapping):
        out = {}
        for key, item in value.items():
            name = text(key)
            if is_secret_key(key) and item is not None and not isinstance(item, bool):
                out[name] = MASK
            else:
                out[name] = redact(item, text_filter)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [redact(item, text_filter) for item in items]
    if isinstance(value, bytes):
        return text(value.decode("utf-8", errors="replace"))
    return text(value)


# ---------------------------------------------------------------------------------------------------------------------
# Checking one line


def _no_duplicates(pairs: list[tuple[str, t.Any]]) -> dict[str, t.Any]:
    out: dict[str, t.Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _check_line(raw: bytes) -> tuple[dict[str, t.Any] | None, str | None]:
    """Parse one line of the log (with its newline) and check it on its own: ``(record, None)`` or ``(None, reason)``.

    Checks everything but ``prev``, which needs the record before.
    """
    if not raw.endswith(b"\n"):
        ended = False
    else:
        ended = True
        raw = raw[:-1]
    if not raw.strip():
        return None, "empty line (records are never blank)"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return None, f"bad JSON (not UTF-8 at byte {err.start}): the line is damaged"
    try:
        record = json.loads(text, object_pairs_hook=_no_duplicates)
    except ValueError as err:
        return None, f"bad JSON ({err}): the line is damaged or was cut short"
    if not isinstance(record, dict):
        return None, "bad JSON (not an object): the line is not an audit record"
    missing = [name for name in REQUIRED_FIELDS if name not in record]
    if missing:
        return None, f"missing field {', '.join(missing)}"
    for name in ("time", "run_id", "event"):
        if not isinstance(record[name], str) or not record[name]:
            return None, f"bad field {name} (must be a non-empty string)"
    for name in ("prev", "hash"):
        if not isinstance(record[name], str) or not _HEX64.match(record[name]):
            return None, f"bad field {name} (must be 64 lowercase hex digits)"
    if record_hash(record) != record["hash"]:
        return None, "hash mismatch (the record was changed after it was written)"
    if canonical(record) != raw:
        return None, "not canonical JSON (the line was re-formatted or edited after it was written)"
    if not ended:
        return None, "no newline at the end (the write was cut short)"
    return record, None


# ---------------------------------------------------------------------------------------------------------------------
# Writing


def _make_private_dirs(directory: str) -> None:
    """Create ``directory`` and any missing parents with mode 0700; leave existing directories alone."""
    missing = []
    current = directory
    while current and not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        os.chmod(path, 0o700)  # mkdir applies the umask


def _last_line(fd: int, size: int) -> tuple[bytes, int]:
    """The last line of the open file (with its newline, if any) and its offset, reading backwards in blocks."""
    buf = b""
    pos = size
    while pos > 0:
        step = min(_TAIL_BLOCK, pos)
        pos -= step
        buf = os.pread(fd, step, pos) + buf
        cut = buf.rfind(b"\n", 0, len(buf) - 1)
        if cut != -1:
            return buf[cut + 1:], pos + cut + 1
    return buf, 0


def _line_number(fd: int, offset: int) -> int:
    """The 1-based number of the line that starts at ``offset``."""
    count = 0
    pos = 0
    while pos < offset:
        chunk = os.pread(fd, min(_TAIL_BLOCK, offset - pos), pos)
        if not chunk:
            break
        count += chunk.count(b"\n")
        pos += len(chunk)
    return count + 1


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def append_record(path: str, event: str, run_id: str, /, **fields: t.Any) -> dict[str, t.Any]:
    """Append one record to the audit log at ``path`` and return it (with ``time``, ``prev`` and ``hash``).

    Creates missing parent directories with mode 0700 and the file with mode 0600. Holds an exclusive ``flock`` on
    the file while it reads the last record's hash, writes the new line in one ``write`` and ``fsync``s, so several
    processes can append to one log. ``fields`` go through :func:`redact` first; they may not be named ``time``,
    ``run_id``, ``event``, ``prev`` or ``hash``.

    Only the last record is checked (its own hash), so an append costs the same however long the log is; run
    :func:`verify` for the whole chain. Raises :class:`AuditLogError` when the file cannot be written or its last line
    is not a valid record (it never appends after a broken line: that would hide where the log broke).
    """
    if not isinstance(event, str) or not event:
        raise ValueError("event must be a non-empty string")
    if not isinstance(run_id, str) or not run_id:
        raise ValueError("run_id must be a non-empty string")
    reserved = sorted(set(fields) & set(REQUIRED_FIELDS))
    if reserved:
        raise ValueError(f"fields may not be named {', '.join(reserved)}: append_record sets them")
    path = os.path.abspath(os.path.expanduser(path))
    body = redact(fields)
    try:
        _make_private_dirs(os.path.dirname(path))
        created = not os.path.exists(path)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as err:
        raise AuditLogError(
            f"open the audit log {path}", str(err.strerror or err),
            "Check that its directory is writable by you, or set TTAHUB_OPS_AUDIT_LOG (or ops_audit_log) to a writable path",
        ) from err
    try:
        if created:
            os.fchmod(fd, 0o600)  # os.open applies the umask
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        prev = GENESIS
        if size:
            line, offset = _last_line(fd, size)
            last, reason = _check_line(line)
            if last is None:
                number = _line_number(fd, offset)
                raise AuditLogError(
                    f"append to the audit log {path}",
                    f"refused: its last line ({number}) is not a valid record: {reason}",
                    f"Keep the file as evidence and move it aside (for example `mv {path} {path}.broken`) so that a new "
                    "log starts; ttahub.ops.audit_verify names the first broken record",
                    kind="audit_log_broken",
                )
            prev = last["hash"]
        record = dict(body)
        record.update(time=utc_now(), run_id=run_id, event=event, prev=prev)
        record["hash"] = record_hash(record)
        _write_all(fd, canonical(record) + b"\n")
        os.fsync(fd)
    except OSError as err:
        raise AuditLogError(f"write the audit log {path}", str(err.strerror or err), "Check free space and permissions") from err
    finally:
        os.close(fd)  # also releases the lock
    if created:
        _fsync_dir(os.path.dirname(path))
    return record


def _fsync_dir(directory: str) -> None:
    """Make a new file's directory entry durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------------------------------
# Verifying


def verify(path: str) -> VerifyResult:
    """Check every record of the log at ``path`` and the chain between them; name the first broken record.

    Reasons start with one of: ``bad JSON``, ``missing field``, ``bad field``, ``hash mismatch``, ``prev mismatch``,
    ``not canonical JSON``, ``no newline at the end``, ``empty line``. An empty file verifies (0 records); a missing
    or unreadable file does not (``first_bad_line`` is then ``None``). Holds a shared ``flock`` while reading, so it
    never sees half of a concurrent append.
    """
    path = os.path.abspath(os.path.expanduser(path))
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return VerifyResult(False, 0, None, "the file does not exist")
    except OSError as err:
        return VerifyResult(False, 0, None, f"the file cannot be read ({err.strerror or err})")
    count = 0
    prev = GENESIS
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
            for number, raw in enumerate(handle, start=1):
                record, reason = _check_line(raw)
                if record is None:
                    return VerifyResult(False, count, number, reason, None if prev == GENESIS else prev)
                if record["prev"] != prev:
                    if number == 1:
                        reason = "prev mismatch (the first record must have prev = 64 zeros: records before it are gone)"
                    else:
                        reason = (
                            f"prev mismatch (it does not name record {number - 1}'s hash: records were removed, "
                            "inserted or reordered before it)"
                        )
                    return VerifyResult(False, count, number, reason, None if prev == GENESIS else prev)
                prev = record["hash"]
                count += 1
        except OSError as err:
            return VerifyResult(False, count, None, f"the file cannot be read ({err.strerror or err})")
    return VerifyResult(True, count, None, None, None if count == 0 else prev)
