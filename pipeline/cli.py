"""The ``remit`` command: a thin layer over the library API.

Each command parses its options, calls one library function and turns the result into an exit code:

- 0  everything worked
- 1  usage error or a fatal error (nothing was changed that a rerun would not redo)
- 3  the run finished, but some input was rejected (quarantined or listed); the rest was processed
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import shutil
import sys
from pathlib import Path

import click

from pipeline import __version__
from pipeline.home import Home
from pipeline.lake.names import shown
from pipeline.log import get_logger, is_json, json_line, setup_logging
from pipeline.settings import Settings, load_settings, use_settings

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_REJECTED = 3

log = get_logger()


class State:
    """What every command gets: the checked settings, the home they name, and how to print results."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.home = Home(settings.home)

    def say(self, text: str, **fields: object) -> None:
        """Print a command's result: plain text, or with ``--log-format json`` one JSON line on stdout."""
        if is_json():
            click.echo(json_line(text.splitlines()[-1] if text else "", summary=text, **fields))
        else:
            click.echo(text)


pass_state = click.make_pass_decorator(State)


def engine_options(engine_help: str):
    """``--engine local|spark`` and ``--master URL`` (Spark only), shared by ingest and build."""

    def check_master(ctx: click.Context, param: click.Parameter, master: str | None) -> str | None:
        if master is not None and ctx.params.get("engine", "local") == "local":
            raise click.UsageError("--master applies to --engine spark only")
        return master

    def decorate(command):
        command = click.option(
            "--master",
            default=None,
            metavar="URL",
            callback=check_master,
            help="Spark master for --engine spark when no session is active (default: local[2]).",
        )(command)
        return click.option(
            "--engine",
            type=click.Choice(["local", "spark"]),
            default="local",
            show_default=True,
            is_eager=True,  # parsed before --master, whose check reads it
            help=engine_help,
        )(command)

    return decorate


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="remit")
@click.option(
    "--home",
    default=None,
    metavar="DIR",
    help="Folder holding inbox/, lake/, quarantine/, reports/ and warehouse.duckdb "
    "(default: env REMIT_HOME, else ./remit-data).",
)
@click.option(
    "--log-format",
    type=click.Choice(["human", "json"]),
    default="human",
    show_default=True,
    help="Human-readable log lines, or one JSON object per line for schedulers.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
@click.pass_context
def cli(ctx: click.Context, home: str | None, log_format: str, verbose: bool) -> None:
    """remit: X12 835 remittance analytics (parse, lake, DuckDB warehouse, reports).

    Exit codes: 0 ok, 1 usage or fatal error, 3 finished but some input was rejected.
    Settings come from REMIT_* environment variables (docs/operations.md, "Settings").
    """
    import logging

    setup_logging(log_format, logging.DEBUG if verbose else logging.INFO)
    settings = load_settings(home=home)  # every setting, read and checked once: SettingError -> exit 1
    for name, nearest in settings.unknown:
        hint = f" (did you mean {nearest}?)" if nearest else ""
        log.warning("unknown setting %s ignored%s", name, hint, extra={"fields": {"setting": name}})
    ctx.with_resource(use_settings(settings))
    ctx.obj = State(settings)
    global _home_of_errors
    _home_of_errors = settings.home


@cli.command()
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the 835 files, payers.csv and truth.json into.",
)
@click.option("--claims", type=click.IntRange(min=1), required=True, help="Number of claims to generate.")
@click.option(
    "--files",
    type=click.IntRange(min=1),
    default=None,
    help="Number of 835 files (default: about one per 250 claims, at least 12).",
)
@click.option("--seed", type=int, default=835, show_default=True, help="Random seed (same seed, same bytes).")
@click.option("--start", default="2025-01", show_default=True, help="First payment month, YYYY-MM.")
@click.option(
    "--months", type=click.IntRange(min=1), default=12, show_default=True, help="Number of payment months."
)
@click.option(
    "--with-837",
    "with_837",
    is_flag=True,
    help='Also write the 837 claims submitted (837/clm-*.837) and their truth (truth.json "submitted").',
)
@pass_state
def synth(
    state: State,
    out_dir: Path,
    claims: int,
    files: int | None,
    seed: int,
    start: str,
    months: int,
    with_837: bool,
) -> int:
    """Generate a realistic synthetic 835 workload with its ground truth (truth.json)."""
    from pipeline.synth import generate

    truth = generate(
        out_dir, claims=claims, files=files, seed=seed, start=start, months=months, with_837=with_837
    )
    state.say(
        f"wrote {truth['files']} files, {truth['transactions']} transactions, {truth['claims']} claims, "
        f"{truth['lines']} service lines to {out_dir}"
    )
    if with_837:
        sub = truth["submitted"]
        state.say(
            f"wrote {sub['files']} 837 files, {sub['claims']} submitted claims "
            f"({sub['unanswered']['count']} unanswered) to {out_dir / '837'}"
        )
    return EXIT_OK


@cli.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write <table>.parquet into (one per table, concatenated over the files).",
)
@pass_state
def parse(state: State, files: tuple[Path, ...], out_dir: Path) -> int:
    """Parse 835 and 837 FILES into one Parquet file per table; print one line per rejected file.

    835s fill the remittance tables, 837s (told apart by their ST01) submitted_claims and submitted_lines.
    """
    import secrets

    from pipeline.x12 import parse_files

    # the home's secret when it has one; parse never creates a home (it writes only to --out)
    secret = state.home.patient_key_secret(create=False)
    if secret is None:
        secret = secrets.token_bytes(32)
        log.warning(
            "no patient-key secret at %s: this run's patient_key values come from a one-time key and will "
            "not match other runs or the lake (name an existing home with --home to use its key)",
            state.home.key_file,
        )
    result = parse_files(list(files), out_dir, secret=secret)
    for err in result.rejected:
        state.say(f"rejected {shown(str(err.source))}: {err.first}", rejected=shown(str(err.source)))
    state.say(
        f"parsed {result.parsed} of {len(files)} files: "
        + ", ".join(f"{name} {n}" for name, n in result.row_counts.items())
        + f" -> {out_dir}"
    )
    return EXIT_REJECTED if result.rejected else EXIT_OK


@cli.command()
@click.option(
    "--inbox",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to read new files from (default: <home>/inbox).",
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="Parallel parsers (default: all cores)."
)
@engine_options("Parse in local processes, or on Spark (needs remit[spark]; docs/spark.md).")
@pass_state
def ingest(state: State, inbox: Path | None, workers: int | None, engine: str, master: str | None) -> int:
    """Load new 835 files from the inbox into the Parquet lake, exactly once each."""
    from pipeline.lake import LockedError
    from pipeline.lake import ingest as ingest_files

    if engine == "spark" and workers is not None:
        raise click.UsageError("--workers applies to --engine local only (Spark sizes itself from --master)")
    try:
        if engine == "spark":
            from pipeline.engines.spark import DEFAULT_MASTER, SparkUnavailableError, ingest_spark

            try:
                result = ingest_spark(state.home, inbox=inbox, master=master or DEFAULT_MASTER)
            except SparkUnavailableError as exc:
                log.error("remit ingest: %s", exc)
                return EXIT_FATAL
        else:
            result = ingest_files(state.home, inbox=inbox, workers=workers)
    except LockedError as exc:  # another run is busy: say so plainly, change nothing
        log.error("remit ingest: %s", exc)
        return EXIT_FATAL
    state.say(result.summary())
    if result.rejected:
        log.warning(
            "%d file(s) rejected and moved to %s: %s",
            len(result.rejected),
            state.home.quarantine,
            ", ".join(name for name, _ in result.rejected),
        )
    return EXIT_REJECTED if result.rejected else EXIT_OK


@cli.command()
@engine_options(
    "DuckDB (warehouse.duckdb), or Spark SQL (Parquet marts in <home>/spark-warehouse/; docs/spark.md)."
)
@click.option(
    "--full",
    is_flag=True,
    help="Rebuild every model from the whole lake (default: refresh only what the new files touch).",
)
@pass_state
def build(state: State, engine: str, master: str | None, full: bool) -> int:
    """Build warehouse.duckdb from the lake, the reference seeds and sql/ (atomic replace).

    Incremental when the published warehouse was built by the same code, SQL, reference data, payers.csv
    and settings: only the episodes the new (or removed) files touch are recomputed (docs/warehouse.md).
    """
    from pipeline.warehouse import build as build_warehouse

    if engine == "spark":
        from pipeline.engines.spark import DEFAULT_MASTER, SparkUnavailableError, build_spark

        try:
            result = build_spark(state.home, master=master or DEFAULT_MASTER)
        except SparkUnavailableError as exc:
            log.error("remit build: %s", exc)
            return EXIT_FATAL
    else:
        result = build_warehouse(state.home, full=full)
    state.say(result.summary())
    return EXIT_OK


@cli.command()
@click.option(
    "--inbox",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to read new files from (default: <home>/inbox).",
)
@click.option(
    "--full", is_flag=True, help="Rebuild the warehouse whole (default: incremental when possible)."
)
@pass_state
def run(state: State, inbox: Path | None, full: bool) -> int:
    """The nightly job: ingest (quality gate), build, warehouse checks, publish, report and handbook.

    Exit 0 when all is well, 3 when some file was rejected (quarantined; the rest was published), 1 when
    the new warehouse failed a critical check (the previous warehouse stays published) or on a fatal error.
    """
    from pipeline.nightly import run_nightly

    result = run_nightly(state.home, inbox=inbox, full=full)
    state.say(result.summary(), exit_code=result.exit_code)
    return result.exit_code


@cli.command()
@pass_state
def check(state: State) -> int:
    """Run the data-quality suites now: the warehouse suite and the batch suite on the latest ingest.

    Results go to quality.results (<home>/quality_results.duckdb) and reports/quality/latest.html.
    Exit 3 when a critical expectation failed.
    """
    from pipeline.lake import LockedError
    from pipeline.quality import run_checks

    try:
        report = run_checks(state.home)
    except LockedError as exc:  # a run is writing the same files: change nothing
        log.error("remit check: %s", exc)
        return EXIT_FATAL
    state.say(report.summary())
    return EXIT_OK if report.success else EXIT_REJECTED


@cli.group("lake")
def lake_group() -> None:
    """Operator commands on the Parquet lake."""


@lake_group.command("remove")
@click.argument("file_id")
@pass_state
def lake_remove(state: State, file_id: str) -> int:
    """Unload the loaded file FILE_ID (lake.manifest.file_id, or a unique prefix of 8+ characters).

    Its rows leave the lake in one commit; the raw file stays in .processed/; the manifest records the
    removal. Removing it again changes nothing. Run remit build afterwards (docs/operations.md).
    """
    from pipeline.lake import LockedError
    from pipeline.lake.remove import RemoveError, remove_file

    try:
        result = remove_file(state.home, file_id)
    except (LockedError, RemoveError) as exc:
        log.error("remit lake remove: %s", exc)
        return EXIT_FATAL
    state.say(result.summary())
    return EXIT_OK


@lake_group.command("upgrade")
@pass_state
def lake_upgrade(state: State) -> int:
    """Rebuild a lake written by an older remit (string row ids) from the original files it kept.

    The files are loaded again in their manifest order into a new lake; the old lake folder is kept
    beside it (lake.format1-<time>). Run remit build afterwards (docs/operations.md).
    """
    from pipeline.lake import LockedError
    from pipeline.lake.upgrade import UpgradeError, upgrade_lake

    try:
        result = upgrade_lake(state.home)
    except (LockedError, UpgradeError) as exc:
        log.error("remit lake upgrade: %s", exc)
        return EXIT_FATAL
    state.say(result.summary())
    return EXIT_OK


@cli.group()
def reference() -> None:
    """The CARC/RARC reference tables."""


@reference.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--list",
    "list_name",
    type=click.Choice(["CARC", "RARC"], case_sensitive=False),
    default=None,
    help="Which list a text file holds (default: inferred from the code shapes; a CSV names it per row).",
)
@pass_state
def reference_import(state: State, file: Path, list_name: str | None) -> int:
    """Load a licensed official CARC/RARC code-list FILE into the warehouse's ref schema.

    Accepts a CSV (list, code, status, description, optional start, last_modified, stop) or the
    CMS/ResDAC text format ("001 = Deductible Amount"). The normalised list is kept under
    <home>/reference/ so rebuilds keep it; the repository is never changed.
    """
    from pipeline.reference import CodeListError, import_code_list

    try:
        result = import_code_list(file, state.home, list_name=list_name)
    except CodeListError as exc:
        raise click.UsageError(str(exc)) from exc
    state.say(result.summary())
    return EXIT_OK


@cli.command()
@click.option(
    "--period",
    default=None,
    metavar="YYYY-MM|mtd",
    help="The report's month (with the 12 months ending there): YYYY-MM, or mtd for the current month to "
    "date (default: the latest closed month in the warehouse).",
)
@click.option("--payer", default=None, metavar="ID", help="Limit every figure to one payer (its payer_key).")
@pass_state
def report(state: State, period: str | None, payer: str | None) -> int:
    """Render the leadership report to <home>/reports/remit-report-<period>.html (one offline HTML file)."""
    from pipeline.reports import ReportError, render_report
    from pipeline.settings import SettingError

    try:
        path = render_report(state.home, period=period, payer=payer)
    except (ReportError, SettingError) as exc:  # no warehouse, no payments, a bad period or report.toml
        raise click.ClickException(str(exc)) from exc
    state.say(f"report written to {path}", path=str(path))
    return EXIT_OK


@cli.command("code")
@click.argument("code")
@pass_state
def code_cmd(state: State, code: str) -> int:
    """Print the handbook entry of CODE: a CARC with or without group (CO-289, co289, 289) or a RARC (N10).

    What the code means and what to do under each group code, then this organisation's figures from the
    warehouse (last 12 payment months): count, dollars, trend, payers, procedures, remark pairings and the
    largest open worklist items. Fits the terminal width (COLUMNS, at least 80); on a terminal a long
    entry goes through $PAGER (default `less -R`). Exit 1 for an unknown code, with the nearest codes.
    """
    from pipeline.handbook import UnknownCodeError, format_entry, lookup, page

    try:
        entry = lookup(code, state.home)
    except UnknownCodeError as exc:
        log.error("remit code: %s", exc.message())
        return EXIT_FATAL
    page(format_entry(entry))
    return EXIT_OK


@cli.command("handbook")
@pass_state
def handbook_cmd(state: State) -> int:
    """Write the HTML denial-code handbook to <home>/reports/handbook/ (index plus one page per code seen)."""
    from pipeline.handbook import render_handbook

    path = render_handbook(state.home)
    pages = len(list(path.parent.glob("*-*.html")))
    state.say(f"handbook written to {path} ({pages} code pages)", path=str(path))
    return EXIT_OK


# The home of the command running (set by ``cli``): a full disk's message says how much room is left there.
_home_of_errors: Path | None = None


def _disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a full disk or quota: an OSError's errno, or the text
    DuckDB and Arrow put in their own errors."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(exc) or "Disk quota exceeded" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _disk_full_message(exc: BaseException) -> str:
    """A full disk's fatal message: what failed, the room left where the home is, and what to do.

    The write that failed may not name its file (a plain ``write`` does not), hence the home's disk."""
    room = ""
    if _home_of_errors is not None:
        with contextlib.suppress(OSError):
            free = shutil.disk_usage(_home_of_errors).free
            size = f"{free / 2**20:,.1f} MiB" if free >= 2**20 else f"{free // 1024} KiB"
            room = f"; {size} free on the disk of {_home_of_errors}"
    return (
        f"a disk is full ({exc}){room}. Free some space and run remit again: nothing already loaded or "
        "published is lost, and the next run redoes what this one did not finish"
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``remit`` console script; maps errors to the documented exit codes."""
    # Nothing remit writes is for every local user: add "others" to the umask (the group part stays the
    # operator's choice, e.g. umask 027 for an analysts' group). Parser workers inherit it.
    os.umask(os.umask(0o077) | 0o007)
    # Python's cyclic garbage collector, tuned for a batch job: with the default thresholds (a young
    # collection every 700 new objects, a full one every 100) the full collections over the millions of
    # objects that Great Expectations, Jupyter and pandas import took a night's main thread 1.5 s of CPU
    # on the 5M lake and 2.3 s from empty on 1M claims, holding the GIL; with these 0.4 and 1.5-1.6 s, the
    # peak memory about the same (2.24 GiB from empty on 1M claims before, 2.26-2.27 GiB after). The memory
    # that matters is handed back explicitly (gc.collect() after an ingest that parsed 64 MiB or more:
    # nightly._hand_back_memory).
    gc.set_threshold(50_000, 20, 20)
    global _home_of_errors
    _home_of_errors = None  # (set by ``cli`` once the settings name the home)
    try:
        rc = cli.main(args=argv, prog_name="remit", standalone_mode=False)
    except click.exceptions.Abort:
        if is_json():
            log.error("aborted")
        else:
            click.echo("aborted", err=True)
        rc = EXIT_FATAL
    except click.ClickException as exc:  # usage errors and bad options
        if is_json():
            log.error("%s", exc.format_message())
        else:
            exc.show()
        rc = EXIT_FATAL
    except Exception as exc:  # noqa: BLE001 - a scheduler needs a clean message and exit code 1
        message = _disk_full_message(exc) if _disk_full(exc) else exc
        log.error("fatal: %s", message, exc_info=log.isEnabledFor(10))
        rc = EXIT_FATAL
    rc = rc if isinstance(rc, int) else EXIT_OK
    if argv is None:
        _exit(rc)
    return rc


def _exit(rc: int) -> None:
    """End the ``remit`` process with ``rc``, without the interpreter's teardown when nothing needs it.

    After a night the interpreter holds Great Expectations, Jupyter, pandas and DuckDB: its teardown (a
    last garbage collection over millions of objects, every module cleared) took 1.5-1.7 s of every run,
    after the work was done and the summary printed. The exit handlers still run (logging's flush and
    close, multiprocessing's clean-up of child processes), then the standard streams are flushed and the
    process ends. A thread still running (none does after a command) gets the ordinary exit, which
    waits for it.
    """
    import atexit
    import threading

    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(rc)
    atexit._run_exitfuncs()  # noqa: SLF001 - the handlers the interpreter would run at exit
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that closed the pipe (`remit ... | head`)
            rc = 120  # what the interpreter's own exit gives when it cannot flush
    os._exit(rc)


if __name__ == "__main__":
    main()
