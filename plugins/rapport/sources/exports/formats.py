"""Which export format a file is, and reading it with that format's reader."""

from __future__ import annotations

import importlib
import logging
from datetime import date
from typing import cast

from rapport.sources import get_platform
from rapport.sources.contract import ExportFormat
from rapport.sources.exports import Detector, ExportFileError, ExportRows, Reader

log = logging.getLogger(__name__)


def _function(path: str) -> object:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def detect(platform: str, file: str, data: bytes) -> ExportFormat:
    """The format of ``file`` among the exports ``platform`` declares; raises :class:`ExportFileError`
    naming the formats it is not one of (an unknown format)."""
    formats = get_platform(platform).exports
    for export in formats:
        detector = cast(Detector, _function(export.detector))
        try:
            found = detector(file, data)
        except Exception:  # a detector's bug: this format is not the file's, the others are tried
            log.exception("%s: the detector of %s failed", file, export.name)
            found = False
        if found:
            return export
    if not formats:
        raise ExportFileError(file, f"{platform} imports no analytics export")
    known = "; ".join(f"{export.title} ({export.files})" for export in formats)
    first = data[:80].split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    raise ExportFileError(
        file,
        f"unknown format: not one of the {get_platform(platform).title} exports Rapport reads ({known})"
        + (f"; it starts with {first!r}" if first.isprintable() and first else ""),
    )


def export_format(platform: str, name: str) -> ExportFormat:
    """The export format ``name`` of ``platform``; raises ``KeyError`` naming the known ones."""
    for export in get_platform(platform).exports:
        if export.name == name:
            return export
    known = ", ".join(export.name for export in get_platform(platform).exports) or "none"
    raise KeyError(f"{platform} has no export format {name!r}; its formats: {known}")


def read(export: ExportFormat, file: str, data: bytes, reference: date) -> ExportRows:
    """``file`` read by the reader of ``export``, dates without a year placed before ``reference``.

    Raises :class:`ExportFileError` naming the file, the line and the reason; a reader's own bug
    (any other error) is reported the same way, naming the format, so the file is quarantined."""
    reader = cast(Reader, _function(export.reader))
    try:
        rows = reader(file, data, reference)
    except ExportFileError:
        raise
    except Exception as error:  # a reader's bug on this file: quarantined with the cause, others go on
        raise ExportFileError(
            file, f"cannot be read as {export.title}: {type(error).__name__}: {error}"
        ) from error
    if rows.first_day > rows.last_day:
        raise ExportFileError(file, f"covers no day: its dates run from {rows.first_day} to {rows.last_day}")
    return rows
