{#- The relationship-health alerts (docs/methodology.md, Alerts): their thresholds are vars. -#}
{%- set drop_points = var('alert_drop_points') -%}
{%- set silent_days = var('alert_silent_days') -%}
{%- set min_response_rate = var('alert_min_response_rate') -%}
{%- set min_actions = var('alert_min_actions_for_drop') -%}
{#- Rates of the week's actions and questions: a drop between weeks of too few actions is the
    count moving, not the behaviour. Investment scores the volume itself and commitment a
    window of weeks: their drops alert whatever the week's volume. -#}
{%- set volume_bound_indicators = ['trust', 'openness', 'involvement'] -%}
{%- set indicators = volume_bound_indicators + ['investment', 'commitment'] -%}
{%- set inactive_states = "('suspended', 'moved', 'deactivated', 'taken_down')" -%}
with

scores as (
    select * from {{ ref('fct_relationship_scores') }}
),

metrics as (
    select * from {{ ref('fct_account_weekly_metrics') }}
),

-- A week the platform did not show the account live, or that an account's
-- export files do not cover whole, is not observed: it neither alerts nor
-- counts as silent.
account_weeks as (
    select
        scores.account_id,
        scores.organization_id,
        scores.platform,
        scores.week_start_date,
        {%- for indicator in indicators %}
            scores.{{ indicator }}_score,
        {%- endfor %}
        scores.actions,
        metrics.active_days,
        scores.questions_answered,
        scores.questions_decided,
        scores.answered_question_share,
        strftime(scores.week_start_date, '%G-W%V') as week_label,
        coalesce(metrics.account_state, 'active') not in {{ inactive_states }}
        and coalesce(scores.export_days_covered, 7) = 7 as is_observed
    from scores
    inner join metrics
        on
            scores.account_id = metrics.account_id
            and scores.week_start_date = metrics.week_start_date
),

compared_to_previous_week as (
    select
        current_week.*,
        {%- for indicator in indicators %}
            previous_week.{{ indicator }}_score as previous_{{ indicator }}_score,
        {%- endfor %}
        least(current_week.actions, previous_week.actions) >= {{ min_actions }} as has_enough_actions
    from account_weeks as current_week
    inner join account_weeks as previous_week
        on
            current_week.account_id = previous_week.account_id
            and current_week.week_start_date = previous_week.week_start_date + interval 7 day
),

score_drops as (
    {%- for indicator in indicators %}
        select
            'score_drop' as alert_rule,
            account_id,
            organization_id,
            platform,
            week_start_date,
            '{{ indicator }}' as indicator,
            {{ loop.index }} as indicator_order,
            {{ indicator }}_score as value,  -- noqa: RF04
            previous_{{ indicator }}_score as previous_value,
            cast({{ drop_points }} as double) as threshold,
            format(
                '{} fell {:.1f} points in week {}, from {:.1f} to {:.1f}',
                '{{ indicator }}',
                previous_{{ indicator }}_score - {{ indicator }}_score,
                week_label,
                previous_{{ indicator }}_score,
                {{ indicator }}_score
            ) as message
        from compared_to_previous_week
        where
            previous_{{ indicator }}_score - {{ indicator }}_score > {{ drop_points }}
            {%- if indicator in volume_bound_indicators %}
                and has_enough_actions
            {%- endif %}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

-- The silent streak ending each week: the weeks since the account's last week
-- with an action or an active day, or not observed (which breaks a streak).
silence_marked as (
    select
        *,
        is_observed and coalesce(actions = 0 and coalesce(active_days, 0) = 0, false) as is_silent
    from account_weeks
),

silence_tracked as (
    select
        *,
        max(case when not is_silent then week_start_date end)
            over (account_history) as last_unsilent_week_start_date,
        min(week_start_date) over (account_history) as first_week_start_date
    from silence_marked
    -- Ordered by week, one row each: the frame runs from the account's first week to this one.
    window account_history as (partition by account_id order by week_start_date)
),

silent_streaks as (
    select
        *,
        case
            when last_unsilent_week_start_date is null
                then date_diff('day', first_week_start_date, week_start_date) // 7 + 1
            else date_diff('day', last_unsilent_week_start_date, week_start_date) // 7
        end as silent_weeks
    from silence_tracked
    where is_silent
),

silent_accounts as (
    select
        'silent_account' as alert_rule,
        account_id,
        organization_id,
        platform,
        week_start_date,
        null as indicator,
        0 as indicator_order,
        cast(silent_weeks * 7 as double) as value,  -- noqa: RF04
        cast(null as double) as previous_value,
        cast({{ silent_days }} as double) as threshold,
        format(
            'no action for at least {} days: {} silent weeks {}, {} to {}',
            silent_weeks * 7,
            silent_weeks,
            case
                when last_unsilent_week_start_date is null then 'since its first scored week' else 'in a row'
            end,
            strftime(week_start_date - to_days(7 * (silent_weeks - 1)), '%Y-%m-%d'),
            strftime(week_start_date + interval 6 day, '%Y-%m-%d')
        ) as message
    from silent_streaks
    -- The weekly metrics count actions per week, not per day: silence is counted in whole weeks.
    where silent_weeks >= ceil({{ silent_days }} / 7)
),

low_response_rates as (
    select
        'low_response_rate' as alert_rule,
        account_id,
        organization_id,
        platform,
        week_start_date,
        null as indicator,
        0 as indicator_order,
        answered_question_share as value,  -- noqa: RF04
        cast(null as double) as previous_value,
        cast({{ min_response_rate }} as double) as threshold,
        format(
            'answered {} of {} public questions ({:.0f}%) in week {}, under the {:.0f}% expected',
            questions_answered,
            questions_decided,
            100 * answered_question_share,
            week_label,
            100 * {{ min_response_rate }}
        ) as message
    from account_weeks
    where is_observed and answered_question_share < {{ min_response_rate }}
),

alerts_unioned as (
    select
        *,
        1 as rule_order
    from score_drops
    union all
    select
        *,
        2 as rule_order
    from silent_accounts
    union all
    select
        *,
        3 as rule_order
    from low_response_rates
),

final as (
    select
        alert_rule,
        'account' as subject_type,
        account_id as subject_id,
        organization_id,
        account_id,
        platform,
        week_start_date,
        cast(indicator as varchar) as indicator,
        threshold,
        message,
        concat_ws('|', alert_rule, account_id, week_start_date, indicator) as alert_id,
        round(value, 4) as value,  -- noqa: RF04
        round(previous_value, 4) as previous_value
    from alerts_unioned
    order by organization_id, account_id, week_start_date, rule_order, indicator_order
)

select * from final
