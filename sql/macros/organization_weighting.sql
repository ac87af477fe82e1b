{#-
    How an organization's scores weigh its accounts (docs/methodology.md,
    Organizations), written once for fct_organization_weekly_scores and
    fct_score_changes.
-#}

{% macro organization_account_weight(relation_alias) %}
    {#- SQL: an account-week's weight in its organization's means, from the columns of
        fct_relationship_scores aliased `relation_alias`. -#}
    {%- set weighting = var('organization_weighting') -%}
    {%- if weighting == 'activity' -%}
        (
            {{ var('organization_account_base_weight') }}
            + coalesce({{ relation_alias }}.actions, 0)
            + coalesce({{ relation_alias }}.questions_received, 0)
        )
    {%- elif weighting == 'equal' -%}
        1
    {%- else -%}
        {#- DuckDB's error(): the build stops on the first row. -#}
        error('var organization_weighting must be activity or equal, not {{ weighting }}')
    {%- endif -%}
{% endmacro %}


{% macro organization_weighting_text() %}
    {#- The weighting in words, written on every row of fct_organization_weekly_scores. -#}
    {%- if var('organization_weighting') == 'activity' -%}
        {{ return(
            'activity: each account weighs ' ~ var('organization_account_base_weight')
            ~ ' + its actions + the public questions it received that week'
        ) }}
    {%- else -%}
        {{ return('equal: each account weighs 1') }}
    {%- endif -%}
{% endmacro %}
