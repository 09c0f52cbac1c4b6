{#
    Record in the warehouse whether the latest dbt build or run finished
    without a failure, so the gate never publishes marts that a failed or
    interrupted build left half rebuilt (some facts new, the tables built on
    them skipped).

    test_state.build_outcome holds one row: record_build_started sets
    started_at and clears finished_at (an on-run-start hook), and
    record_build_finished sets finished_at and lists the nodes that failed,
    errored or were skipped (an on-run-end hook), or says that the build ran
    with --empty. A build stopped before its end leaves finished_at NULL.
    Other commands (test, seed, docs) record nothing, since they do not
    rebuild models.
#}
{% macro build_outcome_state() -%}
    {{ return(api.Relation.create(
        database=target.database,
        schema='test_state',
        identifier='build_outcome',
    )) }}
{%- endmacro %}

{% macro records_build_outcome() -%}
    {{ return(execute and flags.WHICH in ['build', 'run']) }}
{%- endmacro %}

{% macro record_build_started() -%}
    {%- if not records_build_outcome() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set state = build_outcome_state() -%}
    {#- dbt opens a transaction for on-run-start hooks and leaves it open. -#}
    {%- set statements = state_table_ddl(
        state,
        'started_at timestamp with time zone not null,'
        ~ ' finished_at timestamp with time zone,'
        ~ ' failed_nodes varchar'
    ) -%}
    {%- do statements.append('delete from ' ~ state) -%}
    {%- do statements.append(
        'insert into ' ~ state ~ ' values ('
        ~ timestamp_literal(run_started_at) ~ ', null, null)'
    ) -%}
    {%- do statements.append('commit') -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}

{% macro record_build_finished(results) -%}
    {%- if not records_build_outcome() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set failed = [] -%}
    {%- if flags.EMPTY -%}
        {%- do failed.append('every model (built with --empty)') -%}
    {%- endif -%}
    {%- for result in results -%}
        {%- if result.status in ['error', 'fail', 'skipped'] -%}
            {%- do failed.append(result.node.unique_id) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(
        'begin;\nupdate ' ~ build_outcome_state()
        ~ ' set finished_at = current_timestamp, failed_nodes = '
        ~ text_literal(failed | join(', ')) ~ ';\ncommit'
    ) }}
{%- endmacro %}
