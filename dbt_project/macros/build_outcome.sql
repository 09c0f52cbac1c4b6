{#
    Record in the warehouse which nodes are not known to be built and tested
    since the latest dbt build or run, so the gate never publishes marts that
    a failed or interrupted build left half rebuilt (some facts new, the
    tables built on them skipped).

    test_state.build_outcome holds one row. record_build_started (an
    on-run-start hook) adds every node the command selected to the pending
    list in failed_nodes and clears finished_at. record_build_finished (an
    on-run-end hook) removes the nodes that succeeded and sets finished_at,
    so a node that failed, errored or was skipped stays pending until a later
    build or run of it succeeds: a build of a few models cannot clear the
    failure of another. A build with --empty clears nothing, and a build
    stopped before its end leaves its nodes pending. Nodes no longer in the
    project are dropped. Other commands (test, seed, docs) record nothing.
#}
{% macro build_outcome_state() -%}
    {{ return(state_relation('build_outcome')) }}
{%- endmacro %}

{% macro records_build_outcome() -%}
    {{ return(execute and flags.WHICH in ['build', 'run']) }}
{%- endmacro %}

{# The recorded pending nodes that are still in the project. #}
{% macro pending_nodes(state) -%}
    {%- if adapter.get_relation(
        state.database, state.schema, state.identifier
    ) is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set recorded = run_query(
        'select failed_nodes from ' ~ state
    ).columns[0].values() -%}
    {%- set pending = [] -%}
    {%- for listing in recorded if listing -%}
        {%- for node in listing.split(', ')
            if node in graph.nodes and node not in pending -%}
            {%- do pending.append(node) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(pending) }}
{%- endmacro %}

{% macro record_build_started() -%}
    {%- if not records_build_outcome() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set state = build_outcome_state() -%}
    {%- set pending = pending_nodes(state) -%}
    {%- for node in selected_resources if node not in pending -%}
        {%- do pending.append(node) -%}
    {%- endfor -%}
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
        ~ timestamp_literal(run_started_at) ~ ', null, '
        ~ text_literal(pending | join(', ')) ~ ')'
    ) -%}
    {%- do statements.append('commit') -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}

{% macro record_build_finished(results) -%}
    {%- if not records_build_outcome() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set state = build_outcome_state() -%}
    {%- set succeeded = [] -%}
    {%- if not flags.EMPTY -%}
        {%- for result in results
            if result.status in ['success', 'pass', 'warn'] -%}
            {%- do succeeded.append(result.node.unique_id) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set pending = [] -%}
    {%- for node in pending_nodes(state) if node not in succeeded -%}
        {%- do pending.append(node) -%}
    {%- endfor -%}
    {{ return(
        'begin;\nupdate ' ~ state
        ~ ' set finished_at = current_timestamp, failed_nodes = '
        ~ text_literal(pending | join(', ')) ~ ';\ncommit'
    ) }}
{%- endmacro %}
