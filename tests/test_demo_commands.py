"""The zone-marts generate and simulate subcommands."""

from __future__ import annotations

import sqlite3

from dagster_project.cli import main

AS_OF = "2026-11-20T16:30:00+00:00"


def test_generate_command_prints_counts(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'base.sqlite'}"
    exit_code = main(["generate", "--url", url, "--scale", "0.02", "--as-of", AS_OF])
    printed = dict(line.split() for line in capsys.readouterr().out.splitlines()[1:])
    with sqlite3.connect(tmp_path / "base.sqlite") as connection:
        (orders,) = connection.execute("SELECT count(*) FROM sales_orders").fetchone()
    assert exit_code == 0
    assert printed["sales_orders"].replace(",", "") == str(orders)


def test_generate_command_rejects_non_empty(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'base.sqlite'}"
    main(["generate", "--url", url, "--scale", "0.02", "--as-of", AS_OF])
    exit_code = main(["generate", "--url", url, "--scale", "0.02", "--as-of", AS_OF])
    assert exit_code == 1
    assert "--overwrite" in capsys.readouterr().err
    overwrite = ["--overwrite", "--seed", "9"]
    assert main(["generate", "--url", url, "--scale", "0.02", "--as-of", AS_OF, *overwrite]) == 0


def test_commands_default_to_settings_url(tmp_path, monkeypatch, capsys):
    path = tmp_path / "from_settings.sqlite"
    monkeypatch.setenv("BASE_OPERATION_URL", f"sqlite:///{path}")
    assert main(["generate", "--scale", "0.02", "--as-of", AS_OF]) == 0
    assert main(["simulate", "--seed", "1"]) == 0
    assert "new_orders" in capsys.readouterr().out
    assert path.is_file()


def test_simulate_command_without_database(tmp_path, capsys):
    exit_code = main(["simulate", "--url", f"sqlite:///{tmp_path / 'missing.sqlite'}"])
    assert exit_code == 1
    assert "run zone-marts generate first" in capsys.readouterr().err


def test_production_needs_explicit_demo_url(tmp_path, monkeypatch, capsys):
    # simulate wrote a fake business hour into the production Base Opération.
    monkeypatch.setenv("ZONE_MARTS_MODE", "production")
    monkeypatch.setenv("BASE_OPERATION_URL", "postgresql://etl@127.0.0.1:1/base_operation")
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://etl@127.0.0.1:1/warehouse")
    for command in (["simulate"], ["generate", "--scale", "0.02"]):
        assert main(command) == 2
        assert "name a demo database with --url" in capsys.readouterr().err
        assert main([*command, "--url", "postgresql://etl@127.0.0.1:1/base_operation"]) == 2
        assert "--url is BASE_OPERATION_URL" in capsys.readouterr().err
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    assert main(["generate", "--url", url, "--scale", "0.02", "--as-of", AS_OF]) == 0
