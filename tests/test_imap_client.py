"""Tests for channels.imap_client.MailboxReader against the real fake IMAP server.

The server in tests/fake_imap.py speaks the IMAP wire protocol, so these tests exercise
stdlib imaplib's real parsing as well as our error handling.
"""

from __future__ import annotations

import imaplib
import socket
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from channels.email_parsing import parse_email
from channels.imap_client import MailboxError, MailboxReader, _imap_utf7, _quote_mailbox
from tests.fake_imap import FakeImapServer

FIXTURES = Path(__file__).parent / "fixtures" / "emails"
USERNAME = "desk@shop.example.cn"
PASSWORD = 'S3cr"et \\pass-word'  # quote and backslash: exercises imaplib's quoting


@pytest.fixture
def imap_server() -> Iterator[FakeImapServer]:
    with FakeImapServer(username=USERNAME, password=PASSWORD) as server:
        yield server


def reader(server: FakeImapServer, **overrides: object) -> MailboxReader:
    options: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "username": USERNAME,
        "password": PASSWORD,
        "folder": "INBOX",
        "use_ssl": False,
        "timeout": 5,
    }
    options.update(overrides)
    return MailboxReader(**options)  # type: ignore[arg-type]


def fixture_messages() -> list[bytes]:
    return [path.read_bytes() for path in sorted(FIXTURES.glob("*.eml"))]


def assert_secret_free(error: BaseException, secret: str) -> None:
    """The password must not leak through the message, repr or formatted traceback."""
    assert secret not in str(error)
    assert secret not in repr(error)
    assert secret not in "".join(traceback.format_exception(error))


# --------------------------------------------------------------------------------------
# The fake server itself, driven by plain imaplib
# --------------------------------------------------------------------------------------


def test_fake_server_speaks_imap_to_stdlib_imaplib(imap_server: FakeImapServer) -> None:
    first = imap_server.add_message(b"Subject: one\r\n\r\nbody one\r\n")
    second = imap_server.add_message(b"Subject: two\r\n\r\nbody two\r\n", flags=["\\Seen"])
    client = imaplib.IMAP4("127.0.0.1", imap_server.port, timeout=5)
    try:
        assert "IMAP4REV1" in client.capabilities
        assert client.capability()[0] == "OK"
        assert client.login(USERNAME, PASSWORD)[0] == "OK"
        typ, data = client.select("INBOX")
        assert (typ, data) == ("OK", [b"2"])
        assert client.uid("SEARCH", "UNSEEN") == ("OK", [first.encode()])
        assert client.uid("SEARCH", "ALL") == ("OK", [f"{first} {second}".encode()])
        typ, data = client.uid("FETCH", first, "(BODY.PEEK[])")
        assert typ == "OK" and data[0][1] == b"Subject: one\r\n\r\nbody one\r\n"
        assert imap_server.flags(first) == frozenset()  # PEEK does not set \Seen
        typ, data = client.uid("FETCH", second, "(RFC822)")
        assert typ == "OK" and data[0][1] == b"Subject: two\r\n\r\nbody two\r\n"
        assert client.uid("STORE", first, "+FLAGS", "(\\Seen)")[0] == "OK"
        assert imap_server.flags(first) == {"\\Seen"}
        assert client.uid("SEARCH", "UNSEEN") == ("OK", [b""])
        assert client.noop()[0] == "OK"
        with pytest.raises(imaplib.IMAP4.error, match="BAD"):  # unsupported: BAD, no crash
            client.uid("EXPUNGE", first)
        assert client.noop()[0] == "OK"  # and the connection is still usable
    finally:
        assert client.logout()[0] == "BYE"
    assert "LOGIN desk@shop.example.cn ***" in imap_server.commands  # password not logged


def test_fake_server_rejects_wrong_credentials(imap_server: FakeImapServer) -> None:
    client = imaplib.IMAP4("127.0.0.1", imap_server.port, timeout=5)
    try:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            client.login(USERNAME, "wrong")
    finally:
        client.logout()


def test_fake_server_requires_login_and_select(imap_server: FakeImapServer) -> None:
    client = imaplib.IMAP4("127.0.0.1", imap_server.port, timeout=5)
    try:
        with pytest.raises(imaplib.IMAP4.error):
            client.select("INBOX")
        client.login(USERNAME, PASSWORD)
        assert client.select("Missing")[0] == "NO"
    finally:
        client.logout()


def test_fake_server_port_requires_start() -> None:
    server = FakeImapServer()
    with pytest.raises(RuntimeError):
        _ = server.port
    with server:
        assert server.port > 0


# --------------------------------------------------------------------------------------
# MailboxReader
# --------------------------------------------------------------------------------------


def test_fetch_unseen_mark_seen_and_refetch(imap_server: FakeImapServer) -> None:
    messages = fixture_messages()
    uids = [imap_server.add_message(raw) for raw in messages]
    already_read = imap_server.add_message(b"From: a@example.com\r\n\r\nold\r\n", ["\\Seen"])

    with reader(imap_server) as mailbox:
        fetched = mailbox.fetch_unseen()
        assert fetched == list(zip(uids, messages, strict=True))
        assert already_read not in [uid for uid, _ in fetched]
        # Fetching peeks: nothing is marked read until we say so.
        assert all(imap_server.flags(uid) == frozenset() for uid in uids)
        assert any("BODY.PEEK[]" in command for command in imap_server.commands)

        for uid, raw in fetched:
            assert parse_email(raw).message_id  # the bytes arrive intact and parse
            mailbox.mark_seen(uid)
        assert all("\\Seen" in imap_server.flags(uid) for uid in uids)
        assert mailbox.fetch_unseen() == []

    new_uid = imap_server.add_message(b"From: b@example.com\r\nSubject: new\r\n\r\nnew\r\n")
    with reader(imap_server) as mailbox:
        assert mailbox.fetch_unseen() == [
            (new_uid, b"From: b@example.com\r\nSubject: new\r\n\r\nnew\r\n")
        ]


def test_fetch_unseen_respects_limit_oldest_first(imap_server: FakeImapServer) -> None:
    uids = [imap_server.add_message(b"Subject: %d\r\n\r\nx\r\n" % i) for i in range(5)]
    with reader(imap_server) as mailbox:
        assert [uid for uid, _ in mailbox.fetch_unseen(limit=2)] == uids[:2]
        assert mailbox.fetch_unseen(limit=0) == []
        assert len(mailbox.fetch_unseen()) == 5


def test_empty_mailbox(imap_server: FakeImapServer) -> None:
    with reader(imap_server) as mailbox:
        assert mailbox.fetch_unseen() == []


def test_folder_with_space_and_non_ascii_name() -> None:
    assert _imap_utf7("台北") == "&U,BTFw-"  # RFC 3501 example
    assert _imap_utf7("~peter/mail/日本語/台北") == "~peter/mail/&ZeVnLIqe-/&U,BTFw-"
    assert _imap_utf7("A&B") == "A&-B"
    assert _quote_mailbox("INBOX") == "INBOX"
    assert _quote_mailbox('Sent "Items"') == '"Sent \\"Items\\""'
    for folder, wire_name in [
        ("Complaints Inbox", "Complaints Inbox"),
        ("投诉", _imap_utf7("投诉")),
    ]:
        with FakeImapServer(USERNAME, PASSWORD, folder=wire_name) as server:
            uid = server.add_message(b"Subject: x\r\n\r\ny\r\n")
            with reader(server, folder=folder) as mailbox:
                assert [u for u, _ in mailbox.fetch_unseen()] == [uid]


def test_wrong_password_raises_mailbox_error_without_the_password(
    imap_server: FakeImapServer,
) -> None:
    wrong = "not-the-Passw0rd"
    with pytest.raises(MailboxError) as excinfo:
        with reader(imap_server, password=wrong):
            pass
    assert "login failed" in str(excinfo.value).lower()
    assert "AUTHENTICATIONFAILED" in str(excinfo.value)
    assert_secret_free(excinfo.value, wrong)


def test_password_echoed_by_a_careless_server_is_scrubbed() -> None:
    wrong = 'wr"ong\\secret'
    with FakeImapServer(USERNAME, PASSWORD, echo_login_failures=True) as server:
        with pytest.raises(MailboxError) as excinfo:
            with reader(server, password=wrong):
                pass
    message = str(excinfo.value)
    assert "Bad login" in message and "***" in message  # the server did echo it back
    assert_secret_free(excinfo.value, wrong)
    assert_secret_free(excinfo.value, wrong.replace("\\", "\\\\").replace('"', '\\"'))


def test_missing_folder_raises_mailbox_error(imap_server: FakeImapServer) -> None:
    with pytest.raises(MailboxError, match="Cannot select IMAP folder 'Archive'"):
        with reader(imap_server, folder="Archive"):
            pass


def test_connection_refused_raises_mailbox_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        with pytest.raises(MailboxError, match="Cannot connect to IMAP server") as excinfo:
            with MailboxReader("127.0.0.1", port, USERNAME, PASSWORD, use_ssl=False, timeout=2):
                pass
    assert_secret_free(excinfo.value, PASSWORD)


def test_silent_server_times_out_as_mailbox_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)  # accepts the TCP handshake but never sends a greeting
        port = sock.getsockname()[1]
        with pytest.raises(MailboxError, match="timed out"):
            with MailboxReader("127.0.0.1", port, USERNAME, PASSWORD, use_ssl=False, timeout=0.5):
                pass


def test_tls_against_a_plain_server_raises_mailbox_error(imap_server: FakeImapServer) -> None:
    with pytest.raises(MailboxError, match="Cannot connect") as excinfo:
        with reader(imap_server, use_ssl=True, timeout=3):
            pass
    assert_secret_free(excinfo.value, PASSWORD)


def test_server_going_away_mid_session_raises_mailbox_error() -> None:
    server = FakeImapServer(USERNAME, PASSWORD).start()
    server.add_message(b"Subject: x\r\n\r\ny\r\n")
    mailbox = reader(server)
    with mailbox:
        server.stop()
        with pytest.raises(MailboxError) as excinfo:
            mailbox.fetch_unseen()
    assert_secret_free(excinfo.value, PASSWORD)


def test_using_the_reader_outside_its_context_raises(imap_server: FakeImapServer) -> None:
    mailbox = reader(imap_server)
    with pytest.raises(MailboxError, match="not open"):
        mailbox.fetch_unseen()
    with pytest.raises(MailboxError, match="not open"):
        mailbox.mark_seen("1")


def test_mark_seen_rejects_non_numeric_uids(imap_server: FakeImapServer) -> None:
    with reader(imap_server) as mailbox:
        for bad in ["", "1 2", "1:*", "1) (\\Deleted", "-1"]:
            with pytest.raises(ValueError):
                mailbox.mark_seen(bad)


def test_repr_does_not_show_the_password(imap_server: FakeImapServer) -> None:
    assert PASSWORD not in repr(reader(imap_server))
