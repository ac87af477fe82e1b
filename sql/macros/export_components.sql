{% macro export_components() %}
    {#-
        The components an analytics export format says it feeds (raw.export_format_feeds,
        rapport.sources.contract.COMPONENTS, in that order; tests/unit/test_dbt_project.py keeps
        them in step): [component, the indicator it counts in (none: not scored), how a note names it].
        A component no format covering a week feeds is left out of its indicator that week
        (docs/methodology.md, Accounts read from analytics exports).
    -#}
    {{ return([
        ['answered_question_share', 'trust', 'answer rate'],
        ['response_time', 'trust', 'response time'],
        ['trust_presence', 'trust', 'presence'],
        ['dialogue_share', 'openness', 'dialogue share'],
        ['own_news_share', 'openness', 'own-news share'],
        ['directed_at_others_share', 'involvement', 'directed-at-others share'],
        ['non_promotional_share', 'involvement', 'non-promotional share'],
        ['effort', 'investment', 'effort'],
        ['accessibility_share', 'investment', 'alt text'],
        ['followers', none, 'followers'],
    ]) }}
{% endmacro %}


{% macro export_components_not_fed(indicator) %}
    {#- SQL: the components of `indicator` that none of the week's export formats feeds
        (export_components_not_fed), in words, joined with ' and ' ('dialogue share and alt text');
        '' when there are none, and in a week read from the API. -#}
    concat_ws(
        ' and '
    {%- for component in export_components() if component[1] == indicator %},
        case when list_contains(export_components_not_fed, '{{ component[0] }}') then '{{ component[2] }}' end
    {%- endfor %}
    )
{%- endmacro %}
