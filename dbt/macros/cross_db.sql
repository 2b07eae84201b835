{#- Cross-database macros: one set of models on dbt-duckdb (embedded) and dbt-clickhouse.
    Each macro dispatches on the adapter: duckdb__x / clickhouse__x, default__x as fallback. -#}

{% macro to_day(expr) %}{{ return(adapter.dispatch('to_day', 'alphaforge')(expr)) }}{% endmacro %}
{% macro default__to_day(expr) %}cast({{ expr }} as date){% endmacro %}
{% macro clickhouse__to_day(expr) %}toDate({{ expr }}){% endmacro %}

{#- value of `expr` at the row with the smallest / largest `by` within the group -#}
{% macro first_by(expr, by) %}{{ return(adapter.dispatch('first_by', 'alphaforge')(expr, by)) }}{% endmacro %}
{% macro default__first_by(expr, by) %}arg_min({{ expr }}, {{ by }}){% endmacro %}
{% macro clickhouse__first_by(expr, by) %}argMin({{ expr }}, {{ by }}){% endmacro %}

{% macro last_by(expr, by) %}{{ return(adapter.dispatch('last_by', 'alphaforge')(expr, by)) }}{% endmacro %}
{% macro default__last_by(expr, by) %}arg_max({{ expr }}, {{ by }}){% endmacro %}
{% macro clickhouse__last_by(expr, by) %}argMax({{ expr }}, {{ by }}){% endmacro %}

{#- a/b, null when b is 0 (ClickHouse would return inf, DuckDB null or an error) -#}
{% macro safe_divide(a, b) %}{{ return(adapter.dispatch('safe_divide', 'alphaforge')(a, b)) }}{% endmacro %}
{% macro default__safe_divide(a, b) %}case when ({{ b }}) = 0 then null else ({{ a }}) / ({{ b }}) end{% endmacro %}
{% macro clickhouse__safe_divide(a, b) %}if(({{ b }}) = 0, null, ({{ a }}) / ({{ b }})){% endmacro %}

{#- text key of several columns, for unique tests on a grain -#}
{% macro grain_key(columns) -%}
  {%- set parts = [] -%}
  {%- for c in columns -%}
    {%- do parts.append("cast(" ~ c ~ " as " ~ dbt.type_string() ~ ")") -%}
    {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
  {%- endfor -%}
  {{ dbt.concat(parts) }}
{%- endmacro %}

{#- `expr` as a nullable value: ClickHouse's lag() gives the type's default (0) before the first
    row of a window, not null, unless the argument is Nullable -#}
{% macro nullable(expr) %}{{ return(adapter.dispatch('nullable', 'alphaforge')(expr)) }}{% endmacro %}
{% macro default__nullable(expr) %}{{ expr }}{% endmacro %}
{% macro clickhouse__nullable(expr) %}toNullable({{ expr }}){% endmacro %}
