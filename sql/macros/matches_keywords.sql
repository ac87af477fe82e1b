{#
    A boolean SQL expression: true when `stripped_text_column` contains one of
    `keywords` as a whole word, case- and accent-insensitively, given text
    whose accents are already stripped (strip_accents(), done once by the
    caller: it costs more than the search itself). A keyword ending
    in * matches any ending of the word ("annonc*": annonce, annonçons); a space
    matches any run of white space. Keywords are plain words: other regular
    expression characters are escaped. NULL text gives NULL.

    One regular expression: a word boundary, then either a whole word followed
    by a boundary, or a prefix followed by anything. A prefix needs no
    `[\pL\pN]*` after it (any ending matches): that class inside the
    alternation made the search about 15 times slower on real posts.
#}
{% macro matches_keywords(stripped_text_column, keywords) -%}
    {%- set boundary = '[^\\pL\\pN]' -%}
    {%- set whole_words = [] -%}
    {%- set prefixes = [] -%}
    {%- for keyword in keywords -%}
        {%- set state = namespace(pattern=keyword | trim | lower) -%}
        {%- set is_prefix = state.pattern.endswith('*') -%}
        {%- if is_prefix -%}
            {%- set state.pattern = state.pattern[:-1] -%}
        {%- endif -%}
        {%- for special in ['\\', '.', '^', '$', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|'] -%}
            {%- set state.pattern = state.pattern.replace(special, '\\' ~ special) -%}
        {%- endfor -%}
        {%- set state.pattern = state.pattern.replace("'", "''") | replace(' ', '\\s+') -%}
        {%- do (prefixes if is_prefix else whole_words).append(state.pattern) -%}
    {%- endfor -%}
    {%- set alternatives = [] -%}
    {%- if whole_words -%}
        {%- do alternatives.append('(' ~ whole_words | join('|') ~ ')(' ~ boundary ~ '|$)') -%}
    {%- endif -%}
    {%- do alternatives.extend(prefixes) -%}
    {%- if alternatives | length == 0 -%}
        false
    {%- else -%}
        regexp_matches(
            {{ stripped_text_column }},
            strip_accents('(^|{{ boundary }})({{ alternatives | join("|") }})'),
            'i'
        )
    {%- endif -%}
{%- endmacro %}
