"""A real, minimal IMAP4rev1 server for tests.

Mocking :mod:`imaplib` would only prove that our code calls the mock the way we think the
server behaves; a tiny server speaking the actual wire protocol on 127.0.0.1 exercises
imaplib's real parsing (literals, tagged/untagged responses) and our error handling.

Supported: CAPABILITY, NOOP, LOGIN, SELECT/EXAMINE, CLOSE, LOGOUT, and SEARCH / FETCH /
STORE both plain (sequence numbers) and with the UID prefix.  SEARCH understands ALL, SEEN
and UNSEEN; FETCH understands UID, FLAGS, RFC822.SIZE, RFC822, BODY[] and BODY.PEEK[].

Usage::

    with FakeImapServer(username="desk", password="s3cret") as server:
        uid = server.add_message(raw_bytes)
        ...  # connect imaplib / MailboxReader to ("127.0.0.1", server.port)
        assert "\\Seen" in server.flags(uid)
"""

from __future__ import annotations

import re
import socket
import socketserver
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

__all__ = ["FakeImapServer"]

SEEN = "\\Seen"
_SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
_LITERAL_AT_END = re.compile(rb"\{(\d+)(\+?)\}\r?\n?$")


@dataclass
class _StoredMessage:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


class _ProtocolError(Exception):
    """A malformed command: answered with a tagged BAD."""


Token = Any  # str for atoms/strings/literals, list for parenthesised lists


def _tokenize(buf: bytes) -> list[Token]:
    """Split a complete command (literals included) into atoms, strings and nested lists."""
    stack: list[list[Token]] = [[]]
    pos = 0
    length = len(buf)
    while pos < length:
        char = buf[pos : pos + 1]
        if char in (b" ", b"\r", b"\n"):
            pos += 1
        elif char == b"(":
            stack.append([])
            pos += 1
        elif char == b")":
            if len(stack) == 1:
                raise _ProtocolError("unbalanced parenthesis")
            done = stack.pop()
            stack[-1].append(done)
            pos += 1
        elif char == b'"':
            pos += 1
            out = bytearray()
            while pos < length and buf[pos : pos + 1] != b'"':
                if buf[pos : pos + 1] == b"\\" and pos + 1 < length:
                    pos += 1
                out += buf[pos : pos + 1]
                pos += 1
            if pos >= length:
                raise _ProtocolError("unterminated quoted string")
            pos += 1
            stack[-1].append(out.decode("utf-8", "replace"))
        elif char == b"{":
            match = re.compile(rb"\{(\d+)\+?\}\r\n").match(buf, pos)
            if not match:
                raise _ProtocolError("bad literal")
            size = int(match.group(1))
            start = match.end()
            stack[-1].append(buf[start : start + size].decode("utf-8", "replace"))
            pos = start + size
        else:
            start = pos
            depth = 0  # brackets may contain spaces/parens: BODY[HEADER.FIELDS (FROM)]
            while pos < length:
                c = buf[pos : pos + 1]
                if c == b"[":
                    depth += 1
                elif c == b"]":
                    depth = max(0, depth - 1)
                elif depth == 0 and c in (b" ", b"(", b")", b"\r", b"\n"):
                    break
                pos += 1
            stack[-1].append(buf[start:pos].decode("utf-8", "replace"))
    if len(stack) != 1:
        raise _ProtocolError("unbalanced parenthesis")
    return stack[0]


class _Handler(socketserver.StreamRequestHandler):
    """One client connection: a simple command loop with per-connection state."""

    timeout = 30  # seconds; a forgotten client must not keep a thread forever

    server: _TCPServer

    def setup(self) -> None:
        super().setup()
        self.fake = self.server.fake
        self.authenticated = False
        self.selected = False
        self.readonly = False
        self.fake._track(self.request, add=True)

    def finish(self) -> None:
        self.fake._track(self.request, add=False)
        try:
            super().finish()
        except OSError:
            pass

    # -- I/O -------------------------------------------------------------------------

    def send(self, line: str | bytes) -> None:
        data = line.encode("utf-8") if isinstance(line, str) else line
        self.wfile.write(data if data.endswith(b"\r\n") else data + b"\r\n")

    def read_command(self) -> bytes | None:
        """Read a full command, answering "+" continuation requests for literals."""
        buf = b""
        while True:
            line = self.rfile.readline(1_000_000)
            if not line:
                return None
            buf += line
            match = _LITERAL_AT_END.search(line)
            if not match:
                return buf
            size = int(match.group(1))
            if not match.group(2):
                self.send("+ Ready for literal data")
            buf = buf.rstrip(b"\r\n") + b"\r\n" + self.rfile.read(size)

    # -- main loop -------------------------------------------------------------------

    def handle(self) -> None:
        self.send("* OK [CAPABILITY IMAP4rev1] Fake IMAP server ready")
        while True:
            try:
                raw = self.read_command()
            except (OSError, ValueError):
                return
            if raw is None:
                return
            try:
                tokens = _tokenize(raw)
            except _ProtocolError as exc:
                self.send(f"* BAD {exc}")
                continue
            if len(tokens) < 2 or not all(isinstance(t, str) for t in tokens[:2]):
                self.send("* BAD Missing tag or command")
                continue
            tag, command, args = tokens[0], tokens[1].upper(), tokens[2:]
            self.fake._log(command, args)
            try:
                if not self.dispatch(tag, command, args):
                    return
            except _ProtocolError as exc:
                self.send(f"{tag} BAD {exc}")
            except OSError:
                return

    def dispatch(self, tag: str, command: str, args: list[Token]) -> bool:
        """Run one command; return False to close the connection."""
        if command == "CAPABILITY":
            self.send("* CAPABILITY IMAP4rev1 AUTH=PLAIN")
            self.send(f"{tag} OK CAPABILITY completed")
        elif command == "NOOP":
            self.send(f"{tag} OK NOOP completed")
        elif command == "LOGOUT":
            self.send("* BYE Fake IMAP server logging out")
            self.send(f"{tag} OK LOGOUT completed")
            return False
        elif command == "LOGIN":
            self.login(tag, args)
        elif not self.authenticated:
            self.send(f"{tag} BAD Command not allowed before LOGIN")
        elif command in ("SELECT", "EXAMINE"):
            self.select(tag, command, args)
        elif not self.selected:
            self.send(f"{tag} BAD No mailbox selected")
        elif command == "CLOSE":
            self.selected = False
            self.send(f"{tag} OK CLOSE completed")
        elif command == "UID" and args and isinstance(args[0], str):
            self.run(tag, args[0].upper(), args[1:], by_uid=True)
        elif command in ("SEARCH", "FETCH", "STORE"):
            self.run(tag, command, args, by_uid=False)
        else:
            self.send(f"{tag} BAD Unknown or unsupported command")
        return True

    # -- commands --------------------------------------------------------------------

    def login(self, tag: str, args: list[Token]) -> None:
        if len(args) != 2 or not all(isinstance(a, str) for a in args):
            raise _ProtocolError("LOGIN expects a user name and a password")
        if self.fake._check_login(args[0], args[1]):
            self.authenticated = True
            self.send(f"{tag} OK [CAPABILITY IMAP4rev1] LOGIN completed")
        elif self.fake.echo_login_failures:
            # Simulates a careless server that echoes credentials back in its error text.
            self.send(f'{tag} NO [AUTHENTICATIONFAILED] Bad login "{args[0]}" "{args[1]}"')
        else:
            self.send(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials")

    def select(self, tag: str, command: str, args: list[Token]) -> None:
        if len(args) != 1 or not isinstance(args[0], str):
            raise _ProtocolError(f"{command} expects a mailbox name")
        if args[0].upper() != self.fake.folder.upper():
            self.selected = False
            self.send(f"{tag} NO [NONEXISTENT] Mailbox does not exist")
            return
        self.selected = True
        self.readonly = command == "EXAMINE"
        messages = self.fake._snapshot()
        unseen = [i + 1 for i, m in enumerate(messages) if SEEN not in m.flags]
        self.send(f"* FLAGS ({' '.join(_SYSTEM_FLAGS)})")
        self.send(f"* {len(messages)} EXISTS")
        self.send("* 0 RECENT")
        if unseen:
            self.send(f"* OK [UNSEEN {unseen[0]}] First unseen message")
        self.send("* OK [UIDVALIDITY 1] UIDs valid")
        self.send(f"* OK [UIDNEXT {self.fake._next_uid}] Predicted next UID")
        mode = "READ-ONLY" if self.readonly else "READ-WRITE"
        self.send(f"{tag} OK [{mode}] {command} completed")

    def run(self, tag: str, command: str, args: list[Token], *, by_uid: bool) -> None:
        prefix = "UID " if by_uid else ""
        if command == "SEARCH":
            self.search(args, by_uid)
        elif command == "FETCH":
            self.fetch(args, by_uid)
        elif command == "STORE":
            if self.readonly:
                self.send(f"{tag} NO Mailbox is read-only")
                return
            self.store(args, by_uid)
        else:
            self.send(f"{tag} BAD Unsupported {prefix}command {command}")
            return
        self.send(f"{tag} OK {prefix}{command} completed")

    def search(self, args: list[Token], by_uid: bool) -> None:
        keys = [a.upper() for a in args if isinstance(a, str)]
        if len(keys) >= 2 and keys[0] == "CHARSET":
            keys = keys[2:]
        if not keys or any(k not in ("ALL", "SEEN", "UNSEEN") for k in keys):
            raise _ProtocolError("Only ALL, SEEN and UNSEEN searches are supported")
        hits = []
        for seq, message in enumerate(self.fake._snapshot(), start=1):
            seen = SEEN in message.flags
            if ("SEEN" in keys and not seen) or ("UNSEEN" in keys and seen):
                continue
            hits.append(str(message.uid if by_uid else seq))
        self.send("* SEARCH" + "".join(f" {h}" for h in hits))

    def fetch(self, args: list[Token], by_uid: bool) -> None:
        if len(args) != 2 or not isinstance(args[0], str):
            raise _ProtocolError("FETCH expects a message set and data items")
        items = args[1] if isinstance(args[1], list) else [args[1]]
        names = [str(i).upper() for i in items]
        allowed = {"UID", "FLAGS", "RFC822.SIZE", "RFC822", "BODY[]", "BODY.PEEK[]"}
        if not names or any(n not in allowed for n in names):
            raise _ProtocolError("Unsupported FETCH data item")
        for seq, message in self.fake._select_set(args[0], by_uid):
            if not self.readonly and ("RFC822" in names or "BODY[]" in names):
                self.fake._change_flags(message.uid, "+", [SEEN])  # non-PEEK fetch sets \Seen
            parts: list[bytes] = []
            if by_uid or "UID" in names:
                parts.append(b"UID %d" % message.uid)
            if "FLAGS" in names or (not self.readonly and ("RFC822" in names or "BODY[]" in names)):
                flags = " ".join(sorted(self.fake.flags(message.uid)))
                parts.append(f"FLAGS ({flags})".encode())
            if "RFC822.SIZE" in names:
                parts.append(b"RFC822.SIZE %d" % len(message.raw))
            for name in names:
                if name in ("RFC822", "BODY[]", "BODY.PEEK[]"):
                    label = b"RFC822" if name == "RFC822" else b"BODY[]"
                    parts.append(label + b" {%d}\r\n" % len(message.raw) + message.raw)
            self.send(b"* %d FETCH (" % seq + b" ".join(parts) + b")")

    def store(self, args: list[Token], by_uid: bool) -> None:
        if len(args) != 3 or not isinstance(args[0], str) or not isinstance(args[1], str):
            raise _ProtocolError("STORE expects a message set, an item and flags")
        item = args[1].upper()
        silent = item.endswith(".SILENT")
        item = item.removesuffix(".SILENT")
        if item not in ("FLAGS", "+FLAGS", "-FLAGS"):
            raise _ProtocolError("Unsupported STORE item")
        flags = args[2] if isinstance(args[2], list) else [args[2]]
        if not all(isinstance(f, str) for f in flags):
            raise _ProtocolError("Flags must be atoms")
        mode = item[0] if item[0] in "+-" else "="
        for seq, message in self.fake._select_set(args[0], by_uid):
            current = self.fake._change_flags(message.uid, mode, flags)
            if not silent:
                prefix = f"UID {message.uid} " if by_uid else ""
                self.send(f"* {seq} FETCH ({prefix}FLAGS ({' '.join(sorted(current))}))")


class _TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], fake: FakeImapServer) -> None:
        self.fake = fake
        super().__init__(address, _Handler)


class FakeImapServer:
    """In-memory IMAP server on 127.0.0.1 (free port), served from a background thread."""

    def __init__(
        self,
        username: str = "user",
        password: str = "secret",
        folder: str = "INBOX",
        *,
        echo_login_failures: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        self.username = username
        self.password = password
        self.folder = folder
        self.echo_login_failures = echo_login_failures
        self.host = host
        self.commands: list[str] = []  # received commands, LOGIN password redacted
        self._messages: list[_StoredMessage] = []
        self._next_uid = 1
        self._lock = threading.RLock()
        self._connections: set[socket.socket] = set()
        self._server: _TCPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> Self:
        """Bind to a free port and start serving in a daemon thread."""
        if self._server is None:
            self._server = _TCPServer((self.host, 0), self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fake-imap-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open client connections."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeImapServer is not running: call start() or use 'with'")
        return int(self._server.server_address[1])

    # -- mailbox contents ------------------------------------------------------------

    def add_message(self, raw: bytes, flags: Iterable[str] = ()) -> str:
        """Append a message and return its UID (as the string imaplib clients see)."""
        with self._lock:
            uid = self._next_uid
            self._next_uid += 1
            self._messages.append(_StoredMessage(uid, bytes(raw), set(flags)))
        return str(uid)

    def flags(self, uid: str | int) -> frozenset[str]:
        """Current flags of one message (KeyError if no such UID)."""
        with self._lock:
            return frozenset(self._find(int(uid)).flags)

    def uids(self) -> list[str]:
        with self._lock:
            return [str(m.uid) for m in self._messages]

    # -- used by the handler ---------------------------------------------------------

    def _find(self, uid: int) -> _StoredMessage:
        for message in self._messages:
            if message.uid == uid:
                return message
        raise KeyError(uid)

    def _snapshot(self) -> list[_StoredMessage]:
        with self._lock:
            return [_StoredMessage(m.uid, m.raw, set(m.flags)) for m in self._messages]

    def _check_login(self, username: str, password: str) -> bool:
        return username == self.username and password == self.password

    def _log(self, command: str, args: list[Token]) -> None:
        shown = ["***" if command == "LOGIN" and i == 1 else a for i, a in enumerate(args)]
        with self._lock:
            self.commands.append(" ".join([command, *(_render(a) for a in shown)]))

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _select_set(self, spec: str, by_uid: bool) -> list[tuple[int, _StoredMessage]]:
        """Resolve a sequence set ("1", "2:4", "3:*", "1,5") to (seq, message) pairs."""
        messages = self._snapshot()
        if not messages:
            return []
        top = messages[-1].uid if by_uid else len(messages)
        wanted: set[int] = set()
        for part in spec.split(","):
            bounds = part.split(":")
            if len(bounds) > 2 or not all(b == "*" or b.isdigit() for b in bounds):
                raise _ProtocolError(f"Bad message set {spec!r}")
            numbers = [top if b == "*" else int(b) for b in bounds]
            low, high = min(numbers), max(numbers)
            if by_uid:
                wanted.update(m.uid for m in messages if low <= m.uid <= high)
            else:
                wanted.update(range(max(1, low), min(high, len(messages)) + 1))
        result = []
        for seq, message in enumerate(messages, start=1):
            if (message.uid if by_uid else seq) in wanted:
                result.append((seq, message))
        return result

    def _change_flags(self, uid: int, mode: str, flags: Iterable[str]) -> set[str]:
        canonical = {_canonical_flag(f) for f in flags}
        with self._lock:
            message = self._find(uid)
            if mode == "+":
                message.flags |= canonical
            elif mode == "-":
                message.flags -= canonical
            else:
                message.flags = canonical
            return set(message.flags)


def _canonical_flag(flag: str) -> str:
    """System flags are case-insensitive on the wire: store them as "\\Seen" etc."""
    for system in _SYSTEM_FLAGS:
        if flag.lower() == system.lower():
            return system
    return flag


def _render(token: Token) -> str:
    if isinstance(token, list):
        return "(" + " ".join(_render(t) for t in token) + ")"
    return str(token)
