{#
    The weighted mean of the components that are defined (not NULL), each
    weight divided by the sum of the weights of the defined components; NULL
    when no component is defined (or their weights sum to 0).
    `components` is a list of [sql_expression, weight] pairs.
#}
{% macro renormalized_weighted_mean(components) -%}
    (
        (
    {%- for component in components %}
            coalesce({{ component[1] }} * ({{ component[0] }}), 0){{ " +" if not loop.last }}
    {%- endfor %}
        )
        / nullif(
            (
    {%- for component in components %}
                case when ({{ component[0] }}) is not null then {{ component[1] }} else 0 end{{ " +" if not loop.last }}
    {%- endfor %}
            ),
            0
        )
    )
{%- endmacro %}
