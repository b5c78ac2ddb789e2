"""A real Dovecot IMAP server for tests, in a temporary directory with its own settings.

    with DovecotServer.start() as server:
        server.append(raw)                       # put a message in INBOX, unread
        settings = ImapSettings(host=server.host, port=server.ssl_port, ...)
        server.flags()                           # {uid: {"\\Seen", …}} as the server sees it

It listens on loopback only: one implicit-TLS listener (`ssl_port`) and one plain
listener for STARTTLS (`plain_port`), with a certificate signed by a throwaway CA
(`ca_file`). One user, `user`/`password`, with a Maildir under the directory.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from support import free_port

HOST = "127.0.0.1"
USER = "comptable"
PASSWORD = "Boite-Aux-Lettres-36"
_FLAGS = re.compile(rb"UID (\d+) FLAGS \(([^)]*)\)|FLAGS \(([^)]*)\) UID (\d+)")


def dovecot_binary() -> str | None:
    """Return the path of Debian's dovecot, or None when it is not installed."""
    found = shutil.which("dovecot") or "/usr/sbin/dovecot"
    return found if os.access(found, os.X_OK) else None


@dataclass
class DovecotServer:
    """A running Dovecot on loopback, and what a test needs to talk to it."""

    root: Path
    process: subprocess.Popen[bytes]
    ssl_port: int
    plain_port: int
    ca_file: Path
    host: str = HOST
    user: str = USER
    password: str = PASSWORD

    @classmethod
    def start(cls, binary: str | None = None) -> DovecotServer:
        """Configure and start a Dovecot; return once it accepts connections."""
        binary = binary or dovecot_binary()
        if binary is None:
            raise RuntimeError("dovecot is not installed: apt-get install dovecot-imapd")
        # Not pytest's tmp_path: Dovecot's unprivileged processes must reach into it.
        root = Path(tempfile.mkdtemp(prefix="guichet-dovecot-"))
        root.chmod(0o755)
        try:
            ca_file = _certificates(root)
            ssl_port, plain_port = free_port(), free_port()
            _configure(root, ssl_port, plain_port)
            with (root / "stderr.log").open("wb") as log:
                process = subprocess.Popen(
                    [binary, "-F", "-c", str(root / "dovecot.conf")],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        server = cls(root, process, ssl_port, plain_port, ca_file)
        try:
            server._wait_until_listening()
        except BaseException:
            server.stop()
            raise
        return server

    def __enter__(self) -> DovecotServer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        _terminate(self.process)
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        """Return what the server logged so far (for assertion messages)."""
        parts = [self.root / "stderr.log", self.root / "dovecot.log"]
        return "\n".join(p.read_text(errors="replace") for p in parts if p.exists())

    def connect(self) -> imaplib.IMAP4_SSL:
        """Return a client logged in to the mailbox over TLS, INBOX selected."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        client = imaplib.IMAP4_SSL(self.host, self.ssl_port, ssl_context=context, timeout=10)
        client.login(self.user, self.password)
        client.select("INBOX")
        return client

    def append(self, *messages: bytes, folder: str = "INBOX") -> None:
        """Deliver messages into a folder by IMAP APPEND, unread."""
        client = self.connect()
        try:
            for raw in messages:
                typ, data = client.append(folder, None, None, raw)
                assert typ == "OK", data
        finally:
            client.logout()

    def empty(self) -> None:
        """Delete every message of INBOX (UIDs keep growing: they are never reused)."""
        client = self.connect()
        try:
            if client.uid("SEARCH", "ALL")[1][0]:
                client.uid("STORE", "1:*", "+FLAGS.SILENT", "(\\Deleted)")
                client.expunge()
        finally:
            client.logout()

    def flags(self) -> dict[int, set[str]]:
        """Return the flags and keywords of every message of INBOX, by UID."""
        client = self.connect()
        try:
            typ, data = client.uid("FETCH", "1:*", "(FLAGS)")
        finally:
            client.logout()
        assert typ == "OK", data
        found: dict[int, set[str]] = {}
        for line in data:
            match = _FLAGS.search(line if isinstance(line, bytes) else line[0])
            if match:
                uid = match.group(1) or match.group(4)
                flags = match.group(2) if match.group(1) else match.group(3)
                found[int(uid)] = set(flags.decode().split())
        return found

    def _wait_until_listening(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited ({self.process.returncode}):\n{self.log()}")
            try:
                for port in (self.ssl_port, self.plain_port):
                    socket.create_connection((self.host, port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not listen within {timeout} s:\n{self.log()}")


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _certificates(root: Path) -> Path:
    """Make a throwaway CA and a server certificate for localhost and 127.0.0.1."""
    (root / "server.ext").write_text(
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature, keyEncipherment\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectAltName = DNS:localhost, IP:127.0.0.1\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    commands = [
        ["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
         "-subj", "/CN=Guichet test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
        ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.pem"],
    ]  # fmt: skip
    for command in commands:
        done = subprocess.run(["openssl", *command], cwd=root, capture_output=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"openssl {command[0]} failed: {done.stderr.decode()}")
    return root / "ca.pem"


def _configure(root: Path, ssl_port: int, plain_port: int) -> None:
    """Write dovecot.conf, the password file and the Maildir, owned by the mail user."""
    if os.geteuid() == 0:
        # Dovecot refuses to give mail processes uid 0: use its own system users.
        mail = pwd.getpwnam("dovecot")
        internal_user, internal_group, login_user = "dovecot", "dovecot", "dovenull"
        chroot = ""
    else:
        mail = pwd.getpwuid(os.getuid())
        internal_user = login_user = mail.pw_name
        internal_group = grp.getgrgid(mail.pw_gid).gr_name
        chroot = "  chroot =\n"  # only root can chroot
    mail_dir = root / "mail"
    for folder in (mail_dir, mail_dir / USER, root / "home"):
        folder.mkdir()
        os.chown(folder, mail.pw_uid, mail.pw_gid)
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    (root / "dovecot.conf").write_text(
        f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = guichet-test-{ssl_port}
protocols = imap
listen = {HOST}
ssl = yes
ssl_cert = <{root}/server.pem
ssl_key = <{root}/server.key
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = {mail.pw_uid}
first_valid_gid = {mail.pw_gid}
mail_location = maildir:{mail_dir}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={mail.pw_uid} gid={mail.pw_gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {plain_port}
  }}
  inet_listener imaps {{
    port = {ssl_port}
    ssl = yes
  }}
{chroot}}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
{chroot}}}
"""
    )
