{#-
    dbt's hook for a data test's `where` config (ADR 0006), overridden for one
    placeholder that dbt_project.yml sets on every data test:
    `__changed_rows__`, the rows that the build (or the loads since the last
    one) may have changed. A test then reads those rows only, and a nightly
    build tests what it wrote instead of every year of history:

    - an incremental model: the accounts and weeks its latest build refreshed
      (every row when it was recomputed whole; intermediate.refresh_state);
    - a staging model with observed_at (posts, interactions, snapshots): the
      rows observed since the oldest batch loaded after the last complete
      build (every row before the first one). The loader merges on the keys,
      so a row it did not write cannot have changed;
    - any other model (the small dimensions, views over them), every model in
      a --full-refresh build, and in SQL compiled without running it
      (`dbt compile`, `dbt docs generate`): every row.

    Any other `where` is applied as dbt applies it.
-#}

{% macro get_where_subquery(relation) %}
    {#- `relation` wrapped in its test's `where`, the placeholder replaced. -#}
    {%- set where = config.get('where') -%}
    {%- if where and '__changed_rows__' in where -%}
        {%- set where = where | replace('__changed_rows__', changed_rows(relation)) -%}
    {%- endif -%}
    {%- if where -%}
        {{ return('(select * from ' ~ relation ~ ' as tested where ' ~ where ~ ') as dbt_subquery') }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{% endmacro %}


{% macro changed_rows(relation) %}
    {#- An SQL condition on the rows of `relation` (aliased `tested`): see above. Read from the
        warehouse as the test is compiled, after its model was built. -#}
    {%- set load_batches = raw_relation('load_batches') if execute else none -%}
    {%- set node_id = 'model.' ~ project_name ~ '.' ~ relation.identifier -%}
    {%- set node = graph.nodes.get(node_id) if execute else none -%}
    {%- set compiled_only = flags.WHICH not in ('build', 'test') -%}
    {%- if load_batches is none or node is none or flags.FULL_REFRESH or compiled_only -%}
        {{ return('true') }}
    {%- elif node.config.materialized == 'incremental' -%}
        {%- set since = scalar(
            "select cast(refreshed_since_loaded_at as varchar) from " ~ refresh_state_relation()
            ~ " where model_name = '" ~ relation.identifier ~ "'"
        ) -%}
        {%- if since is none -%}
            {{ return('true') }}
        {%- endif -%}
        {%- set condition -%}
            exists (
                select refreshed.account_id
                from ({{ accounts_to_refresh("timestamp '" ~ since ~ "'", load_batches) }}) as refreshed
                where
                    refreshed.account_id = tested.account_id
                    and tested.week_start_date >= refreshed.refresh_from_date
            )
        {%- endset -%}
        {{ return(condition) }}
    {%- elif 'observed_at' in node.columns -%}
        {#- The oldest watermark of the incremental models; none while one has never been built. -#}
        {%- set built_through = scalar(
            "select case when count(*) = " ~ incremental_model_count() ~ " then cast(min(loaded_through_at) as varchar) end"
            ~ " from " ~ refresh_state_relation()
        ) -%}
        {%- if built_through is none -%}
            {{ return('true') }}
        {%- endif -%}
        {%- set observed_since = scalar(
            "select cast(min(fetched_at) as varchar) from " ~ load_batches
            ~ " where loaded_at > timestamp '" ~ built_through ~ "'"
        ) -%}
        {#- Nothing loaded since: no row changed. -#}
        {{ return('false' if observed_since is none else "tested.observed_at >= timestamp '" ~ observed_since ~ "'") }}
    {%- else -%}
        {{ return('true') }}
    {%- endif -%}
{% endmacro %}


{% macro scalar(query) %}
    {#- The one value `query` returns (none for NULL). -#}
    {%- set result = run_query(query) -%}
    {{ return(result.columns[0].values()[0] if result.rows | length else none) }}
{% endmacro %}


{% macro incremental_model_count() %}
    {{ return(graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
        | selectattr('config.materialized', 'equalto', 'incremental') | list | length) }}
{% endmacro %}
