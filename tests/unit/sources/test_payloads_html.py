"""The fast reader of Mastodon's own markup agrees with the HTMLParser reader on every input it takes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.sources import payloads
from rapport.sources.payloads import read_html

TEXT = st.lists(
    st.sampled_from([*"ab ?\n\t&;#é🎭\u202e", "&amp;", "&lt;", "&#39;", "&nbsp;", "&bogus", "  "]), max_size=8
).map("".join)
ATTRIBUTE_VALUE = st.sampled_from(
    ["https://example.org/a?b=1&amp;c=2", "u-url mention", "mention hashtag", "invisible", "", "ellipsis"]
)
ATTRIBUTES = st.lists(
    st.tuples(st.sampled_from(["href", "class", "rel", "data-x"]), ATTRIBUTE_VALUE), max_size=3
).map(lambda pairs: "".join(f' {name}="{value}"' for name, value in pairs))
TAG = st.tuples(
    st.sampled_from(["p", "br", "a", "span"]), st.sampled_from(["open", "close", "self"]), ATTRIBUTES
).map(
    lambda tag: (
        f"</{tag[0]}>" if tag[1] == "close" else f"<{tag[0]}{tag[2]}{' /' if tag[1] == 'self' else ''}>"
    )
)
SIMPLE_MARKUP = st.lists(TEXT | TAG, max_size=20).map("".join)


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(SIMPLE_MARKUP)
def test_read_html_fast_path_reads_mastodon_markup_as_htmlparser_does(content: str) -> None:
    assert payloads._SIMPLE_HTML.fullmatch(content)
    fast_parts, fast_links, fast_spans = payloads._read_simple_html(content)
    parts, links, spans = payloads._read_any_html(content)
    assert ("".join(fast_parts), fast_links) == ("".join(parts), links)
    # The same links, over the same text: the text without them is the same too.
    assert [("".join(fast_parts[:first]), "".join(fast_parts[first:end])) for first, end in fast_spans] == [
        ("".join(parts[:first]), "".join(parts[first:end])) for first, end in spans
    ]


def test_read_html_reads_a_real_mastodon_status_through_the_fast_path() -> None:
    content = (
        '<p>Travaux ce week-end ? <a href="https://example.org/x?y=1&amp;z=2" rel="nofollow noopener" '
        'target="_blank"><span class="invisible">https://</span><span class="">example.org/x</span></a><br />'
        '<span class="h-card"><a href="https://m.example/@ana" class="u-url mention">@<span>ana</span></a></span>'
        "</p><p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    )
    assert payloads._SIMPLE_HTML.fullmatch(content)
    fast = read_html(content)
    assert fast.text == "Travaux ce week-end ? https://example.org/x\n@ana\n\n<script>alert(1)</script>"
    assert fast.links == ("https://example.org/x?y=1&z=2",)


def test_read_html_leaves_script_elements_and_other_markup_to_htmlparser() -> None:
    for content in ("<p>a<script>x</script>b</p>", "<P>a</P>", "<p>a<!-- c -->b</p>", "<p>a < b</p>"):
        assert payloads._SIMPLE_HTML.fullmatch(content) is None
    assert read_html("<p>a<script>x</script>b</p>").text == "ab"


def test_read_html_finishes_on_a_long_text_followed_by_markup_the_fast_path_refuses() -> None:
    import subprocess
    import sys

    # Backtracking over the text run made this exponential (5 s at 24 characters, doubling with
    # each one): run it apart, so a regression fails here instead of hanging the suite.
    code = (
        "from rapport.sources.payloads import read_html; "
        "print(read_html('<p>' + 'x' * 5000 + '</p><b>y</b>').text == 'x' * 5000 + '\\n\\ny')"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.stdout.strip() == "True", completed.stderr
