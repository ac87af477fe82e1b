{#- The weighting and the peer-group minimum come from dbt_project.yml's vars
    (docs/methodology.md, Organizations). -#}
{%- set indicators = ['trust', 'openness', 'involvement', 'investment', 'commitment', 'overall'] -%}
{%- set min_peer_group_size = var('min_peer_group_size') -%}

with

account_scores as (
    select * from {{ ref('fct_relationship_scores') }}
),

organizations as (
    select * from {{ ref('dim_organizations') }}
),

-- Each account-week with its weight in its organization's means.
account_weeks_weighted as (
    select
        account_scores.*,
        {{ organization_account_weight('account_scores') }} as account_weight
    from account_scores
),

-- Each indicator: the weighted mean over the accounts that have it that week;
-- an account without it (NULL: inactive, an export week its files do not
-- cover...) is left out, and the weights of the others are renormalized.
organization_weeks_aggregated as (
    select
        organization_id,
        week_start_date,
        any_value(iso_year) as iso_year,
        any_value(iso_week) as iso_week,
        {%- for indicator in indicators %}
            sum(account_weight * {{ indicator }}_score)
            / nullif(sum(case when {{ indicator }}_score is not null then account_weight end), 0)
                as {{ indicator }}_value,
        {%- endfor %}
        count(*) filter (where overall_score is not null) as accounts_scored,
        -- Twice as fast as string_agg(distinct ... order by) at 10,000 organizations.
        nullif(
            array_to_string(
                list_sort(list_distinct(list(platform) filter (where overall_score is not null))), ','
            ),
            ''
        ) as platforms_scored
    from account_weeks_weighted
    group by
        organization_id,
        week_start_date
),

organization_weeks_scored as (
    select
        organization_weeks_aggregated.organization_id,
        organizations.organization_name,
        organizations.peer_group,
        organizations.size_band,
        organization_weeks_aggregated.week_start_date,
        organization_weeks_aggregated.iso_year,
        organization_weeks_aggregated.iso_week,
        {%- for indicator in indicators %}
            round(organization_weeks_aggregated.{{ indicator }}_value, 1) as {{ indicator }}_score,
        {%- endfor %}
        -- Accounts registered now: the registry keeps no history.
        organizations.registered_accounts as accounts_registered,
        organization_weeks_aggregated.accounts_scored,
        organization_weeks_aggregated.platforms_scored
    from organization_weeks_aggregated
    left join organizations
        on organization_weeks_aggregated.organization_id = organizations.organization_id
),

-- Why each NULL score is NULL, in the words of the accounts' score_notes.
notes_written as (
    select
        *,
        nullif(concat_ws(
            '; ',
            {%- for indicator in indicators %}
                case
                    when {{ indicator }}_score is null
                        then
                            '{{ indicator }}: no score for any of its '
                            || coalesce(accounts_registered, 0)
                            || ' registered account(s) this week (see their score_notes)'
                end{{ "," if not loop.last }}
            {%- endfor %}
        ), '') as score_notes
    from organization_weeks_scored
),

-- Changes of overall: the same organization 1 and 4 weeks earlier, joined by
-- date (not lag()), so a week without a row is no earlier week.
changes_measured as (
    select
        notes_written.*,
        notes_written.overall_score - week_before.overall_score as overall_change_1w,
        notes_written.overall_score - four_weeks_before.overall_score as overall_change_4w
    from notes_written
    left join notes_written as week_before
        on
            notes_written.organization_id = week_before.organization_id
            and notes_written.week_start_date - 7 = week_before.week_start_date
    left join notes_written as four_weeks_before
        on
            notes_written.organization_id = four_weeks_before.organization_id
            and notes_written.week_start_date - 28 = four_weeks_before.week_start_date
),

-- The organizations of each peer group with an overall score that week, ranked
-- (competition ranking: ties share the better rank).
peers_ranked as (
    select
        organization_id,
        week_start_date,
        rank() over (peer_weeks order by overall_score desc) as peer_rank,
        -- Share of the other ranked organizations it scores above: 100 first, 0 last.
        100 * percent_rank() over (peer_weeks order by overall_score asc) as peer_percentile
    from changes_measured
    where overall_score is not null and peer_group is not null
    window peer_weeks as (partition by peer_group, week_start_date)
),

peer_group_sizes as (
    select
        peer_group,
        week_start_date,
        count(*) filter (where overall_score is not null) as peer_group_size
    from changes_measured
    where peer_group is not null
    group by
        peer_group,
        week_start_date
),

-- In the contract's order: keys, scores and notes, coverage, changes, peers.
final as (
    select  -- noqa: ST06
        changes_measured.organization_id,
        changes_measured.organization_name,
        changes_measured.peer_group,
        changes_measured.size_band,
        changes_measured.week_start_date,
        changes_measured.iso_year,
        changes_measured.iso_week,
        '{{ var("methodology_version") }}' as methodology_version,
        {%- for indicator in indicators %}
            changes_measured.{{ indicator }}_score,
        {%- endfor %}
        changes_measured.score_notes,
        '{{ organization_weighting_text() }}' as weighting,
        changes_measured.accounts_registered,
        changes_measured.accounts_scored,
        changes_measured.platforms_scored,
        round(
            cast(changes_measured.accounts_scored as double)
            / nullif(changes_measured.accounts_registered, 0),
            4
        ) as coverage_share,
        round(changes_measured.overall_change_1w, 1) as overall_change_1w,
        round(changes_measured.overall_change_4w, 1) as overall_change_4w,
        peer_group_sizes.peer_group_size,
        case
            when peer_group_sizes.peer_group_size >= {{ min_peer_group_size }} then peers_ranked.peer_rank
        end as peer_rank,
        case
            when peer_group_sizes.peer_group_size >= {{ min_peer_group_size }}
                then round(peers_ranked.peer_percentile, 1)
        end as peer_percentile
    from changes_measured
    left join peer_group_sizes
        on
            changes_measured.peer_group = peer_group_sizes.peer_group
            and changes_measured.week_start_date = peer_group_sizes.week_start_date
    left join peers_ranked
        on
            changes_measured.organization_id = peers_ranked.organization_id
            and changes_measured.week_start_date = peers_ranked.week_start_date
)

select * from final
