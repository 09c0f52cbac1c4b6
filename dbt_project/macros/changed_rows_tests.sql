{#
    Key uniqueness that reads only the rows loaded since the test last passed.

    Testing every key of a 10M-row table takes one to three seconds per test
    and per build, however few rows changed. This test fails on every key
    that occurs more than once, like unique_combination_of_columns, but once
    it has passed it counts only the keys of rows whose loaded_at is later
    than the latest loaded_at it read then (minus the lookback_minutes var),
    over the whole table, so a changed row that repeats an older key is
    caught. Rows with a NULL key column or a NULL loaded_at always count.

    Use it only on models where every row written gets the load time of its
    newest source row: staging views over landed tables, and incremental
    facts whose builds write only rows loaded after their cutoff. A row
    rewritten with an older loaded_at would not be tested again.

    The whole table is read again when the test has no recorded pass, the
    last pass that read the whole table is older than 24 hours, a recorded
    date is later than the build's start, any model, test, seed, snapshot,
    source or macro changed since (see project_digest), the test has a
    where, limit or threshold config, or the build runs with --full-refresh.
    The passes are recorded in the warehouse by record_key_test_passes, an
    on-run-end hook: a failed or skipped test keeps its previous pass, so
    the rows of a failed build are tested again.
#}
{% test unique_in_changed_rows(model, columns) %}
    {%- set key = columns | join(', ') -%}
    {%- set cutoff = none -%}
    {%- if key_test_config_is_default(config) -%}
        {%- set cutoff = changed_key_test_cutoff(
            key_test_name(model, columns)
        ) -%}
    {%- endif -%}
    select
        {{ key }},
        count(*) as occurrences
    from {{ model }}
    {%- if cutoff is not none %}
    where
        ({{ key }}) in (
            select {{ key }}
            from {{ model }}
            where loaded_at > {{ cutoff }} or loaded_at is null
        )
        {%- for column in columns %}
        or {{ column }} is null
        {%- endfor %}
    {%- endif %}
    group by {{ key }}
    having count(*) > 1
{% endtest %}

{# Name under which a test's passes are recorded: relation and key columns. #}
{% macro key_test_name(relation, columns) -%}
    {{ return(
        relation.schema ~ '.' ~ relation.identifier ~ ':' ~ columns | join(',')
    ) }}
{%- endmacro %}

{#
    Whether a key test has dbt's default row filter and thresholds. Only
    such tests read changed rows and record passes, so two tests on the same
    model and columns that share a recorded pass are the same test.
#}
{% macro key_test_config_is_default(test_config) -%}
    {{ return(
        not test_config.get('where')
        and test_config.get('limit') is none
        and test_config.get('fail_calc', 'count(*)') == 'count(*)'
        and test_config.get('warn_if', '!= 0') | replace(' ', '') == '!=0'
        and test_config.get('error_if', '!= 0') | replace(' ', '') == '!=0'
    ) }}
{%- endmacro %}

{# A table of schema test_state, where the dbt hooks record what they saw. #}
{% macro state_relation(identifier) -%}
    {{ return(api.Relation.create(
        database=target.database,
        schema='test_state',
        identifier=identifier,
    )) }}
{%- endmacro %}

{% macro key_test_state() -%}
    {{ return(state_relation('key_test_passes')) }}
{%- endmacro %}

{#
    Digest of dbt's checksum of every model, test, seed, snapshot and source,
    and of the macro files: a change to any of them makes each key test read
    its whole table again. dbt's checksums do not cover macros, so the
    Dagster project passes a digest of the macro files in
    ZONE_MARTS_DBT_MACROS_DIGEST. A dbt run started without it records an
    empty digest, which makes the next run with it read whole tables.
#}
{% macro project_digest() -%}
    {%- set parts = [
        'macros=' ~ env_var('ZONE_MARTS_DBT_MACROS_DIGEST', '')
    ] -%}
    {%- for node in graph.nodes.values() | sort(attribute='unique_id') -%}
        {%- do parts.append(node.unique_id ~ '=' ~ node.checksum.checksum) -%}
    {%- endfor -%}
    {%- for source in graph.sources.values() | sort(attribute='unique_id') -%}
        {%- do parts.append(source.unique_id) -%}
    {%- endfor -%}
    {{ return(local_md5(parts | join('\n'))) }}
{%- endmacro %}

{#
    Return the recorded pass of a key test as (passed_at, last_full_pass_at),
    both as text, or none when the test must read its whole table this build
    (see unique_in_changed_rows).
#}
{% macro key_test_pass(test_name) -%}
    {%- if not execute or flags.FULL_REFRESH -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set state = key_test_state() -%}
    {%- if adapter.get_relation(
        state.database, state.schema, state.identifier
    ) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {#- A date after the build's start (a fast clock) counts as none. -#}
    {%- set started = timestamp_literal(run_started_at) -%}
    {%- set found = run_query(
        "select cast(passed_at as varchar), project_digest,"
        ~ " last_full_pass_at > " ~ started ~ " - interval '24 hours'"
        ~ " and last_full_pass_at <= " ~ started
        ~ " and passed_at <= " ~ started ~ ","
        ~ " cast(last_full_pass_at as varchar)"
        ~ " from " ~ state
        ~ " where test_name = " ~ text_literal(test_name)
    ) -%}
    {%- if found.rows | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set row = found.rows[0] -%}
    {%- if row[1] != project_digest() or not row[2] -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return((row[0], row[3])) }}
{%- endmacro %}

{# The SQL instant after which the test reads rows, or none for all rows. #}
{% macro changed_key_test_cutoff(test_name) -%}
    {%- set recorded = key_test_pass(test_name) -%}
    {%- if recorded is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(
        "cast('" ~ recorded[0] ~ "' as timestamp with time zone)"
        ~ " - interval '" ~ var('lookback_minutes') ~ " minutes'"
    ) }}
{%- endmacro %}

{% macro timestamp_literal(instant) -%}
    {{ return(
        "cast('" ~ instant.isoformat() ~ "' as timestamp with time zone)"
    ) }}
{%- endmacro %}

{#
    Statements that create a state table and its schema, or none when the
    table exists, so that a role without CREATE can still record.
#}
{% macro state_table_ddl(state, columns) -%}
    {%- if adapter.get_relation(
        state.database, state.schema, state.identifier
    ) is not none -%}
        {{ return([]) }}
    {%- endif -%}
    {{ return([
        'create schema if not exists ' ~ state.schema,
        'create table if not exists ' ~ state ~ ' (' ~ columns ~ ')',
    ]) }}
{%- endmacro %}

{% macro text_literal(text) -%}
    {{ return("'" ~ text | replace("'", "''") ~ "'") }}
{%- endmacro %}

{#
    On-run-end hook: record, for each unique_in_changed_rows test that
    passed, the latest loaded_at of the table it read, when it last read the
    whole table, and the project digest it ran with. A build with --empty
    reads no rows, so it records nothing.
#}
{% macro record_key_test_passes(results) -%}
    {%- if not execute or flags.EMPTY -%}
        {{ return('') }}
    {%- endif -%}
    {%- set passes = {} -%}
    {%- for result in results -%}
        {#- Singular tests have no test_metadata, so read the graph's dict. -#}
        {%- set node = graph.nodes.get(result.node.unique_id, {}) -%}
        {%- set metadata = node.get('test_metadata') or {} -%}
        {%- if metadata.get('name') == 'unique_in_changed_rows'
            and result.status == 'pass'
            and key_test_config_is_default(node.config) -%}
            {%- set tested = graph.nodes[node.attached_node] -%}
            {%- set relation = api.Relation.create(
                database=tested.database,
                schema=tested.schema,
                identifier=tested.alias,
            ) -%}
            {%- do passes.update({
                key_test_name(relation, metadata.kwargs.columns): relation
            }) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if passes | length == 0 -%}
        {{ return('') }}
    {%- endif -%}
    {%- set state = key_test_state() -%}
    {%- set started = timestamp_literal(run_started_at) -%}
    {%- set digest = text_literal(project_digest()) -%}
    {%- set statements = ['begin'] + state_table_ddl(
        state,
        'test_name varchar primary key,'
        ~ ' passed_at timestamp with time zone not null,'
        ~ ' last_full_pass_at timestamp with time zone not null,'
        ~ ' project_digest varchar not null'
    ) -%}
    {%- for test_name, relation in passes.items() -%}
        {%- set recorded = key_test_pass(test_name) -%}
        {%- set last_full = started if recorded is none else (
            "cast('" ~ recorded[1] ~ "' as timestamp with time zone)"
        ) -%}
        {#-
            The latest load the test read, not the build's start: a test run
            on a stale fact must not vouch for rows the next build writes.
        -#}
        {%- set latest_load = (
            "coalesce((select max(loaded_at) from " ~ relation ~ "),"
            ~ " cast('1900-01-01 00:00:00+00' as timestamp with time zone))"
        ) -%}
        {%- do statements.append(
            'delete from ' ~ state
            ~ ' where test_name = ' ~ text_literal(test_name)
        ) -%}
        {%- do statements.append(
            'insert into ' ~ state ~ ' select '
            ~ text_literal(test_name) ~ ', ' ~ latest_load ~ ', '
            ~ last_full ~ ', ' ~ digest
        ) -%}
    {%- endfor -%}
    {%- do statements.append('commit') -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}
