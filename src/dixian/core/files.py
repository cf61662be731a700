"""Small helpers on files."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from pathlib import Path


def file_sha256(path: Path | str) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (files may be several GB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def csv_header(path: Path | str) -> list[str]:
    """The names in a CSV file's header row, as written (a leading BOM removed), from its first MiB:
    read as UTF-8 when that reads (a character cut at the end is fine), else as GB18030."""
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        text = head.decode("gb18030", errors="ignore")
    return next(csv.reader(io.StringIO(text.lstrip("\ufeff"))), [])
