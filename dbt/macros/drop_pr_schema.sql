{#-
  drop_pr_schema: drops the schema of one closed pull request's CI runs, and nothing else.

  Copy this file into your dbt project's macros/ folder. autoscale-dbt-ci runs it through dbt Cloud when a pull
  request closes (mode: cleanup), as

      dbt run-operation drop_pr_schema --args '{schema: dbt_cloud_pr_<job>_<pr>, pr: <pr>}'

  It refuses any schema that does not start with the prefix (default dbt_cloud_pr_) or does not end with the
  pull request's number, so a wrong argument can never drop another schema. It uses dbt's own adapter methods,
  so it works on every adapter that implements drop_schema (Snowflake, BigQuery, Databricks, Redshift, Postgres,
  and others).
-#}
{% macro drop_pr_schema(schema, pr, prefix='dbt_cloud_pr_') %}
  {%- set schema = schema | string -%}
  {%- if not schema.startswith(prefix) -%}
    {{ exceptions.raise_compiler_error("drop_pr_schema refuses '" ~ schema ~ "': it does not start with '" ~ prefix ~ "'") }}
  {%- endif -%}
  {%- if not schema.endswith('_' ~ pr) -%}
    {{ exceptions.raise_compiler_error("drop_pr_schema refuses '" ~ schema ~ "': it is not the schema of pull request " ~ pr) }}
  {%- endif -%}
  {%- set relation = api.Relation.create(database=target.database, schema=schema) -%}
  {%- do adapter.drop_schema(relation) -%}
  {{ log("drop_pr_schema: dropped schema " ~ schema ~ " of pull request " ~ pr, info=true) }}
{% endmacro %}
