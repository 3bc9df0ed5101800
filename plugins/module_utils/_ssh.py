# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Over issue 12's 150 lines of code on purpose, for now: this file is to become a package, _ssh/ (fingerprints, tools,
# workspace, failures, instance, sftp session), on community.crypto's _acme/ model. It is not split yet because its
# fingerprint/public-key region is being replaced by the one OpenSSH key implementation in a parallel change; splitting
# it at the same time would collide with that. It is split once that change has landed.

"""OpenSSH towards the cloud.gov SSH proxy: host key pinning, the one-time code through SSH_ASKPASS, sftp batches.

PRIVATE to the collection. It can have breaking changes at any time.

* The proxy's host key is pinned from the fingerprint the Cloud Controller publishes (``cf curl /``,
  ``links.app_ssh.meta.host_key_fingerprint``): SHA-256 as base64 (cloud.gov's form, with or without ``SHA256:``), or
  MD5 / SHA-1 as hex. ``ssh-keyscan`` fetches the keys the proxy offers, only a key with that fingerprint is written
  to a private known_hosts file, and every connection runs with ``StrictHostKeyChecking=yes`` against that file alone:
  no ``StrictHostKeyChecking=no``, no trust on first use, the operator's own known_hosts and ssh config unused.
* The one-time code (``cf ssh-code``, one per connection) reaches ssh only through ``SSH_ASKPASS`` with
  ``SSH_ASKPASS_REQUIRE=force``: a helper script in a private 0700 folder prints it from an environment variable.
  The code is never on an argv, never in a file, never in a result; the folder is removed right after the call.
* Paths in sftp batch files are double-quoted with ``\\`` and ``"`` escaped: sftp then takes them literally (spaces,
  quotes, ``;``, ``$``, glob characters); NUL and line breaks are refused.
* An instance is resolved from the v3 API (:func:`resolve_instance`: app and process GUIDs, running state, whether
  SSH is allowed and why not, the proxy's endpoint and fingerprint); :class:`SftpSession` is the pinned proxy of one
  copy, one code per sftp batch. The local tree of a copy is ``_tree``'s.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import shutil
import tempfile
import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils import _proc
from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfError, CfNotFoundError, classify_failure
from ansible_collections.ttahub.ops.plugins.module_utils._cf.parsers import parse_guid, parse_ssh_code
from ansible_collections.ttahub.ops.plugins.module_utils._cf.session import session_base_dir

__all__ = [
    "ASKPASS_VARIABLE",
    "Fingerprint",
    "HostKeyMismatchError",
    "ListingEntry",
    "SftpSession",
    "SshError",
    "SshWorkspace",
    "classify_cf_ssh",
    "classify_ssh_failure",
    "executable_base_dir",
    "find_tool",
    "key_fingerprints",
    "parse_endpoint",
    "parse_fingerprint",
    "parse_keyscan",
    "parse_sftp_listing",
    "pin_host_key",
    "proxy_user",
    "resolve_instance",
    "run_tool",
    "sftp_quote",
    "ssh_enabled",
    "ssh_refused_hint",
]

ASKPASS_VARIABLE = "TTAHUB_OPS_SSH_CODE"
HOST_ALIAS = "cloud-gov-ssh-proxy"
KEY_TYPES = "ed25519,ecdsa,rsa"
# ssh's key type names -> the host key algorithms that use them (HostKeyAlgorithms)
_ALGORITHMS = {
    "ssh-ed25519": "ssh-ed25519",
    "ecdsa-sha2-nistp256": "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384": "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521": "ecdsa-sha2-nistp521",
    "ssh-rsa": "rsa-sha2-512,rsa-sha2-256",
}
ASKPASS_SCRIPT = (
    "#!/bin/sh\n"
    "# ttahub.ops: answers ssh's password prompt with the one-time code from the environment.\n"
    "printf '%s\\n' \"${" + ASKPASS_VARIABLE + "}\"\n"
)


class SshError(CfError):
    """A failed SSH operation, worded like every CfError: "Failed to <action>: <cause>. <hint>"."""

    kind = "ssh_error"


class HostKeyMismatchError(SshError):
    kind = "host_key_mismatch"


class SshPermissionDeniedError(SshError):
    kind = "ssh_permission_denied"


class SshConnectError(SshError):
    kind = "ssh_connect_failed"


class SshRemoteError(SshError):
    kind = "ssh_remote_error"


# ---------------------------------------------------------------------------------------------------------------------
# Fingerprints and endpoints
# ---------------------------------------------------------------------------------------------------------------------


class Fingerprint(t.NamedTuple):
    algorithm: str  # sha256, sha1, md5
    digest: bytes

    def display(self) -> str:
        if self.algorithm == "sha256":
            return "SHA256:" + base64.b64encode(self.digest).decode("ascii").rstrip("=")
        return self.algorithm.upper() + ":" + ":".join(f"{b:02x}" for b in self.digest)


_DIGEST_SIZES = {16: "md5", 20: "sha1", 32: "sha256"}


def parse_fingerprint(text: str) -> Fingerprint:
    """The Cloud Controller's ``host_key_fingerprint``: SHA-256 base64 (43 characters, optional ``SHA256:`` and
    padding) or MD5 (47) / SHA-1 (59) hex with colons (also without colons, optional ``MD5:``/``SHA1:``)."""
    action = "read the SSH proxy's host key fingerprint"
    value = (text or "").strip()
    if not value:
        raise SshError(action, "the Cloud Controller publishes no host key fingerprint (links.app_ssh.meta)",
                       "Without it the proxy cannot be verified; ask cloud.gov support, do not connect")
    prefix, sep, rest = value.partition(":")
    if sep and prefix.upper() in ("SHA256", "SHA1", "MD5"):
        declared, value = prefix.lower(), rest
    else:
        declared = ""
    hexdigits = value.replace(":", "")
    if re.fullmatch(r"[0-9a-fA-F]+", hexdigits) and len(hexdigits) in (32, 40) and declared != "sha256" and (
            ":" in value or len(value) in (32, 40)):
        digest = binascii.unhexlify(hexdigits)
        algorithm = _DIGEST_SIZES[len(digest)]
        if declared and declared != algorithm:
            raise SshError(action, f"{text!r} says {declared} but has the length of {algorithm}",
                           "Check the fingerprint the Cloud Controller publishes")
        return Fingerprint(algorithm, digest)
    if re.fullmatch(r"[A-Za-z0-9+/]{43}=?", value) and declared in ("", "sha256"):
        return Fingerprint("sha256", base64.b64decode(value.rstrip("=") + "="))
    raise SshError(action, f"unsupported host key fingerprint format {text!r}",
                   "cloud.gov publishes SHA-256 (base64) or MD5/SHA-1 (hex); check `cf curl /` links.app_ssh")


def key_fingerprints(blob: bytes) -> dict[str, Fingerprint]:
    return {name: Fingerprint(name, hashlib.new(name, blob).digest()) for name in ("sha256", "sha1", "md5")}


def parse_endpoint(href: str) -> tuple[str, int]:
    """``links.app_ssh.href``: ``ssh.fr.cloud.gov:2222`` (or ``[::1]:2222``) -> (host, port)."""
    value = (href or "").strip()
    match = re.fullmatch(r"\[(?P<v6>[0-9A-Fa-f:.]+)\](?::(?P<p6>\d+))?|(?P<host>[A-Za-z0-9.-]+)(?::(?P<port>\d+))?", value)
    if not match:
        raise SshError("find the SSH proxy", f"the Cloud Controller's app_ssh endpoint {href!r} is not host:port",
                       "Check `cf curl /` (links.app_ssh.href)")
    host = match.group("v6") or match.group("host")
    port = int(match.group("p6") or match.group("port") or 22)
    if not 0 < port < 65536:
        raise SshError("find the SSH proxy", f"port {port} out of range", "Check `cf curl /` (links.app_ssh.href)")
    return host, port


def proxy_user(process_guid: str, index: int) -> str:
    """The proxy's user for an instance: ``cf:<process GUID>/<index>`` (never the app GUID, cf-cli.md §3.8)."""
    if not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", process_guid or ""):
        raise SshError("name the SSH user", f"{process_guid!r} is not a process GUID", "Read it from /v3/apps/GUID/processes")
    return f"cf:{process_guid}/{int(index)}"


# ---------------------------------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------------------------------


def find_tool(name: str, override: str | None = None) -> str:
    if override:
        path = os.path.expanduser(override)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
        raise SshError(f"find {name}", f"{override} is not an executable file", f"Install OpenSSH's {name} or fix the path")
    found = _proc.find_tool(name)
    if not found:
        raise SshError(f"find {name}", f"there is no `{name}` on PATH",
                       "Install the OpenSSH client (Debian/Ubuntu: apt-get install openssh-client; macOS ships it)")
    return found


class ToolResult(t.NamedTuple):
    cmd: list[str]
    rc: int
    stdout: str
    stderr: str


def run_tool(argv: list[str], *, action: str, timeout: float, env: t.Mapping[str, str] | None = None) -> ToolResult:
    """An OpenSSH tool as an argv list, in its own session (no terminal to read), killed with its group on timeout."""
    for arg in argv:
        if "\x00" in arg:
            raise SshError(action, "an argument contains a NUL byte", "Check the paths given to the playbook")
    try:
        # ssh with its children is stopped as a group on timeout (_proc.run).
        proc = _proc.run(argv, timeout=timeout, env=dict(os.environ if env is None else env), cwd=None)
    except OSError as exc:
        raise SshError(action, f"cannot run {argv[0]} ({exc.strerror})", "Install the OpenSSH client") from exc
    except _proc.TimedOut:
        raise SshConnectError(action, f"{os.path.basename(argv[0])} did not finish within {int(timeout)} s and was stopped",
                              "Check the network path to the SSH proxy, or raise ssh_timeout for large copies") from None
    return ToolResult(list(argv), proc.rc, proc.text("stdout"), proc.text("stderr"))


# ---------------------------------------------------------------------------------------------------------------------
# Host key pinning
# ---------------------------------------------------------------------------------------------------------------------


def parse_keyscan(stdout: str) -> list[tuple[str, str, bytes]]:
    """``ssh-keyscan`` lines ``host keytype base64`` -> [(keytype, base64, blob)]; comments and junk are skipped."""
    keys = []
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) < 3 or line.startswith("#"):
            continue
        keytype, b64 = parts[1], parts[2]
        try:
            blob = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            continue
        keys.append((keytype, b64, blob))
    return keys


def pin_host_key(keys: list[tuple[str, str, bytes]], expected: Fingerprint, endpoint: str) -> tuple[str, str]:
    """The (keytype, base64) whose fingerprint is the published one; otherwise a refusal that names both."""
    for keytype, b64, blob in keys:
        if key_fingerprints(blob)[expected.algorithm].digest == expected.digest:
            return keytype, b64
    action = f"verify the SSH proxy's host key at {endpoint}"
    if not keys:
        raise SshConnectError(action, "the proxy offered no host key (ssh-keyscan got none)",
                              "Check that the endpoint is reachable (network, VPN, firewall) and run again")
    offered = ", ".join(f"{key_fingerprints(blob)['sha256'].display()} ({kt})" for kt, _b, blob in keys)
    raise HostKeyMismatchError(
        action,
        f"the proxy presented {offered}, but the Cloud Controller publishes {expected.display()}",
        "Do not connect: something may be intercepting the connection. Nothing was sent to it; report this to "
        "cloud.gov support and your security contact",
    )


# ---------------------------------------------------------------------------------------------------------------------
# sftp batches
# ---------------------------------------------------------------------------------------------------------------------


def sftp_quote(path: str) -> str:
    """A path for an sftp batch command, taken literally by sftp (glob characters included)."""
    if not path or any(c in path for c in ("\x00", "\n", "\r")):
        raise SshError("name the path", f"{path!r} is empty or contains a NUL byte or a line break",
                       "Use a path without line breaks")
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ListingEntry(t.NamedTuple):
    kind: str  # "-" file, "d" directory, "l" link, other letters: special files
    size: int
    path: str

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]


_LISTING = re.compile(
    r"^(?P<mode>[-dlcbps?][-rwxsStT?]{9})\S*\s+\S+\s+\S+\s+\S+\s+(?P<size>\d+)\s+"
    r"(?P<date>[A-Z][a-z]{2}\s+\d{1,2}\s+(?:\d{1,2}:\d{2}|\d{4}))\s(?P<path>.*)$"
)


def parse_sftp_listing(stdout: str) -> dict[str, list[ListingEntry]]:
    """sftp batch output of ``ls -lan "DIR"`` commands -> {the path after ``ls -lan``: entries}.

    sftp echoes each command as ``sftp> ...``; with ``-n`` it formats the lines itself (mode, links, uid, gid, size,
    date, path), whatever the server's own long names look like.
    """
    listings: dict[str, list[ListingEntry]] = {}
    current: list[ListingEntry] | None = None
    for line in stdout.splitlines():
        if line.startswith("sftp> "):
            command = line[len("sftp> "):]
            match = re.match(r'^-?ls -lan "((?:[^"\\]|\\.)*)"$', command)
            current = listings.setdefault(_unquote(match.group(1)), []) if match else None
            continue
        if current is None:
            continue
        entry = _LISTING.match(line)
        if entry:
            current.append(ListingEntry(entry.group("mode")[0], int(entry.group("size")), entry.group("path")))
    return listings


def _unquote(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted)


# ---------------------------------------------------------------------------------------------------------------------
# The private workspace of one operation
# ---------------------------------------------------------------------------------------------------------------------


def executable_base_dir() -> str:
    """Where the askpass helper can run: memory-backed when possible, but not on a ``noexec`` mount (hardened
    /dev/shm); the helper holds no secret, its folder is private."""
    for candidate in (session_base_dir(), tempfile.gettempdir(), os.path.expanduser("~")):
        try:
            if not os.statvfs(candidate).f_flag & getattr(os, "ST_NOEXEC", 0):
                return candidate
        except OSError:
            continue
    return tempfile.gettempdir()


class SshWorkspace:
    """A private 0700 folder holding the askpass helper, the pinned known_hosts and batch files; removed on exit.

    It never holds the code: the helper prints it from the environment of the ssh process it was given to.
    """

    def __init__(self, host: str, port: int, keytype: str, key_b64: str, *, base_dir: str | None = None) -> None:
        self.host, self.port, self.keytype = host, port, keytype
        self.path = tempfile.mkdtemp(prefix="ttahub-ops-ssh-", dir=base_dir or executable_base_dir())
        os.chmod(self.path, 0o700)
        self.askpass = self._write("askpass", ASKPASS_SCRIPT, 0o700)
        self.known_hosts = self._write("known_hosts", f"{HOST_ALIAS} {keytype} {key_b64}\n", 0o600)
        self._batches = 0

    def _write(self, name: str, text: str, mode: int) -> str:
        path = os.path.join(self.path, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path

    def batch(self, commands: list[str]) -> str:
        """An sftp batch file (paths only, never a secret)."""
        self._batches += 1
        return self._write(f"batch-{self._batches}", "".join(c + "\n" for c in commands), 0o600)

    def options(self, user: str, *, connect_timeout: int = 30) -> list[str]:
        """ssh options shared by ssh, scp and sftp: pinned key, password only, nothing of the operator's ssh config."""
        opts = {
            "User": user,
            "HostKeyAlias": HOST_ALIAS,
            "UserKnownHostsFile": self.known_hosts,
            "GlobalKnownHostsFile": "/dev/null",
            "StrictHostKeyChecking": "yes",
            "CheckHostIP": "no",
            "UpdateHostKeys": "no",
            "HostKeyAlgorithms": _ALGORITHMS.get(self.keytype, self.keytype),
            "BatchMode": "no",  # before sftp's own -b, which would turn BatchMode (and askpass) off
            "PreferredAuthentications": "password",
            "PubkeyAuthentication": "no",
            "KbdInteractiveAuthentication": "no",
            "GSSAPIAuthentication": "no",
            "IdentitiesOnly": "yes",
            "IdentityAgent": "none",
            "NumberOfPasswordPrompts": "1",
            "ControlMaster": "no",
            "ControlPath": "none",
            "ForwardAgent": "no",
            "ForwardX11": "no",
            "PermitLocalCommand": "no",
            "ConnectTimeout": str(connect_timeout),
            "ServerAliveInterval": "15",
            "ServerAliveCountMax": "4",
            "LogLevel": "ERROR",
        }
        args = ["-F", "/dev/null"]
        for key, value in opts.items():
            args += ["-o", f"{key}={value}"]
        return args

    def environment(self, code: str) -> dict[str, str]:
        """The environment of one ssh/sftp call: the code only here, read by the askpass helper."""
        env = {k: v for k, v in os.environ.items() if k not in ("SSH_AUTH_SOCK", "DISPLAY", ASKPASS_VARIABLE)}
        env.update({"SSH_ASKPASS": self.askpass, "SSH_ASKPASS_REQUIRE": "force", ASKPASS_VARIABLE: code})
        # sftp prints names raw only in a UTF-8 locale (else it escapes them, and listings would not match).
        ctype = env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG") or ""
        if "utf-8" not in ctype.lower().replace("utf8", "utf-8"):
            env["LC_ALL"] = "C.UTF-8"
        return env

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> SshWorkspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------------------------------
# Failures
# ---------------------------------------------------------------------------------------------------------------------


def classify_ssh_failure(action: str, rc: int, stderr: str, *, endpoint: str, refused_hint: str) -> SshError:
    """What ssh/scp/sftp's stderr means, as one error that says what to do. ``refused_hint``: how to get SSH allowed."""
    text = " ".join(line.strip() for line in stderr.splitlines() if line.strip())
    if "Host key verification failed" in text or "REMOTE HOST IDENTIFICATION HAS CHANGED" in text or (
            "host key" in text.lower() and "differs" in text.lower()):
        return HostKeyMismatchError(
            action,
            f"the SSH proxy at {endpoint} presented a host key other than the one pinned from the Cloud Controller",
            "Do not connect: something may be intercepting the connection. Report this to cloud.gov support and your "
            "security contact",
            rc=rc, stderr=stderr,
        )
    if "Permission denied" in text or "Too many authentication failures" in text:
        return SshPermissionDeniedError(action, "the SSH proxy refused the login (Permission denied)", refused_hint,
                                        rc=rc, stderr=stderr)
    if re.search(r"Connection (refused|timed out|reset|closed by)|No route to host|Could not resolve hostname|"
                 r"Network is unreachable|Operation timed out|kex_exchange_identification", text):
        return SshConnectError(action, f"could not connect to the SSH proxy at {endpoint} ({text[:200]})",
                               "Check the network path (VPN, firewall, https_proxy) and cloud.gov's status, then run again",
                               rc=rc, stderr=stderr)
    return SshRemoteError(action, text[:400] or f"exit status {rc}", "See the message above; run again with a corrected path",
                          rc=rc, stderr=stderr)


# ---------------------------------------------------------------------------------------------------------------------
# `cf ssh APP -c CMD`: its own failures versus the remote command's exit status
# ---------------------------------------------------------------------------------------------------------------------

# cf-cli.md §3.8: what cf ssh prints on stderr (then FAILED on stdout, exit 1) when cf, not the remote command, failed.
_CF_SSH_FAILURES: list[tuple[re.Pattern[str], type[SshError], str, str]] = [
    (re.compile(r"^Application '(?P<app>.*)' is not in the STARTED state"), SshError,
     "app {app} is not started", "Start it (`cf start {app}`) or wait for its deployment to finish, then run again"),
    (re.compile(r"^Instance (?P<i>\d+) of process (?P<t>\S+) not found"), SshError,
     "instance {i} of the {t} process does not exist", "Pick an existing instance: `cf app <app>` lists them"),
    (re.compile(r"^Instance (?P<i>\d+) of process (?P<t>\S+) not running"), SshError,
     "instance {i} of the {t} process is not running", "Wait until it runs (`cf app <app>`) or pick another instance"),
    (re.compile(r"^SSH endpoint not set"), SshError,
     "the platform publishes no SSH endpoint", "The platform does not offer SSH; ask cloud.gov support"),
    (re.compile(r"^Error opening SSH connection: You are not authorized"), SshPermissionDeniedError,
     "the SSH proxy refused the connection (not authorized)", "{refused}"),
    (re.compile(r"^Host key verification failed"), HostKeyMismatchError,
     "the SSH proxy presented a host key other than the one the Cloud Controller publishes",
     "Do not connect: something may be intercepting the connection. Report this to cloud.gov support and your security "
     "contact"),
    (re.compile(r"^Error opening SSH connection: (?P<why>.*)$"), SshConnectError,
     "could not connect to the SSH proxy ({why})", "Check the network path (VPN, firewall, all_proxy) and run again"),
]


def classify_cf_ssh(action: str, cmd: list[str], rc: int, stdout: str, stderr: str, *, refused_hint: str) -> CfError | None:
    """The error when cf itself failed (its message, ``FAILED``, exit 1); None when RC is the remote exit status."""
    if rc != 1 or not stdout.rstrip().endswith("FAILED"):
        return None
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        for pattern, cls, cause, hint in _CF_SSH_FAILURES:
            match = pattern.search(line)
            if match:
                fields = {**match.groupdict(), "refused": refused_hint}
                return cls(action, cause.format(**fields), hint.format(**fields), cmd=cmd, rc=rc, stdout=stdout, stderr=stderr)
    error = classify_failure(action, cmd, rc, stdout, stderr)
    return error if error.kind != CfError.kind else None  # an unrecognised text is the remote command's own


def ssh_refused_hint(reason: str, app: str, production: bool, procedure: str) -> str:
    """What to do when SSH to APP does not work, from the Cloud Controller's reason (``/v3/apps/GUID/ssh_enabled``):
    outside production the commands that fix it, in production the approved PROCEDURE (a playbook name)."""
    match = re.search(r"space '([^']*)'", reason)
    space = match.group(1) if match else "<space>"
    if "globally" in reason:
        return "cloud.gov has turned SSH off for the whole platform; ask cloud.gov support"
    if production and "app" in reason and "space" not in reason:
        return (f"SSH is off for the production app {app} itself: turning it on (`cf enable-ssh {app}` and a rolling "
                "restart) changes production and is not part of this procedure; ask the Vendor Tech Lead")
    if production:
        return (f"SSH is not allowed in production by default. Use the approved procedure: ansible-playbook "
                f"playbooks/{procedure}.yml -i inventories/production (the prod_ssh_access approvals, then a space SSH "
                "window that is closed right after; docs/approvals.md)")
    if "space" in reason:
        return (f"Allow it with `cf allow-space-ssh {space}` (a Space Manager), or run playbooks/ssh_access.yml, which "
                "turns space and app SSH on, then run again")
    if reason:
        return (f"Enable it with `cf enable-ssh {app}` and restart the app (`cf restart {app} --strategy rolling`), "
                "or run playbooks/ssh_access.yml, then run again")
    return ("The proxy lets in a Space Developer of the space, with SSH allowed for the space and enabled for the app "
            f"(restarted since `cf enable-ssh {app}`); playbooks/ssh_access.yml turns both on. Check your role with "
            "`cf space-users`")


# ---------------------------------------------------------------------------------------------------------------------
# The instance, as the Cloud Controller sees it
# ---------------------------------------------------------------------------------------------------------------------


def ssh_enabled(cf: CfClient, app_guid: str, *, action: str) -> tuple[bool, str]:
    """(enabled, the Cloud Controller's reason when it is not) from ``/v3/apps/GUID/ssh_enabled``: the one lookup of
    why SSH to an app does not work, which names the fix (:func:`ssh_refused_hint`)."""
    status = cf.curl(f"/v3/apps/{app_guid}/ssh_enabled", action=action)
    if isinstance(status, dict) and status.get("enabled"):
        return True, ""
    return False, str(status.get("reason", "")) if isinstance(status, dict) else ""


def resolve_instance(cf: CfClient, app: str, process: str, index: int, production: bool) -> dict[str, t.Any]:
    """The running instance INDEX of APP's PROCESS, SSH allowed: its GUIDs and the proxy's endpoint and published
    fingerprint, read from the v3 API (the process GUID is never assumed to be the app GUID)."""
    action = f"find instance {index} of the {process} process of app {app}"
    app_guid = parse_guid(cf.run(["app", app, "--guid"], action=f"find app {app}").stdout, f"find app {app}")
    processes = cf.curl_all(f"/v3/apps/{app_guid}/processes", action=f"read the processes of app {app}")
    types = {p.get("type"): p.get("guid") for p in processes if isinstance(p, dict)}
    process_guid = types.get(process)
    if not process_guid:
        raise CfNotFoundError(action, f"app {app} has no {process} process (it has {', '.join(sorted(map(str, types)))})",
                              "Pass one of these as process")
    stats = cf.curl_all(f"/v3/processes/{process_guid}/stats", action=action)
    entry = next((s for s in stats if isinstance(s, dict) and s.get("index") == index), None)
    if entry is None:
        raise CfNotFoundError(action, f"the {process} process has {len(stats)} instance(s), numbered from 0",
                              "Pass an existing instance index")
    if entry.get("state") != "RUNNING":
        raise SshError(action, f"instance {index} is {entry.get('state')}, not running",
                       "Wait until it runs (`cf app {app}`) or pick another instance".format(app=app))
    enabled, reason = ssh_enabled(cf, app_guid, action=f"read whether SSH works for app {app}")
    if not enabled:
        raise SshPermissionDeniedError(action, f"SSH is off: {reason or 'the Cloud Controller says SSH is disabled'}",
                                       ssh_refused_hint(reason, app, production, "scp_retrieve"))
    root = cf.curl("/", action="read the SSH proxy's address from the Cloud Controller")
    app_ssh = ((root or {}).get("links") or {}).get("app_ssh") if isinstance(root, dict) else None
    if not isinstance(app_ssh, dict) or not app_ssh.get("href"):
        raise SshError("find the SSH proxy", "SSH endpoint not set (the Cloud Controller root has no links.app_ssh)",
                       "The platform does not offer SSH; ask cloud.gov support")
    return {
        "app": app, "app_guid": app_guid, "process": process, "process_guid": process_guid, "index": index,
        "endpoint": str(app_ssh["href"]),
        "fingerprint": str((app_ssh.get("meta") or {}).get("host_key_fingerprint", "")),
    }


# ---------------------------------------------------------------------------------------------------------------------
# The sftp session of one copy
# ---------------------------------------------------------------------------------------------------------------------


class SftpSession:
    """The pinned proxy of one run towards the instance TARGET (:func:`resolve_instance`); every sftp call gets a fresh
    one-time code, added to SECRETS (the module's ``no_log_values``) before it is used."""

    def __init__(self, cf: CfClient, target: dict[str, t.Any], *, secrets: set[str], sftp_cli: str | None = None,
                 keyscan_cli: str | None = None, timeout: float = 900, production: bool = True) -> None:
        self.cf, self.target, self.secrets = cf, target, secrets
        self.timeout, self.production = timeout, production
        self.host, self.port = parse_endpoint(target["endpoint"])
        self.sftp = find_tool("sftp", sftp_cli)
        keyscan = find_tool("ssh-keyscan", keyscan_cli)
        expected = parse_fingerprint(target["fingerprint"])
        scan = run_tool([keyscan, "-T", "10", "-t", "ed25519,ecdsa,rsa", "-p", str(self.port), self.host],
                        action="read the SSH proxy's host key", timeout=30)
        self.keytype, key_b64 = pin_host_key(parse_keyscan(scan.stdout), expected, target["endpoint"])
        blob = next(b for kt, b64, b in parse_keyscan(scan.stdout) if b64 == key_b64)
        self.fingerprint = key_fingerprints(blob)["sha256"].display()
        self.workspace = SshWorkspace(self.host, self.port, self.keytype, key_b64)
        self.user = proxy_user(target["process_guid"], target["index"])
        self.connections = 0

    def sftp_batch(self, commands: list[str], action: str) -> str:
        code = parse_ssh_code(self.cf.run(["ssh-code"], action="get a one-time SSH code", secret_output=True).stdout)
        self.secrets.add(code)
        batch = self.workspace.batch(commands)
        argv = [self.sftp, *self.workspace.options(self.user), "-o", f"HostName={self.host}", "-P", str(self.port),
                "-b", batch, "cloud-gov-ssh-proxy"]
        self.connections += 1
        result = run_tool(argv, action=action, timeout=self.timeout, env=self.workspace.environment(code))
        del code
        if result.rc != 0:
            raise self.failure(action, result.rc, result.stderr)
        return result.stdout

    def failure(self, action: str, rc: int, stderr: str) -> SshError:
        target = self.target
        reason = ""
        if "Permission denied" in stderr:
            _enabled, reason = ssh_enabled(self.cf, target["app_guid"], action="read whether SSH works")
        error = classify_ssh_failure(action, rc, stderr, endpoint=target["endpoint"],
                                     refused_hint=ssh_refused_hint(reason, target["app"], self.production, "scp_retrieve"))
        if reason and isinstance(error, SshPermissionDeniedError):
            error.cause = f"the SSH proxy refused the login: {reason}"
            error.args = (error.message,)
        return error

    def close(self) -> None:
        self.workspace.close()
