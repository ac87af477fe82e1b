{#
    Generic test: no two rows of `model` share the same values of
    `combination_of_columns` (a composite primary key). Fails with one row per
    duplicated combination.
#}
{% macro test_unique_combination_of_columns(model, combination_of_columns) -%}
    select
        {{ combination_of_columns | join(",\n        ") }},
        count(*) as row_count
    from {{ model }}
    group by {{ combination_of_columns | join(", ") }}
    having count(*) > 1
{%- endmacro %}
