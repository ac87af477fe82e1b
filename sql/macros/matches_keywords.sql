{#
    A boolean SQL expression: true when `text_column` contains one of
    `keywords` as a whole word, case- and accent-insensitively. A keyword ending
    in * matches any ending of the word ("annonc*": annonce, annonçons); a space
    matches any run of white space. Keywords are plain words: other regular
    expression characters are escaped. NULL text gives NULL.
#}
{% macro matches_keywords(text_column, keywords) -%}
    {%- set word_character = '[\\pL\\pN]' -%}
    {%- set alternatives = [] -%}
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
        {%- do alternatives.append(state.pattern ~ (word_character ~ '*' if is_prefix else '')) -%}
    {%- endfor -%}
    {%- if alternatives | length == 0 -%}
        false
    {%- else -%}
        regexp_matches(
            strip_accents({{ text_column }}),
            strip_accents('(^|[^\pL\pN])({{ alternatives | join("|") }})([^\pL\pN]|$)'),
            'i'
        )
    {%- endif -%}
{%- endmacro %}
