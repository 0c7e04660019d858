"""Settings: every REMIT_* variable read once, in one place, and a malformed one named with what is expected.

Issue 16, items 14 and 15, and the settings trials (odd values: negative, NaN, inf, huge, blank, typos).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.home import Home, HomeError
from pipeline.settings import (
    KNOWN,
    SettingError,
    Settings,
    get_settings,
    load_settings,
    use_settings,
)

# every REMIT_* variable the code read from os.environ before the settings object (grep of the modules)
READ_BEFORE = {
    "REMIT_HOME",
    "REMIT_INBOX_SETTLE_SECONDS",
    "REMIT_MAX_FILE_BYTES",
    "REMIT_LAKE_COMMIT_FILES",
    "REMIT_LAKE_POOL_MIN_BYTES",
    "REMIT_WAREHOUSE_MEMORY",
    "REMIT_SPARK_SHUFFLE_PARTITIONS",
}
PIPELINE = Path(__file__).resolve().parents[1] / "pipeline"


def test_every_setting_is_known_and_no_module_reads_the_environment_itself() -> None:
    assert set(KNOWN) == READ_BEFORE
    readers = []
    for path in PIPELINE.rglob("*.py"):
        if path.name == "settings.py":
            continue
        text = path.read_text()
        for name in READ_BEFORE:
            if f'"{name}"' in text and ("environ" in text or "getenv" in text):
                readers.append(f"{path.relative_to(PIPELINE)}: {name}")
    assert readers == []


def test_defaults_without_any_variable() -> None:
    s = load_settings({})
    assert s == Settings(home=Path("remit-data").absolute())
    assert (s.inbox_settle_seconds, s.max_file_bytes, s.lake_commit_files) == (5.0, 1073741824, 1000)
    assert (s.lake_pool_min_bytes, s.warehouse_memory, s.spark_shuffle_partitions) == (8388608, "2GB", 4)
    assert s.home_given is False


def test_duckdb_gets_2gb_for_a_full_build_and_1gb_for_a_night_unless_the_setting_is_given() -> None:
    s = load_settings({})
    assert (s.duckdb_memory(full=True), s.duckdb_memory(full=False)) == ("2GB", "1GB")
    given = load_settings({"REMIT_WAREHOUSE_MEMORY": "3GB"})
    assert (given.duckdb_memory(full=True), given.duckdb_memory(full=False)) == ("3GB", "3GB")
    # the default written out is a setting given like any other
    same = load_settings({"REMIT_WAREHOUSE_MEMORY": "2GB"})
    assert (same.duckdb_memory(full=True), same.duckdb_memory(full=False)) == ("2GB", "2GB")


def test_the_modules_own_constants_agree_with_the_settings_defaults() -> None:
    from pipeline.lake import loader

    s = Settings()
    assert s.inbox_settle_seconds == loader.SETTLE_SECONDS
    assert s.max_file_bytes == loader.MAX_FILE_BYTES
    assert s.lake_commit_files == loader.COMMIT_FILES
    assert s.lake_pool_min_bytes == loader.POOL_MIN_BYTES


def test_good_values_are_read() -> None:
    s = load_settings(
        {
            "REMIT_HOME": "/srv/remit",
            "REMIT_INBOX_SETTLE_SECONDS": " 0.5 ",
            "REMIT_MAX_FILE_BYTES": "3e9",
            "REMIT_LAKE_COMMIT_FILES": "1",
            "REMIT_LAKE_POOL_MIN_BYTES": "0",
            "REMIT_WAREHOUSE_MEMORY": "1500MB",
            "REMIT_SPARK_SHUFFLE_PARTITIONS": "8",
        }
    )
    assert s.home == Path("/srv/remit") and s.home_given
    assert s.inbox_settle_seconds == 0.5
    assert s.max_file_bytes == 3_000_000_000 and isinstance(s.max_file_bytes, int)
    assert (s.lake_commit_files, s.lake_pool_min_bytes, s.spark_shuffle_partitions) == (1, 0, 8)
    assert s.warehouse_memory == "1500MB"
    for size in ("50%", "4GiB", "2 GB", "64MB", "1.5gb"):
        assert load_settings({"REMIT_WAREHOUSE_MEMORY": size}).warehouse_memory == size
    # a byte count beyond float precision is kept exactly
    assert load_settings({"REMIT_MAX_FILE_BYTES": "9007199254740993"}).max_file_bytes == 9007199254740993


BAD = [
    ("REMIT_INBOX_SETTLE_SECONDS", "-5", "number of seconds from 0 to 86,400"),
    ("REMIT_INBOX_SETTLE_SECONDS", "nan", "number of seconds"),
    ("REMIT_INBOX_SETTLE_SECONDS", "inf", "number of seconds"),
    ("REMIT_INBOX_SETTLE_SECONDS", "1e9", "from 0 to 86,400"),
    ("REMIT_INBOX_SETTLE_SECONDS", "", "number of seconds"),
    ("REMIT_INBOX_SETTLE_SECONDS", "5s", "number of seconds"),
    ("REMIT_MAX_FILE_BYTES", "one gigabyte", "whole number of bytes"),
    ("REMIT_MAX_FILE_BYTES", "1e400", "whole number of bytes"),
    ("REMIT_MAX_FILE_BYTES", "0", "from 1 to"),
    ("REMIT_MAX_FILE_BYTES", "1.5", "whole number of bytes"),
    ("REMIT_MAX_FILE_BYTES", "99999999999999999999999", "whole number of bytes"),
    ("REMIT_LAKE_COMMIT_FILES", "abc", "whole number of files from 1 to 1,000,000"),
    ("REMIT_LAKE_COMMIT_FILES", "0", "from 1 to"),
    ("REMIT_LAKE_COMMIT_FILES", "-3", "from 1 to"),
    ("REMIT_LAKE_POOL_MIN_BYTES", "-1", "whole number of bytes from 0"),
    ("REMIT_WAREHOUSE_MEMORY", "lots", "memory size for DuckDB"),
    ("REMIT_WAREHOUSE_MEMORY", "0GB", "memory size for DuckDB"),
    ("REMIT_WAREHOUSE_MEMORY", "2", "memory size for DuckDB"),
    ("REMIT_WAREHOUSE_MEMORY", "100B", "of at least 64MB"),  # DuckDB would fail the build: Out of Memory
    ("REMIT_WAREHOUSE_MEMORY", "150%", "memory size for DuckDB"),
    ("REMIT_SPARK_SHUFFLE_PARTITIONS", "four", "whole number of partitions"),
    ("REMIT_HOME", "", "it is empty"),
    ("REMIT_HOME", "   ", "it is empty"),
    ("REMIT_HOME", " /srv/remit", "without leading or trailing spaces"),
]


@pytest.mark.parametrize(("name", "value", "expected"), BAD)
def test_a_malformed_setting_names_itself_the_value_and_what_is_expected(name, value, expected) -> None:
    with pytest.raises(SettingError) as info:
        load_settings({name: value})
    message = str(info.value)
    assert message.startswith(f"{name}={value!r} is not a valid setting: expected ")
    assert expected in message


def test_a_home_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "home").write_text("")
    with pytest.raises(SettingError, match=r"a folder, but .*home is a file"):
        load_settings({"REMIT_HOME": str(tmp_path / "home")})
    with pytest.raises(SettingError, match=r"^--home="):
        load_settings({}, home=str(tmp_path / "home"))


def test_the_command_line_home_wins_and_may_not_be_empty(tmp_path: Path) -> None:
    s = load_settings({"REMIT_HOME": "/elsewhere"}, home=tmp_path)
    assert s.home == tmp_path and s.home_given
    with pytest.raises(SettingError, match=r"^--home='' is not a valid setting"):
        load_settings({"REMIT_HOME": "/elsewhere"}, home="")


def test_a_relative_home_is_made_absolute_against_the_current_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings({"REMIT_HOME": "night/home"}).home == tmp_path / "night" / "home"
    assert load_settings({"REMIT_HOME": "~/remit"}).home == Path.home() / "remit"


def test_unknown_remit_variables_are_listed_with_the_nearest_known_name() -> None:
    s = load_settings({"REMIT_MAX_FILE_SIZE": "1", "REMIT_HOEM": "/x", "REMIT_COLOR": "1", "PATH": "/bin"})
    assert dict(s.unknown) == {
        "REMIT_COLOR": None,
        "REMIT_HOEM": "REMIT_HOME",
        "REMIT_MAX_FILE_SIZE": "REMIT_MAX_FILE_BYTES",
    }


def test_installed_settings_are_what_every_module_reads(monkeypatch) -> None:
    monkeypatch.setenv("REMIT_LAKE_COMMIT_FILES", "7")
    assert get_settings().lake_commit_files == 7  # without the command line: the environment now
    with use_settings(Settings(lake_commit_files=3)):
        monkeypatch.setenv("REMIT_LAKE_COMMIT_FILES", "9")  # read once: a later change is not seen
        assert get_settings().lake_commit_files == 3
    assert get_settings().lake_commit_files == 9


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_the_command_line_refuses_a_malformed_setting_with_exit_1_and_no_traceback(
    tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("REMIT_LAKE_COMMIT_FILES", "abc")
    rc, out, err = _cli(["--home", str(tmp_path / "h"), "ingest"], capsys)
    assert rc == 1 and out == ""
    assert "REMIT_LAKE_COMMIT_FILES='abc' is not a valid setting: expected a whole number of files" in err
    assert "Traceback" not in err
    assert not (tmp_path / "h").exists()  # nothing was created before the settings were checked


def test_empty_home_settings_are_refused_not_the_current_folder(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    rc, _, err = _cli(["--home", "", "check"], capsys)
    assert rc == 1 and "--home='' is not a valid setting" in err
    monkeypatch.setenv("REMIT_HOME", "")
    rc, _, err = _cli(["check"], capsys)
    assert rc == 1 and "REMIT_HOME='' is not a valid setting" in err
    assert sorted(os.listdir(tmp_path)) == []  # neither the folder itself nor ./remit-data became a home


def test_unknown_setting_is_warned_about(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("REMIT_INBOX_SETTLE_SECOND", "0")
    _, _, err = _cli(["--home", str(tmp_path / "h"), "check"], capsys)
    hint = "(did you mean REMIT_INBOX_SETTLE_SECONDS?)"
    assert f"unknown setting REMIT_INBOX_SETTLE_SECOND ignored {hint}" in err


def test_a_damaged_patient_key_file_is_named_not_used(tmp_path) -> None:
    home = Home(tmp_path / "h").ensure()
    home.key_file.write_text("")  # truncated (a failed restore): an empty HMAC key would be used silently
    with pytest.raises(HomeError, match=r"patient-key.secret does not hold a patient-key secret"):
        home.patient_key_secret()
    home.key_file.write_text("not hex at all")
    with pytest.raises(HomeError, match="restore it from its backup"):
        home.patient_key_secret()


def test_reading_the_key_without_create_writes_nothing(tmp_path) -> None:
    home = Home(tmp_path / "nowhere")
    assert home.patient_key_secret(create=False) is None
    assert not home.root.exists()
    secret = home.patient_key_secret()
    assert len(secret) == 32 and home.patient_key_secret(create=False) == secret
