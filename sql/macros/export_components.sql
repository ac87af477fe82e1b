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
