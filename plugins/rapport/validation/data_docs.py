"""Great Expectations Data Docs that read offline.

GX 1.24 renders its pages with Bootstrap, jQuery, bootstrap-table, Font Awesome
and Vega loaded from CDNs, and builds its index tables in the browser from
data in scripts: without internet the index shows no table at all. This pass
rewrites each page of a built site: the CDN stylesheets and scripts are
dropped, a small stylesheet shipped with Rapport is inlined, each
bootstrap-table is written out as a plain HTML table (its rows linking to
their pages, as GX's script made them), the scripts that only drive those
widgets are dropped, the remote logos are the site's own copy, and
paths to the site's static folder are right from every page.
"""

from __future__ import annotations

import ast
import html
import os
import re
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

STYLESHEET: Final = "data_docs_offline.css"
LOCAL_LOGO: Final = Path("static") / "images" / "logo-long.png"

_REMOTE_SCRIPT = re.compile(r'<script\b[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>\s*', re.IGNORECASE)
_REMOTE_STYLESHEET = re.compile(r'<link\b[^>]*\bhref="https?://[^"]*"[^>]*>\s*', re.IGNORECASE)
_REMOTE_IMAGE = re.compile(r'(<img\b[^>]*?\bsrc=")https?://[^"]*(")', re.IGNORECASE | re.DOTALL)
_REMOTE_CSS_IMAGE = re.compile(r"""url\(\s*['"]?https?://[^)'"]*['"]?\s*\)""", re.IGNORECASE)
_INLINE_SCRIPT = re.compile(r"<script>.*?</script>\s*", re.DOTALL | re.IGNORECASE)
_TABLE_DATA = re.compile(
    r"\$\('#(?P<id>[\w-]+)'\)\.bootstrapTable\(\s*Object\.assign\(\s*\{\s*"
    r"columns: (?P<columns>\[.*?\]),\s*data: (?P<data>\[.*?\]),\s*toolbar:",
    re.DOTALL,
)
# GX writes some paths to the site's static folder one level short on the deeper pages.
_STATIC_PATH = re.compile(r'((?:src|href)=")(?:\.{1,2}/)*static/')
_LINK_KEY: Final = "_table_row_link_path"


def make_offline(site_dir: Path) -> list[Path]:
    """Rewrite every page of the Data Docs site under ``site_dir`` to read offline; return the pages."""
    stylesheet = files("rapport.validation").joinpath(STYLESHEET).read_text(encoding="utf-8")
    pages = sorted(site_dir.rglob("*.html"))
    for page in pages:
        root = Path(os.path.relpath(site_dir, page.parent)).as_posix()
        text = _STATIC_PATH.sub(rf"\g<1>{root}/static/", page.read_text(encoding="utf-8"))
        page.write_text(
            offline_page(
                text,
                stylesheet,
                f"{root}/{LOCAL_LOGO.as_posix()}",
                exists=_exists_from(page.parent),
            ),
            encoding="utf-8",
        )
    return pages


def _exists_from(folder: Path) -> Callable[[str], bool]:
    """Whether a link of a page in ``folder`` leads to a file of the site."""
    return lambda link: (folder / link).is_file()


def offline_page(
    page: str, stylesheet: str, logo: str, exists: Callable[[str], bool] = lambda link: True
) -> str:
    """One Data Docs page without CDN assets or scripts, its bootstrap-tables written as HTML; a
    row links to its page only when ``exists`` finds it (GX lists results whose page it has not
    written: no broken link)."""
    for match in _TABLE_DATA.finditer(page):
        table_id = match["id"]
        rows = _table_html(ast.literal_eval(match["columns"]), ast.literal_eval(match["data"]), exists)
        empty = re.compile(rf'(<table\s+id="{re.escape(table_id)}"[^>]*>)\s*(</table>)', re.DOTALL)
        table = empty.search(page)
        if table:
            page = page[: table.end(1)] + rows + page[table.start(2) :]
    page = _REMOTE_SCRIPT.sub("", page)
    page = _REMOTE_STYLESHEET.sub("", page)
    page = _INLINE_SCRIPT.sub("", page)
    page = _REMOTE_IMAGE.sub(lambda image: image[1] + html.escape(logo) + image[2], page)
    page = _REMOTE_CSS_IMAGE.sub(lambda _: f"url('{logo}')", page)
    return page.replace("<head>", f"<head>\n<style>{stylesheet}</style>", 1)


def _table_html(
    columns: list[dict[str, Any]], rows: list[dict[str, Any]], exists: Callable[[str], bool]
) -> str:
    """The rows bootstrap-table would draw: its cells are GX's HTML, inserted as they are (as
    bootstrap-table does); a row's plain-text cells link to the row's page."""
    head = "".join(f"<th>{html.escape(str(column.get('title', column['field'])))}</th>" for column in columns)
    body = []
    for row in rows:
        cells = []
        for column in columns:
            cell = str(row.get(column["field"], "")).strip()
            if row.get(_LINK_KEY) and cell and not cell.startswith("<") and exists(str(row[_LINK_KEY])):
                cell = f'<a href="{html.escape(str(row[_LINK_KEY]))}">{cell}</a>'
            cells.append(f"<td>{cell}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
