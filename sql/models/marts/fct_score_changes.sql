{#- The facts behind each "what moved" sentence: every indicator's score and the
    components of fct_relationship_scores it is computed from, [indicator,
    component (its column there), unit, its value as scored]. -#}
{%- set facts = [
    ['trust', 'score', 'points', 'trust_score'],
    ['trust', 'shrunk_answered_question_share', 'share', 'shrunk_answered_question_share'],
    ['trust', 'shrunk_response_time_score', 'points', 'shrunk_response_time_score'],
    ['trust', 'median_response_hours', 'hours', 'median_response_hours'],
    ['trust', 'trust_presence_share', 'share', 'trust_presence_share'],
    ['openness', 'score', 'points', 'openness_score'],
    ['openness', 'shrunk_dialogue_share', 'share', 'shrunk_dialogue_share'],
    ['openness', 'shrunk_own_news_share', 'share', 'shrunk_own_news_share'],
    ['involvement', 'score', 'points', 'involvement_score'],
    ['involvement', 'shrunk_directed_at_others_share', 'share', 'shrunk_directed_at_others_share'],
    ['involvement', 'shrunk_non_promotional_share', 'share', 'shrunk_non_promotional_share'],
    ['investment', 'score', 'points', 'investment_score'],
    ['investment', 'effort_ratio', 'share', 'least(effort_ratio, 1.0)'],
    ['investment', 'shrunk_accessibility_share', 'share', 'shrunk_accessibility_share'],
    ['commitment', 'score', 'points', 'commitment_score'],
    ['commitment', 'sustained_quality_score', 'points', 'sustained_quality_score'],
    ['commitment', 'active_week_share', 'share', 'active_week_share'],
    ['commitment', 'burst_penalty', 'share', 'burst_penalty'],
    ['overall', 'score', 'points', 'overall_score'],
] -%}
{%- set components = facts | rejectattr(1, 'equalto', 'score') | list -%}
{#- One list of the subject-week's facts, its value and the week before's. -#}
{%- set facts_paired -%}
    [
    {%- for fact in facts %}
        {
            'indicator': '{{ fact[0] }}',
            'component': '{{ fact[1] }}',
            'unit': '{{ fact[2] }}',
            'value': cast(current_weeks.{{ fact[0] }}__{{ fact[1] }} as double),
            'previous_value': cast(previous_weeks.{{ fact[0] }}__{{ fact[1] }} as double)
        }{{ "," if not loop.last }}
    {%- endfor %}
    ]
{%- endset -%}

with

account_scores as (
    select * from {{ ref('fct_relationship_scores') }}
),

organization_scores as (
    select * from {{ ref('fct_organization_weekly_scores') }}
),

-- Each account-week's facts, wide.
account_weeks as (
    select
        account_scores.account_id,
        account_scores.organization_id,
        account_scores.platform,
        account_scores.week_start_date,
    {%- for fact in facts %}
        {{ fact[3] }} as {{ fact[0] }}__{{ fact[1] }}{{ "," if not loop.last }}
    {%- endfor %}
    from account_scores
),

-- Every account-week, with its weight in its organization's means
-- (docs/methodology.md, Organizations).
organization_account_weeks as (
    select
        account_scores.organization_id,
        account_scores.week_start_date,
        {{ organization_account_weight('account_scores') }} as account_weight,
    {%- for fact in components %}
        {{ fact[3] }} as {{ fact[0] }}__{{ fact[1] }}{{ "," if not loop.last }}
    {%- endfor %}
    from account_scores
),

-- Each component of an organization: the weighted mean over the accounts that
-- have it, as its scores are (fct_organization_weekly_scores).
organization_components_aggregated as (
    select
        organization_id,
        week_start_date,
    {%- for fact in components %}
        sum(account_weight * {{ fact[0] }}__{{ fact[1] }})
        / nullif(sum(case when {{ fact[0] }}__{{ fact[1] }} is not null then account_weight end), 0)
            as {{ fact[0] }}__{{ fact[1] }}{{ "," if not loop.last }}
    {%- endfor %}
    from organization_account_weeks
    group by
        organization_id,
        week_start_date
),

organization_weeks as (
    select
        organization_scores.organization_id,
        organization_scores.week_start_date,
    {%- for fact in facts %}
    {%- if fact[1] == 'score' %}
        organization_scores.{{ fact[3] }} as {{ fact[0] }}__{{ fact[1] }}{{ "," if not loop.last }}
    {%- else %}
        round(
            organization_components_aggregated.{{ fact[0] }}__{{ fact[1] }},
            {{ {'points': 1, 'hours': 2}.get(fact[2], 4) }}
        ) as {{ fact[0] }}__{{ fact[1] }}{{ "," if not loop.last }}
    {%- endif %}
    {%- endfor %}
    from organization_scores
    left join organization_components_aggregated
        on
            organization_scores.organization_id = organization_components_aggregated.organization_id
            and organization_scores.week_start_date = organization_components_aggregated.week_start_date
),

-- Each subject-week beside the week before (joined by date, not lag(): a
-- subject without a row that week has no previous values).
account_facts_paired as (
    select
        'account' as subject_type,
        current_weeks.account_id as subject_id,
        current_weeks.organization_id,
        current_weeks.account_id,
        current_weeks.platform,
        current_weeks.week_start_date,
        previous_weeks.week_start_date as previous_week_start_date,
        unnest({{ facts_paired }}, recursive := true)
    from account_weeks as current_weeks
    left join account_weeks as previous_weeks
        on
            current_weeks.account_id = previous_weeks.account_id
            and current_weeks.week_start_date - 7 = previous_weeks.week_start_date
),

organization_facts_paired as (
    select
        'organization' as subject_type,
        current_weeks.organization_id as subject_id,
        current_weeks.organization_id,
        cast(null as varchar) as account_id,
        cast(null as varchar) as platform,
        current_weeks.week_start_date,
        previous_weeks.week_start_date as previous_week_start_date,
        unnest({{ facts_paired }}, recursive := true)
    from organization_weeks as current_weeks
    left join organization_weeks as previous_weeks
        on
            current_weeks.organization_id = previous_weeks.organization_id
            and current_weeks.week_start_date - 7 = previous_weeks.week_start_date
),

facts_unioned as (
    select * from account_facts_paired
    union all by name
    select * from organization_facts_paired
),

final as (
    select
        subject_type,
        subject_id,
        organization_id,
        account_id,
        platform,
        week_start_date,
        previous_week_start_date,
        indicator,
        component,
        unit,
        value,
        previous_value,
        -- Rounded as the values are: points to 0.1, hours to 0.01, shares to 0.0001.
        case unit
            when 'points' then round(value - previous_value, 1)
            when 'hours' then round(value - previous_value, 2)
            else round(value - previous_value, 4)
        end as change  -- noqa: RF04
    from facts_unioned
)

select * from final
