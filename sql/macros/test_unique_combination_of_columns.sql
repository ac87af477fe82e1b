{#
    Generic test: no two rows of `model` share the same values of
    `combination_of_columns` (a composite primary key). Fails with one row per
    duplicated combination.

    The rows are grouped by one 64-bit hash of the combination first, and only
    the rows of a hash seen twice are grouped by the columns themselves: a
    hash collision is confirmed or dismissed there, so the test stays exact.
    Grouping tens of millions of rows on a number instead of on several texts
    costs about half the time.
#}
{% macro test_unique_combination_of_columns(model, combination_of_columns) -%}
    {%- set columns = combination_of_columns | join(", ") -%}
    with

    hashes_seen_twice as (
        select hash({{ columns }}) as combination_hash
        from {{ model }}
        group by combination_hash
        having count(*) > 1
    )

    select
        {{ combination_of_columns | join(",\n        ") }},
        count(*) as row_count
    from {{ model }}
    where hash({{ columns }}) in (select combination_hash from hashes_seen_twice)
    group by {{ columns }}
    having count(*) > 1
{%- endmacro %}
