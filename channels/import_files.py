"""Reading the legacy CSV file of an import: its encoding (declared, or detected: a UTF-8 or
UTF-16 byte-order mark, UTF-16 without one, else UTF-8 checked on the first megabyte with a
suggestion when it is not), refusal of empty and binary files in one line, the header
against the mapping, and the rows with their line numbers (a row with fewer or more cells
than the header is a problem of that row).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from channels.import_mapping import Mapping, MappingError, nearest

csv.field_size_limit(4 * 1024 * 1024)
_SAMPLE = 1024 * 1024
_UNDECODABLE = re.compile("[\udc80-\udcff]")
# What a file that is not CSV text starts with, and what it then is.
_MAGIC = (
    (b"PK\x03\x04", gettext_noop("a ZIP archive (an .xlsx workbook or a zipped export)")),
    (b"\xd0\xcf\x11\xe0", gettext_noop("an old Excel (.xls) or Office document")),
    (b"%PDF", gettext_noop("a PDF document")),
    (b"\x1f\x8b", gettext_noop("a gzip archive")),
    (b"SQLite format 3", gettext_noop("an SQLite database")),
    (b"\x89PNG", gettext_noop("a PNG image")),
    (b"\xff\xd8\xff", gettext_noop("a JPEG image")),
)
# Tried in order when a file without a declared encoding is not UTF-8.
_GUESSES = (("gb18030", "GB18030"), ("big5", "Big5"), ("shift_jis", "Shift JIS"),
            ("cp1252", "Windows-1252"))


@dataclass(frozen=True)
class RawRow:
    line: int
    row: dict[str, str]  # the cells by column (those there are, for a short row)
    problem: str


def _bom(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return ""


def _utf16_without_bom(head: bytes) -> str:
    """ASCII-heavy UTF-16 text has a NUL in every other byte."""
    even, odd = head[0::2], head[1::2]
    if len(head) < 4:
        return ""
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return ""


def _looks_like(sample: bytes) -> str:
    """The name of the first likely encoding ``sample`` decodes in, for the suggestion."""
    for codec, label in _GUESSES:
        try:
            text = sample.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec in ("gb18030", "big5", "shift_jis"):
            wide = sum(1 for ch in text if ord(ch) > 0x2E80)
            if wide < 0.5 * sum(1 for ch in text if ord(ch) > 0x7F):
                continue
        return _('%(label)s: add "encoding": "%(codec)s" to the mapping') % {
            "label": label, "codec": codec}
    return _('an unknown 8-bit encoding: add its "encoding" to the mapping')


def detect_encoding(path: Path, declared: str) -> str:
    """The encoding to read ``path`` in; MappingError for an empty, binary or undecodable
    file (one line saying what it is and what to do)."""
    with path.open("rb") as handle:
        head = handle.read(_SAMPLE)
    if not head.replace(codecs.BOM_UTF8, b"").strip():
        raise MappingError(_("the file %(path)s is empty") % {"path": path})
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise MappingError(_("the file %(path)s is not a CSV text file: it is %(what)s; "
                                 "export it as CSV first") % {"path": path, "what": _(what)})
    found = _bom(head) or _utf16_without_bom(head[:4096])
    if found:
        return found
    if head.count(0) > len(head) // 100:  # a stray NUL in a cell is cleaned with its row
        raise MappingError(_("the file %(path)s is not a CSV text file: it has binary data "
                             "(NUL bytes)") % {"path": path})
    if declared:
        return declared
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < _SAMPLE)
    except UnicodeDecodeError as exc:
        # A UTF-8 file with a few bad bytes: those rows are reported one by one. A file
        # with more bad sequences than good non-ASCII characters is in another encoding.
        text = head.decode("utf-8", errors="replace")
        bad = text.count("\ufffd")
        if bad > sum(1 for ch in text if ord(ch) > 0x7F) - bad:
            line = head[: exc.start].count(b"\n") + 1
            raise MappingError(
                _("the file %(path)s is not UTF-8 (line %(line)d); it looks like %(guess)s")
                % {"path": path, "line": line, "guess": _looks_like(head[: exc.start + 4096])}
            ) from exc
    return "utf-8"


class CsvFile:
    """The rows of one CSV file as the mapping reads them."""

    def __init__(self, path: Path, mapping: Mapping) -> None:
        self.path = path
        self.mapping = mapping
        self.encoding = detect_encoding(path, mapping.encoding)
        self.size = path.stat().st_size
        self._handle: BinaryIO | None = None

    def position(self) -> int:
        """Bytes read so far (for the progress display)."""
        return self._handle.tell() if self._handle is not None else 0

    def rows(self) -> Iterator[RawRow]:
        with self.path.open("rb") as handle:
            self._handle = handle
            text = io.TextIOWrapper(handle, encoding=self.encoding, errors="surrogateescape",
                                    newline="")
            reader = csv.reader(text, delimiter=self.mapping.delimiter)
            header = self._header(reader)
            while True:
                line = reader.line_num + 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield RawRow(line, {}, _("malformed CSV: %(error)s") % {"error": exc})
                    continue
                if not cells or cells == [""]:
                    continue  # a blank line
                row = dict(zip(header, cells, strict=False))
                yield RawRow(line, row, self._problem(header, cells, row))

    def _problem(self, header: list[str], cells: list[str], row: dict[str, str]) -> str:
        if len(cells) < len(header):
            return (_("the row has %(cells)d cells, the header has %(columns)d columns (the row "
                      "is cut short after %(last)s)")
                    % {"cells": len(cells), "columns": len(header),
                       "last": repr(header[len(cells) - 1])})
        if len(cells) > len(header):
            return (_("the row has %(cells)d cells, the header has %(columns)d columns (a "
                      "stray delimiter or quote?)") % {"cells": len(cells),
                                                       "columns": len(header)})
        bad = [k for k, v in row.items() if _UNDECODABLE.search(v)]
        if bad:
            return (_("bytes that are not %(encoding)s in: %(columns)s")
                    % {"encoding": self.encoding, "columns": ", ".join(bad)})
        return ""

    def _header(self, reader: Iterator[list[str]]) -> list[str]:
        try:
            header = next((cells for cells in reader if cells and cells != [""]), [])
        except csv.Error as exc:
            raise MappingError(_("cannot read the CSV header: %(error)s")
                               % {"error": exc}) from exc
        header = [name.strip() for name in header]
        if not header:
            raise MappingError(_("the file %(path)s has no header row") % {"path": self.path})
        missing = self.mapping.columns() - set(header)
        if missing:
            raise MappingError(
                _("the CSV has no column(s) %(missing)s (it has: %(header)s)")
                % {"missing": ", ".join(name + nearest(name, set(header))
                                        for name in sorted(missing)),
                   "header": ", ".join(header)})
        repeated = sorted({n for n in header if header.count(n) > 1} & self.mapping.columns())
        if repeated:
            raise MappingError(_("the CSV header repeats the column(s) %(columns)s")
                               % {"columns": ", ".join(repeated)})
        return header
