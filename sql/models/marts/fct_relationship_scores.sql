{#- Every weight and threshold comes from dbt_project.yml's vars. -#}
{%- set response_time_target_hours = var('response_time_target_hours') -%}
{%- set response_time_ceiling_hours = var('response_time_ceiling_hours') -%}
{%- set window_length_weeks = var('commitment_window_weeks') -%}
{%- set min_history_weeks = var('commitment_min_history_weeks') -%}
{%- set busiest_weeks = var('burst_busiest_weeks') -%}
{%- set burst_threshold = var('burst_concentration_threshold') -%}
{%- set pseudo_count = var('shrinkage_pseudo_count') -%}
{%- set min_thread_coverage = var('min_thread_coverage') -%}
{#- States in which the platform no longer shows the account live: its weeks are not scored. -#}
{%- set inactive_states = "('suspended', 'moved', 'deactivated', 'taken_down')" -%}
{#- Live, or not known otherwise (before the account's first snapshot). -#}
{%- set is_live = "coalesce(account_state, 'active') not in " ~ inactive_states -%}
{#- Accounts read from analytics exports (docs/methodology.md): a week their files do not cover
    whole is not observed, and a component none of the week's formats feeds is not seen. A week
    read from the API (export_days_covered NULL) sees every component. -#}
{%- set is_observed = 'coalesce(export_days_covered, 7) = 7' -%}
{#- Scored: live, and, read from exports, a week its files cover whole. -#}
{%- set is_scored = is_live ~ ' and ' ~ is_observed -%}
{%- set seen = '(' ~ is_observed
    ~ " and not coalesce(list_contains(export_components_not_fed, 'COMPONENT'), false))" -%}
{#- Each rate component: [its name, the count it divides, the count it divides by, the weeks
    where, with nothing to divide by, it takes the account's habit, the export component it is]. -#}
{%- set acted = 'actions > 0' -%}
{%- set acted_or_asked = '(actions > 0 or questions_received > 0)' -%}
{%- set shrunk_rates = [
    ['answered_question_share', 'questions_answered', 'questions_decided', acted_or_asked,
        'answered_question_share'],
    ['response_time_value', 'coalesce(response_time_value, 0) * questions_answered', 'questions_answered',
        'questions_decided = 0 and ' ~ acted_or_asked, 'response_time'],
    ['dialogue_share', 'dialogue_replies', 'actions', acted, 'dialogue_share'],
    ['own_news_share', 'own_news_posts', 'original_posts', acted, 'own_news_share'],
    ['directed_at_others_share', 'actions_directed_at_others', 'actions - unresolved_replies', acted,
        'directed_at_others_share'],
    ['non_promotional_share', 'posts_with_text - promotional_posts', 'posts_with_text', acted,
        'non_promotional_share'],
    ['accessibility_share', 'accessible_posts', 'own_posts', acted, 'accessibility_share'],
] -%}

with

weekly_metrics as (
    -- The weeks to refresh and the weeks before them that their trailing
    -- windows read: the window's first week shrinks its rates toward the
    -- window before it, hence two windows less a week.
    select weekly_metrics.*
    from {{ ref('fct_account_weekly_metrics') }} as weekly_metrics
    {{ refreshed_only('weekly_metrics', 'weekly_metrics.week_start_date', 2 * (window_length_weeks | int) - 1) }}
),

-- The response time scored on 0-1: 1 at or under the target, 0 at or over the
-- ceiling, linear in between. The median over the week's answered questions,
-- counted as that many observations when shrunk.
response_times_scored as (
    select
        *,
        case
            when median_response_hours is null then null
            when median_response_hours <= {{ response_time_target_hours }} then 1.0
            when median_response_hours >= {{ response_time_ceiling_hours }} then 0.0
            else
                ({{ response_time_ceiling_hours }} - median_response_hours)
                / ({{ response_time_ceiling_hours }} - {{ response_time_target_hours }})
        end as response_time_value
    from weekly_metrics
),

-- Each rate's counts over the account's previous commitment_window_weeks
-- weeks (this week left out): its trailing pooled rate is their ratio. A
-- week that did not see the component (an export week) counts for nothing.
trailing_counts_summed as (
    select
        *,
    {%- for rate in shrunk_rates %}
        sum(case when {{ seen | replace('COMPONENT', rate[4]) }} then {{ rate[1] }} end)
            over trailing_weeks as trailing_{{ rate[0] }}_numerator,
        sum(case when {{ seen | replace('COMPONENT', rate[4]) }} then {{ rate[2] }} end)
            over trailing_weeks as trailing_{{ rate[0] }}_denominator{{ "," if not loop.last }}
    {%- endfor %}
    from response_times_scored
    window trailing_weeks as (
        partition by account_id
        order by week_start_date
        range between interval ({{ 7 * (window_length_weeks | int) }}) day preceding
        and interval 7 day preceding
    )
),

-- Empirical-Bayes shrinkage: (x + k·p) / (n + k), the week's x of n drawn
-- toward the trailing rate p with the weight of k pseudo-observations, so
-- one or two actions cannot swing a rate. Nothing to divide by this week
-- (n = 0): the same formula, that is p, in a week where the indicator is
-- scored, so the indicator keeps its composition instead of renormalizing;
-- else undefined. No earlier volume (no p): the week's own rate. A component
-- the week's export files do not show is undefined, never the 0 its counts give.
rates_shrunk as (
    select
        *,
    {%- for rate in shrunk_rates %}
        case
            when not {{ seen | replace('COMPONENT', rate[4]) }} then null
            when
                trailing_{{ rate[0] }}_denominator > 0
                and trailing_{{ rate[0] }}_numerator is not null
                and ({{ rate[2] }} > 0 or {{ rate[3] }})
                then
                    (
                        ({{ rate[1] }})
                        + {{ pseudo_count }} * trailing_{{ rate[0] }}_numerator
                        / trailing_{{ rate[0] }}_denominator
                    )
                    / ({{ rate[2] }} + {{ pseudo_count }})
            else {{ rate[0] }}
        end as shrunk_{{ rate[0] }}{{ "," if not loop.last }}
    {%- endfor %}
    from trailing_counts_summed
),

-- Components on a 0-1 scale; NULL when undefined, and then left out of their
-- indicator (the other components' weights are renormalized).
components_scored as (
    select
        *,
        case
            when questions_decided >= {{ var('min_questions_for_response_rate') }}
                then shrunk_answered_question_share
            -- Below the minimum: only the estimate drawn toward an earlier
            -- answer rate, mostly the answering habit (p with no question
            -- decided), rather than trust on presence alone.
            when
                trailing_answered_question_share_denominator > 0
                and trailing_answered_question_share_numerator is not null
                then shrunk_answered_question_share
        end as answered_question_component,
        -- Nobody asked: the habit. Questions left unanswered: left out, the
        -- answer rate counts the miss.
        shrunk_response_time_value as response_time_component,
        -- Presence: active days over the days that count as full presence, at
        -- most 1. It says something about trust only in a week where the public
        -- asked something or the organization acted.
        case
            when not {{ seen | replace('COMPONENT', 'trust_presence') }} then null
            when not (actions > 0 or questions_received > 0) then null
            when active_days >= {{ var('trust_presence_full_days') }} then 1.0
            else cast(active_days as double) / {{ var('trust_presence_full_days') }}
        end as trust_presence_share,
        -- Not a component of investment since 0.2 (presence counts in trust; effort
        -- already counts volume): kept as a column for the weekly report.
        case
            when active_days >= {{ var('investment_presence_full_days') }} then 1.0
            else cast(active_days as double) / {{ var('investment_presence_full_days') }}
        end as investment_presence_share,
        -- least() would ignore a NULL ratio (unknown size band) and return 1.
        case
            when not {{ seen | replace('COMPONENT', 'effort') }} then null
            when effort_ratio > 1 then 1.0
            else effort_ratio
        end as effort_component
    from rates_shrunk
),

indicators_scored as (
    select
        *,
        {{ renormalized_weighted_mean([
            ['answered_question_component', var('trust_weight_answered_question_share')],
            ['response_time_component', var('trust_weight_response_time')],
            ['trust_presence_share', var('trust_weight_presence')],
        ]) }} as trust_value,
        {{ renormalized_weighted_mean([
            ['shrunk_dialogue_share', var('openness_weight_dialogue_share')],
            ['shrunk_own_news_share', var('openness_weight_own_news_share')],
        ]) }} as openness_value,
        {{ renormalized_weighted_mean([
            ['shrunk_directed_at_others_share', var('involvement_weight_directed_at_others_share')],
            ['shrunk_non_promotional_share', var('involvement_weight_non_promotional_share')],
        ]) }} as involvement_value,
        {{ renormalized_weighted_mean([
            ['effort_component', var('investment_weight_effort')],
            ['shrunk_accessibility_share', var('investment_weight_accessibility')],
        ]) }} as investment_value
    from components_scored
),

-- Coverage (docs/methodology.md): a week with unread threads is never scored
-- as if nobody asked. Its questions and answers may sit in the unread
-- threads, so trust is undefined when too few threads were read, or when
-- some are unread and no public question was found in the others. An export
-- week's threads are never read: its rule is whether its files show the
-- public's questions and the answers (presence alone would read as trust).
trust_coverage_applied as (
    select
        * replace (
            case
                when export_days_covered is not null
                    then
                        case
                            when {{ seen | replace('COMPONENT', 'answered_question_share') }} then trust_value
                        end
                when thread_coverage < {{ min_thread_coverage }} then null
                when unread_threads > 0 and questions_received = 0 then null
                else trust_value
            end as trust_value
        )
    from indicators_scored
),

weekly_qualities_scored as (
    select
        *,
        -- The week's relationship quality: plain mean of the four indicators
        -- defined that week, the input of commitment's sustained quality.
        {{ renormalized_weighted_mean([
            ['trust_value', 1],
            ['openness_value', 1],
            ['involvement_value', 1],
            ['investment_value', 1],
        ]) }} as weekly_quality_value
    from trust_coverage_applied
),

-- Each week paired with the weeks of its trailing window, itself included.
window_weeks_paired as (
    select
        current_weeks.account_id,
        current_weeks.week_start_date,
        trailing_weeks.actions,
        trailing_weeks.is_active_week,
        trailing_weeks.weekly_quality_value
    from weekly_qualities_scored as current_weeks
    inner join weekly_qualities_scored as trailing_weeks
        on
            current_weeks.account_id = trailing_weeks.account_id
            and trailing_weeks.week_start_date
            between current_weeks.week_start_date - to_days(7 * ({{ window_length_weeks }} - 1))
            and current_weeks.week_start_date
            -- A week the account was not live, or that its export files do not
            -- cover, is no silence: out of the window.
            and (
                (
                    coalesce(trailing_weeks.account_state, 'active') not in {{ inactive_states }}
                    and coalesce(trailing_weeks.export_days_covered, 7) = 7
                )
                or current_weeks.week_start_date = trailing_weeks.week_start_date
            )
),

windows_aggregated as (
    select
        account_id,
        week_start_date,
        count(*) as window_weeks,
        count(*) filter (where is_active_week) as active_weeks_in_window,
        cast(sum(actions) as bigint) as window_actions,
        -- max(x, n): the window's n largest weekly action counts.
        cast(list_sum(max(actions, {{ busiest_weeks }})) as bigint) as busiest_weeks_actions,
        -- avg() skips the weeks where no indicator was defined.
        avg(weekly_quality_value) as sustained_quality_value
    from window_weeks_paired
    group by
        account_id,
        week_start_date
),

windows_measured as (
    select
        *,
        cast(active_weeks_in_window as double) / window_weeks as active_week_share,
        cast(busiest_weeks_actions as double) / nullif(window_actions, 0) as burst_concentration,
        -- A steady account's busiest weeks hold busiest/window of its actions:
        -- never count that baseline as a burst.
        greatest({{ burst_threshold }}, cast({{ busiest_weeks }} as double) / window_weeks) as burst_baseline
    from windows_aggregated
),

bursts_measured as (
    select
        *,
        -- Undefined without an action in the window, or when the window is no
        -- longer than the busiest weeks counted.
        case
            when window_actions > 0 and burst_baseline < 1
                then greatest(0.0, (burst_concentration - burst_baseline) / (1 - burst_baseline))
        end as burst_penalty
    from windows_measured
),

commitment_scored as (
    select
        weekly_qualities_scored.*,
        bursts_measured.window_weeks,
        bursts_measured.active_weeks_in_window,
        bursts_measured.window_actions,
        bursts_measured.active_week_share,
        bursts_measured.burst_concentration,
        bursts_measured.burst_penalty,
        bursts_measured.sustained_quality_value,
        case
            when weekly_qualities_scored.weeks_of_history >= {{ min_history_weeks }}
                then {{ renormalized_weighted_mean([
                    ['bursts_measured.sustained_quality_value', var('commitment_weight_sustained_quality')],
                    ['bursts_measured.active_week_share', var('commitment_weight_continuity')],
                    ['1 - bursts_measured.burst_penalty', var('commitment_weight_steadiness')],
                ]) }}
        end as commitment_value,
        -- Commitment's time components alone, for overall: the four weekly
        -- indicators already count there once, directly (methodology 0.2).
        case
            when weekly_qualities_scored.weeks_of_history >= {{ min_history_weeks }}
                then {{ renormalized_weighted_mean([
                    ['bursts_measured.active_week_share', var('commitment_weight_continuity')],
                    ['1 - bursts_measured.burst_penalty', var('commitment_weight_steadiness')],
                ]) }}
        end as commitment_over_time_value
    from weekly_qualities_scored
    inner join bursts_measured
        on
            weekly_qualities_scored.account_id = bursts_measured.account_id
            and weekly_qualities_scored.week_start_date = bursts_measured.week_start_date
),

overall_scored as (
    select
        *,
        {{ renormalized_weighted_mean([
            ['trust_value', var('overall_weight_trust')],
            ['openness_value', var('overall_weight_openness')],
            ['involvement_value', var('overall_weight_involvement')],
            ['investment_value', var('overall_weight_investment')],
            ['commitment_over_time_value', var('overall_weight_commitment')],
        ]) }} as overall_value
    from commitment_scored
),

-- A week the platform did not show the account live (suspended, moved,
-- deactivated, taken down) is a state, not a silence: no score at all. Nor
-- a week of an account read from exports that its files do not cover whole:
-- its posts are not all known.
unscored_weeks_applied as (
    select
        * replace (
            case when {{ is_scored }} then trust_value end as trust_value,
            case when {{ is_scored }} then openness_value end as openness_value,
            case when {{ is_scored }} then involvement_value end as involvement_value,
            case when {{ is_scored }} then investment_value end as investment_value,
            case when {{ is_scored }} then commitment_value end as commitment_value,
            case when {{ is_scored }} then commitment_over_time_value end as commitment_over_time_value,
            case when {{ is_scored }} then overall_value end as overall_value
        )
    from overall_scored
),

-- Per indicator, its components none of the week's export formats shows, in words.
unseen_components_named as (
    select
        *,
    {%- for indicator in ['trust', 'openness', 'involvement', 'investment'] %}
        {{ export_components_not_fed(indicator) }} as {{ indicator }}_unseen_components
        {{- "," if not loop.last }}
    {%- endfor %}
    from unscored_weeks_applied
),

unseen_components_noted as (
    select
        *,
    {%- for indicator in ['trust', 'openness', 'involvement', 'investment'] %}
        case
            when {{ indicator }}_unseen_components != ''
                then
                    format(
                        '{{ indicator }}: {} not in {}',
                        {{ indicator }}_unseen_components,
                        export_format_names
                    )
        end as {{ indicator }}_unseen_note{{ "," if not loop.last }}
    {%- endfor %}
    from unseen_components_named
),

-- Every NULL score with its reason, in words.
notes_written as (
    select
        *,
        nullif(
            concat_ws(
                '; ',
                case
                    when trust_value is not null then null
                    when
                        export_days_covered is not null
                        and not {{ seen | replace('COMPONENT', 'answered_question_share') }}
                        then format(
                            'trust: {} holds no comments: '
                            || 'the public''s questions and the answers are not seen',
                            export_format_names
                        )
                    when export_days_covered is null and thread_coverage < {{ min_thread_coverage }}
                        then format(
                            'trust: {} of {} threads with replies unread this week',
                            unread_threads,
                            threads_with_replies
                        )
                    when export_days_covered is null and unread_threads > 0 and questions_received = 0
                        then format(
                            'trust: {} of {} threads with replies unread this week, '
                            || 'no public question in the others',
                            unread_threads,
                            threads_with_replies
                        )
                    when questions_received = 0 and actions = 0
                        then 'trust: no public questions and no activity this week'
                    when trust_unseen_note is not null then trust_unseen_note
                    else 'trust: no component defined (check the trust weights)'
                end,
                case
                    when openness_value is not null then null
                    when actions = 0 then 'openness: no actions this week'
                    when openness_unseen_note is not null then openness_unseen_note
                    else 'openness: no component defined (check the openness weights)'
                end,
                case
                    when involvement_value is not null then null
                    when actions = 0 then 'involvement: no actions this week'
                    when involvement_unseen_note is not null then involvement_unseen_note
                    else 'involvement: no component defined (check the involvement weights)'
                end,
                case
                    when investment_value is not null then null
                    when expected_weekly_actions is null
                        then 'investment: size band unknown, no expected weekly actions'
                    when investment_unseen_note is not null then investment_unseen_note
                    else 'investment: no component defined (check the investment weights)'
                end,
                case
                    when commitment_value is not null then null
                    when weeks_of_history < {{ min_history_weeks }} and is_created_in_span
                        then format(
                            'commitment: new account, {} week(s) of history, fewer than the {} required',
                            weeks_of_history,
                            {{ min_history_weeks }}
                        )
                    -- An older account whose history read is still short.
                    when weeks_of_history < {{ min_history_weeks }}
                        then format(
                            'commitment: {} week(s) of history read, fewer than the {} required',
                            weeks_of_history,
                            {{ min_history_weeks }}
                        )
                    else 'commitment: no component defined (check the commitment weights)'
                end,
                case
                    when overall_value is null then 'overall: no indicator defined'
                end
            ),
            ''
        ) as score_notes,
        -- What a scored export week left out because its files do not show it.
        case
            when export_days_covered = 7
                then nullif(
                    concat_ws(
                        '; ',
                        trust_unseen_note,
                        openness_unseen_note,
                        involvement_unseen_note,
                        investment_unseen_note
                    ),
                    ''
                )
        end as coverage_notes
    from unseen_components_noted
),

-- The state, alone, is the reason of a week that is not scored for it; the
-- export files' coverage, of a week they do not cover whole.
unscored_week_notes_written as (
    select
        * replace (
            case
                when account_state = 'suspended' then 'account: suspended on the platform'
                when account_state = 'deactivated' then 'account: deactivated on the platform'
                when account_state = 'taken_down' then 'account: taken down on the platform'
                when account_state = 'moved'
                    then 'account: moved to ' || coalesce(moved_to_handle, 'another account')
                when export_days_covered = 0 then 'exports: no file covers this week'
                when export_days_covered < 7
                    then format('exports: the files cover {} of its 7 days', export_days_covered)
                else score_notes
            end as score_notes
        )
    from notes_written
),

-- Only the weeks to refresh: the earlier ones were read for their trailing windows alone.
weeks_refreshed as (
    select unscored_week_notes_written.*
    from unscored_week_notes_written
    {{ refreshed_only('unscored_week_notes_written', 'unscored_week_notes_written.week_start_date') }}
),

-- Keys, scores and notes first, then the components they were computed from.
final as (
    select  -- noqa: ST06
        account_id,
        organization_id,
        platform,
        week_start_date,
        iso_year,
        iso_week,
        '{{ var("methodology_version") }}' as methodology_version,
        round(100 * trust_value, 1) as trust_score,
        round(100 * openness_value, 1) as openness_score,
        round(100 * involvement_value, 1) as involvement_score,
        round(100 * investment_value, 1) as investment_score,
        round(100 * commitment_value, 1) as commitment_score,
        round(100 * overall_value, 1) as overall_score,
        score_notes,
        coverage_notes,
        -- What the week's scores did not see (docs/methodology.md, Coverage).
        threads_with_replies,
        threads_read,
        unread_threads,
        round(thread_coverage, 4) as thread_coverage,
        unresolved_replies,
        export_formats,
        export_days_covered,
        size_band,
        weeks_of_history,
        actions,
        active_days,
        questions_received,
        questions_pending,
        questions_decided,
        questions_answered,
        round(answered_question_share, 4) as answered_question_share,
        round(median_response_hours, 2) as median_response_hours,
        round(100 * response_time_value, 1) as response_time_score,
        replies_to_public,
        round(reply_share, 4) as reply_share,
        replies_on_others_posts,
        dialogue_replies,
        round(dialogue_share, 4) as dialogue_share,
        original_posts,
        own_news_posts,
        round(own_news_share, 4) as own_news_share,
        actions_directed_at_others,
        round(directed_at_others_share, 4) as directed_at_others_share,
        posts_with_text,
        promotional_posts,
        round(non_promotional_share, 4) as non_promotional_share,
        expected_weekly_actions,
        round(effort_ratio, 4) as effort_ratio,
        media_attachments,
        media_with_alt_text,
        round(alt_text_share, 4) as alt_text_share,
        own_posts,
        accessible_posts,
        round(accessibility_share, 4) as accessibility_share,
        round(trust_presence_share, 4) as trust_presence_share,
        round(investment_presence_share, 4) as investment_presence_share,
        window_weeks,
        active_weeks_in_window,
        round(active_week_share, 4) as active_week_share,
        window_actions,
        round(burst_concentration, 4) as burst_concentration,
        round(burst_penalty, 4) as burst_penalty,
        round(100 * sustained_quality_value, 1) as sustained_quality_score,
        round(100 * commitment_over_time_value, 1) as commitment_over_time_score,
        round(100 * shrunk_response_time_value, 1) as shrunk_response_time_score,
    {%- for rate in shrunk_rates if rate[0] != 'response_time_value' %}
        round(shrunk_{{ rate[0] }}, 4) as shrunk_{{ rate[0] }}{{ "," if not loop.last }}
    {%- endfor %}
    from weeks_refreshed
)

select * from final
