{#-
    Incremental refresh, shared by the incremental models (see docs/adr/0005).

    A nightly run loads a few days per account (its extraction window: the
    watermark less the lookback). The incremental models recompute, per
    account, every week from the Monday before the earliest window loaded
    since the model last ran: the week before catches a question answered in
    the next week and the week-on-week follower change, and every later week
    is recomputed, so the trailing windows of commitment are too. Older weeks
    are left as they are.

    The whole model is recomputed instead when it is built for the first time
    or with --full-refresh (dbt's own is_incremental()), when the scoring
    configuration changed since (any var of dbt_project.yml, or the registry:
    an organization's size band sets its expected effort), or for an account
    whose batches carry no window (loaded before windows were recorded).

    What each model last incorporated is kept in intermediate.refresh_state
    (one row per model: the latest load_batches.loaded_at it included and the
    configuration hash), written by its post-hook, so the models' own rows
    carry no bookkeeping and a re-run of a date leaves them identical.
-#}

{% macro scoring_configuration_names() %}
    {#- Every var of dbt_project.yml: tests/unit/test_dbt_project.py keeps this list complete. -#}
    {{ return([
        'methodology_version',
        'question_answer_window_days',
        'trust_weight_answered_question_share', 'trust_weight_response_time', 'trust_weight_presence',
        'trust_presence_full_days', 'min_questions_for_response_rate',
        'response_time_target_hours', 'response_time_ceiling_hours',
        'openness_weight_dialogue_share', 'openness_weight_own_news_share',
        'involvement_weight_directed_at_others_share', 'involvement_weight_non_promotional_share',
        'investment_weight_effort', 'investment_weight_accessibility',
        'expected_weekly_actions_small', 'expected_weekly_actions_medium', 'expected_weekly_actions_large',
        'investment_presence_full_days',
        'commitment_window_weeks', 'commitment_min_history_weeks',
        'commitment_weight_sustained_quality', 'commitment_weight_continuity', 'commitment_weight_steadiness',
        'burst_busiest_weeks', 'burst_concentration_threshold',
        'shrinkage_pseudo_count', 'min_thread_coverage',
        'overall_weight_trust', 'overall_weight_openness', 'overall_weight_involvement',
        'overall_weight_investment', 'overall_weight_commitment',
        'organization_weighting', 'organization_account_base_weight', 'min_peer_group_size',
        'own_news_keywords_en', 'own_news_keywords_fr', 'promotional_keywords_en', 'promotional_keywords_fr',
        'alert_drop_points', 'alert_silent_days', 'alert_min_response_rate', 'alert_min_actions_for_drop',
    ]) }}
{% endmacro %}


{% macro scoring_configuration_hash() %}
    {#- md5 of every var's value and of the registry's organizations: what a score depends on
        besides the data. -#}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set values = {} -%}
    {%- for name in scoring_configuration_names() -%}
        {%- do values.update({name: var(name)}) -%}
    {%- endfor -%}
    {%- set registry = '' -%}
    {%- set organizations = raw_relation('organizations') -%}
    {%- if organizations is not none -%}
        {%- set result = run_query(
            "select coalesce(string_agg(concat_ws('|', organization_id, size_band, peer_group), ',' "
            ~ "order by organization_id), '') from " ~ organizations
        ) -%}
        {%- set registry = result.columns[0].values()[0] -%}
    {%- endif -%}
    {{ return(local_md5(tojson(values, sort_keys=true) ~ '#' ~ registry)) }}
{% endmacro %}


{% macro raw_relation(name) %}
    {#-
        A raw table read while compiling, or none before the first load. Not
        source(): a unit test would then need it as a given input, and these
        reads are bookkeeping, not lineage.
    -#}
    {{ return(adapter.get_relation(database=target.database, schema='raw', identifier=name)) }}
{% endmacro %}


{% macro refresh_state_relation() %}
    {{ return(api.Relation.create(
        database=target.database, schema='intermediate', identifier='refresh_state'
    )) }}
{% endmacro %}


{% macro create_refresh_state() %}
{#- on-run-start -#}
create schema if not exists {{ refresh_state_relation().without_identifier() }};
    create table if not exists {{ refresh_state_relation() }} (
        model_name varchar primary key,
        loaded_through_at timestamp,
        scoring_configuration_hash varchar not null,
        refreshed_at timestamp not null,
        refreshed_since_loaded_at timestamp
    );
-- Warehouses built before the column was added: their next tests read every row.
alter table {{ refresh_state_relation() }} add column if not exists refreshed_since_loaded_at timestamp
{% endmacro %}


{% macro record_refresh() %}
    {#- post-hook of an incremental model: what this build incorporated, and since when it
        refreshed (NULL: every row), which its tests read (macros/get_where_subquery.sql). -#}
    {%- set load_batches = raw_relation('load_batches') if execute else none -%}
insert or replace into {{ refresh_state_relation() }} by name select
        '{{ this.identifier }}' as model_name,
        {% if load_batches is not none %}(select max(loaded_at) from {{ load_batches }}){% else %}null{% endif %}
            as loaded_through_at,
        '{{ scoring_configuration_hash() }}' as scoring_configuration_hash,
        current_timestamp as refreshed_at,
        {% if is_refreshing_whole() %}null{% else %}{{ watermark(this.identifier) }}{% endif %}
            as refreshed_since_loaded_at
{% endmacro %}


{% macro watermark(model_name) %}
    {#- SQL: the latest load_batches.loaded_at a model has incorporated (1900 when none). -#}
    (
        select coalesce(max(loaded_through_at), timestamp '1900-01-01')
        from {{ refresh_state_relation() }}
        where model_name = '{{ model_name }}'
    )
{%- endmacro %}


{% macro accounts_to_refresh(loaded_after, load_batches) %}
    {#- SQL: per account with batches loaded after `loaded_after` (an SQL timestamp), the first
        week to refresh: the Monday before its earliest extraction window. -#}
    select
        account_id,
        min(coalesce(cast(date_trunc('week', window_since) as date) - 7, date '1900-01-01'))
            as refresh_from_date
    from {{ load_batches }}
    where loaded_at > {{ loaded_after }}
    group by account_id
{%- endmacro %}


{% macro is_refreshing_whole() %}
    {#- True when this build recomputes every row: first build, --full-refresh, or a changed
        configuration. -#}
    {%- if this is none or not execute -%}
        {{ return(true) }}  {#- this is none in unit tests -#}
    {%- endif -%}
    {%- if not is_incremental() -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set result = run_query(
        "select count(*) from " ~ refresh_state_relation() ~ " where model_name = '" ~ this.identifier
        ~ "' and scoring_configuration_hash = '" ~ scoring_configuration_hash() ~ "'"
    ) -%}
    {{ return(result.columns[0].values()[0] == 0) }}
{% endmacro %}


{% macro refreshed_only(relation_alias, date_expression, weeks_before=0) %}
    {#-
        A join keeping the rows of the accounts and weeks to refresh (nothing
        when the whole model is recomputed): rows of `relation_alias` whose
        `date_expression` is on or after the account's first week to refresh,
        less `weeks_before` weeks of context (a trailing window's inputs).
    -#}
    {%- if not is_refreshing_whole() %}
    inner join (
        {{ accounts_to_refresh(watermark(this.identifier), source('social', 'load_batches')) }}
    ) as accounts_to_refresh
        on
            {{ relation_alias }}.account_id = accounts_to_refresh.account_id
            and {{ date_expression }} >= accounts_to_refresh.refresh_from_date - {{ 7 * (weeks_before | int) }}
    {%- endif %}
{% endmacro %}


{% macro delete_unregistered_accounts() %}
{#- post-hook: an account removed from the registry leaves the incremental models with it. -#}
delete from {{ this }} where account_id not in (select account_id from {{ source('social', 'accounts') }})
{% endmacro %}


{% macro after_incremental_build() %}
    {{ delete_unregistered_accounts() }};
    {{ record_refresh() }}
{% endmacro %}
