"""A small IMAP reader for the e-mail intake channel, built on stdlib :mod:`imaplib`.

It only does what intake needs: log in, open one folder, list unseen messages by UID,
download them without marking them read (``BODY.PEEK[]``), and mark a message seen once it
has been stored safely.  Peeking first and flagging afterwards means a crash between the
two re-delivers the message next run instead of losing it; the parser's Message-ID
deduplication makes that harmless.

Every server or socket failure is raised as :class:`MailboxError`, whose message never
contains the password (servers sometimes echo the failed command back).
"""

from __future__ import annotations

import base64
import imaplib
import re
import ssl
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

__all__ = ["MailboxError", "MailboxReader"]

_UID = re.compile(rb"^[0-9]+$")


class MailboxError(Exception):
    """Any failure talking to the IMAP server (network, TLS, login, protocol)."""


def _imap_utf7(folder: str) -> str:
    """Encode a folder name in IMAP "modified UTF-7" (RFC 3501 §5.1.3), e.g. for "收件箱"."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in folder:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def _quote_mailbox(folder: str) -> str:
    """Quote a mailbox name for SELECT: imaplib sends arguments verbatim, so "Sent Items"
    or names with quotes would otherwise break the command."""
    encoded = _imap_utf7(folder)
    if encoded and re.fullmatch(r"[A-Za-z0-9._&,+\-/]+", encoded):
        return encoded
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


class MailboxReader:
    """Reads unseen messages from one IMAP folder.

    Use as a context manager::

        with MailboxReader("imap.example.com", 993, "user", "secret") as mailbox:
            for uid, raw in mailbox.fetch_unseen(limit=50):
                store(raw)
                mailbox.mark_seen(uid)
    """

    def __init__(
        self,
        host: str,
        port: int = 993,
        username: str = "",
        password: str = "",
        folder: str = "INBOX",
        use_ssl: bool = True,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = int(port)
        self.username = username
        self._password = password
        self.folder = folder
        self.use_ssl = use_ssl
        self.timeout = timeout
        self._ssl_context = ssl_context
        self._conn: imaplib.IMAP4 | None = None

    def __repr__(self) -> str:
        # Deliberately no password, so the object can be logged.
        return (
            f"MailboxReader(host={self.host!r}, port={self.port}, username={self.username!r}, "
            f"folder={self.folder!r}, use_ssl={self.use_ssl})"
        )

    # -- connection lifecycle ----------------------------------------------------------

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        """Connect, log in and select the folder (read-write, so flags can be stored)."""
        if self._conn is not None:
            return
        where = f"{self.host}:{self.port}"
        try:
            if self.use_ssl:
                context = self._ssl_context or ssl.create_default_context()
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    self.host, self.port, ssl_context=context, timeout=self.timeout
                )
            else:
                conn = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
        except Exception as exc:
            raise MailboxError(
                self._scrub(f"Cannot connect to IMAP server {where}: {_describe(exc)}")
            ) from None
        self._conn = conn
        try:
            self._call(
                f"IMAP login failed for {self.username!r} on {where}",
                conn.login,
                self.username,
                self._password,
            )
            typ, data = self._call(
                f"Cannot select IMAP folder {self.folder!r} on {where}",
                conn.select,
                _quote_mailbox(self.folder),
            )
            if typ != "OK":
                raise MailboxError(
                    self._scrub(
                        f"Cannot select IMAP folder {self.folder!r} on {where}: {_text(data)}"
                    )
                )
        except BaseException:
            self._abandon()
            raise

    def close(self) -> None:
        """Log out politely; errors are ignored because there is nothing left to do."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.logout()
        except Exception:
            self._shutdown(conn)

    # -- operations --------------------------------------------------------------------

    def fetch_unseen(self, limit: int = 100) -> list[tuple[str, bytes]]:
        """Return up to ``limit`` unseen messages as (uid, raw bytes), oldest UID first.

        Uses ``BODY.PEEK[]`` so fetching does not set ``\\Seen``: call :meth:`mark_seen`
        only after the message is safely stored.
        """
        if limit <= 0:
            return []
        conn = self._connection()
        typ, data = self._call("IMAP UID SEARCH UNSEEN failed", conn.uid, "SEARCH", "UNSEEN")
        self._expect_ok(typ, data, "IMAP UID SEARCH UNSEEN failed")
        uids: list[bytes] = []
        for chunk in data:
            if isinstance(chunk, bytes):
                uids.extend(u for u in chunk.split() if _UID.match(u))
        uids = sorted(set(uids), key=int)[:limit]
        messages: list[tuple[str, bytes]] = []
        for uid in uids:
            uid_text = uid.decode("ascii")
            what = f"IMAP UID FETCH {uid_text} failed"
            typ, data = self._call(what, conn.uid, "FETCH", uid_text, "(BODY.PEEK[])")
            self._expect_ok(typ, data, what)
            raw = _message_bytes(data)
            if raw is not None:  # None: expunged meanwhile by another client
                messages.append((uid_text, raw))
        return messages

    def mark_seen(self, uid: str) -> None:
        """Set ``\\Seen`` on one message, so the next :meth:`fetch_unseen` skips it."""
        uid_text = str(uid).strip()
        if not _UID.match(uid_text.encode("ascii", "replace")):
            raise ValueError(f"Invalid IMAP UID: {uid!r}")
        conn = self._connection()
        what = f"IMAP UID STORE {uid_text} +FLAGS (\\Seen) failed"
        typ, data = self._call(what, conn.uid, "STORE", uid_text, "+FLAGS", "(\\Seen)")
        self._expect_ok(typ, data, what)

    # -- helpers -----------------------------------------------------------------------

    def _connection(self) -> imaplib.IMAP4:
        if self._conn is None:
            raise MailboxError("Mailbox is not open: use MailboxReader as a context manager")
        return self._conn

    def _call(
        self, what: str, func: Callable[..., tuple[str, list[Any]]], *args: str
    ) -> tuple[str, list[Any]]:
        """Run one imaplib call, turning every failure into a password-free MailboxError."""
        try:
            return func(*args)
        except MailboxError:
            raise
        except (imaplib.IMAP4.error, OSError, EOFError, ValueError, TypeError) as exc:
            if isinstance(exc, (imaplib.IMAP4.abort, OSError, EOFError)):
                self._abandon()
            raise MailboxError(self._scrub(f"{what}: {_describe(exc)}")) from None

    def _expect_ok(self, typ: str, data: list[Any], what: str) -> None:
        if typ != "OK":
            raise MailboxError(self._scrub(f"{what}: server answered {typ} {_text(data)}"))

    def _abandon(self) -> None:
        """Drop a broken connection without the LOGOUT round trip."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._shutdown(conn)

    @staticmethod
    def _shutdown(conn: imaplib.IMAP4) -> None:
        try:
            conn.shutdown()
        except Exception:
            pass

    def _scrub(self, message: str) -> str:
        """Remove every plausible spelling of the password from an error message."""
        password = self._password
        if not password:
            return message
        variants = {
            password,
            password.replace("\\", "\\\\").replace('"', '\\"'),  # imaplib's quoting
            repr(password)[1:-1],
            repr(password.encode("utf-8", "replace"))[2:-1],
            repr(password.replace("\\", "\\\\").replace('"', '\\"').encode("utf-8", "replace"))[
                2:-1
            ],
        }
        for variant in sorted(variants, key=len, reverse=True):
            if variant:
                message = message.replace(variant, "***")
        return message


def _text(data: object) -> str:
    """Human-readable server response text (imaplib hands back lists of bytes)."""
    if isinstance(data, (list, tuple)):
        return " ".join(_text(item) for item in data if item is not None)
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return str(data)


def _describe(exc: BaseException) -> str:
    """A short, readable reason: server text for protocol errors, errno text for sockets."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, UnicodeError):
        # Its args hold the whole offending argument, which may be the password.
        return "a command argument contains characters the server connection cannot encode"
    if isinstance(exc, imaplib.IMAP4.abort):
        return f"connection lost ({_text(list(exc.args))})"
    if isinstance(exc, imaplib.IMAP4.error):
        return _text(list(exc.args)) or "server error"
    if isinstance(exc, EOFError):
        return "connection closed by server"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _message_bytes(data: list[Any]) -> bytes | None:
    """Pull the literal out of a FETCH response: [(b'1 (UID 7 BODY[] {123}', b'...'), b')']."""
    for item in data:
        if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[1], bytes):
            header = item[0] if isinstance(item[0], bytes) else b""
            if b"BODY[" in header.upper() or b"RFC822" in header.upper() or not header:
                return item[1]
    return None
