"""Execute a jupytext notebook headless with papermill and render it to one self-contained HTML file.

The kernel is the interpreter running this code (the project's ``.venv``): a kernelspec naming
``sys.executable`` is written to a temporary folder and handed to papermill through its own kernel
manager, so neither the user's Jupyter configuration nor a ``python3`` kernelspec elsewhere on the
machine is read or changed. The kernel can be started ahead (``started_kernel``): ``remit run`` starts it
while the night's warehouse is checked, so its start-up overlaps the checks. The HTML uses the ``remit``
nbconvert template (``pipeline/reports/templates/remit``): code cells hidden, no script, font or style
from another host.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from pipeline.home import file_mode
from pipeline.leftovers import dead_runs
from pipeline.log import get_logger

log = get_logger("report")

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "remit"
KERNEL = "remit-python"
# imported by the kernel as it starts: the modules the report notebooks import first (a kernel started
# ahead loads them before the notebook runs)
PRELOAD = ("pipeline.reports.figures", "pipeline.reports.sections")
# and what it runs then: the first chart's start-up (``pipeline.present.charts.warm_up``, 0.7 s)
PRELOAD_CALLS = ("pipeline.present.charts.warm_up",)


def notebook_path(name: str) -> Path:
    """``<name>.py`` (jupytext percent format) of the installed package's ``pipeline.reports.notebooks``,
    found with importlib.resources: the same in a checkout, an editable install and a wheel."""
    from importlib import resources

    ref = resources.files("pipeline.reports.notebooks").joinpath(f"{name}.py")
    if not ref.is_file():
        raise FileNotFoundError(
            f"notebook {name}.py is not in the installed package pipeline.reports.notebooks"
        )
    return Path(str(ref))


# the kernel's folder in the temporary directory: its kernelspec, sockets, connection file and output
KERNEL_DIR_PREFIX = "remit-kernel-"


def remove_dead_kernel_dirs() -> list[Path]:
    """Remove the kernel folders (``remit-kernel-<pid>-*`` in the temporary directory, ours) of processes
    no longer running; return them.

    A run killed outright (SIGKILL, or systemd's stop timeout) cannot remove its own folder, and ``remit
    run`` holds its kernel from the checks to the report. A running process's folder, another user's, or
    one whose name does not give a process id (an older remit's) is left alone (``pipeline.leftovers``).
    """
    removed = list(dead_runs(Path(tempfile.gettempdir()), KERNEL_DIR_PREFIX, Path.is_dir))
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


@contextmanager
def kernel_manager() -> Iterator[Any]:
    """A kernel manager for this interpreter, from a kernelspec in a folder of its own
    (``remit-kernel-<pid>-*`` in the temporary directory, removed after; dead runs' are removed first)."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class _Manager(AsyncKernelManager):
        """The kernel's own stdout and stderr go to a file, logged afterwards: the run's stderr stays the
        log's (pure JSON lines with ``--log-format json``; ipykernel prints ``[IPKernelApp] WARNING``)."""

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            kw["stdout"] = kw["stderr"] = output
            await super()._async_launch_kernel(kernel_cmd, **kw)

    remove_dead_kernel_dirs()
    with (
        tempfile.TemporaryDirectory(prefix=f"{KERNEL_DIR_PREFIX}{os.getpid()}-") as tmp,
        open(Path(tmp) / "kernel-output.txt", "w+b") as output,
    ):
        spec_dir = Path(tmp) / KERNEL
        spec_dir.mkdir()
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "remit (project python)",
            "language": "python",
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec))
        ksm = KernelSpecManager(kernel_dirs=[tmp])
        # IPC sockets inside the temporary folder: no TCP port, nothing left in the working directory
        try:
            yield _Manager(
                kernel_name=KERNEL,
                kernel_spec_manager=ksm,
                transport="ipc",
                ip=str(Path(tmp) / "ipc"),
                # in the folder too (jupyter_client's default is a file of its own in the temporary
                # directory, which a killed run would leave behind)
                connection_file=str(Path(tmp) / "connection.json"),
            )
        finally:
            output.seek(0)
            for line in output.read().decode("utf-8", "replace").splitlines():
                if line.strip():
                    log.debug("report kernel: %s", line.strip())


@contextmanager
def started_kernel() -> Iterator[Any]:
    """A kernel manager whose kernel is starting now (``PRELOAD`` imported, ``PRELOAD_CALLS`` run), for
    ``execute``; the kernel is shut down on exit. Starting returns at once: the kernel loads while the
    caller goes on."""
    from jupyter_core.utils import run_sync

    with kernel_manager() as km:
        lines = repr(
            [f"import {module}" for module in PRELOAD]
            + [f"import {call.rsplit('.', 1)[0]}; {call}()" for call in PRELOAD_CALLS]
        )
        run_sync(km.start_kernel)(extra_arguments=[f"--IPKernelApp.exec_lines={lines}"])
        try:
            yield km
        finally:
            run_sync(km.shutdown_kernel)(now=True)


def _alive(km: Any) -> bool:
    from jupyter_core.utils import run_sync

    return bool(run_sync(km.is_alive)())


def execute(notebook: Path, parameters: dict[str, Any], *, timeout: int = 600, kernel: Any = None) -> Any:
    """Run ``notebook`` (a jupytext ``.py``) with papermill ``parameters``; return the executed notebook.

    ``kernel`` is a kernel manager from ``started_kernel`` (the caller shuts it down); without it a kernel
    is started here and shut down after. Raises ``papermill.PapermillExecutionError`` when a cell fails
    (the message names the cell).
    """
    import jupytext
    import papermill

    nb = jupytext.read(notebook)
    nb.metadata["kernelspec"] = {
        "name": KERNEL,
        "display_name": "remit (project python)",
        "language": "python",
    }
    nb.metadata.setdefault("language_info", {"name": "python"})
    if kernel is not None and not _alive(kernel):
        log.warning("the report kernel started ahead is gone (killed?): the report starts another")
        kernel = None
    with nullcontext(kernel) if kernel is not None else started_kernel() as km:
        return papermill.execute_notebook(
            nb,
            None,
            parameters=parameters,
            kernel_name=KERNEL,
            language="python",
            km=km,
            progress_bar=False,
            log_output=False,
            execution_timeout=timeout,
        )


def to_html(nb: Any, title: str) -> str:
    """One standalone HTML page of an executed notebook: outputs only, the ``remit`` template."""
    nb.metadata["title"] = title
    body, _ = _page_exporter().from_notebook_node(nb)
    return body


@functools.cache  # one per process: a new exporter compiles its templates again (0.06 s)
def _page_exporter() -> Any:
    """nbconvert's HTML exporter with the ``remit`` template, less its last pass.

    ``HTMLExporter.from_notebook_node`` ends by parsing the whole page again with BeautifulSoup and
    writing it out anew (0.1-0.4 s on a night's page, at the end of ``remit run`` with nothing else to
    do), to give ``<img>`` tags without one an alt text and the cells of a ``.jp-Notebook`` a
    ``tabindex``. The report page has neither (its charts are inline SVG, its body a ``<main>``): the pass
    only wrote the same elements out again. The two filters that method registers are registered as it
    does, then the template renders the page (``TemplateExporter.from_notebook_node``);
    ``tests/test_report.py`` compares the page's elements and text with nbconvert's own. The exporter
    registers those filters on every call: pages are rendered one at a time in a process (a night renders
    one), never from two threads at once.
    """
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class PageExporter(HTMLExporter):
        def from_notebook_node(self, nb: Any, resources: Any = None, **kw: Any) -> tuple[str, Any]:
            language = nb.metadata.get("language_info", {})
            lexer = language.get("pygments_lexer", language.get("name"))
            highlight = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
            self.register_filter("highlight_code", highlight)
            resources = self._init_resources(resources)
            self.register_filter(
                "filter_data_type",
                WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources),
            )
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return PageExporter(
        template_name=TEMPLATE,
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )


def warm_up() -> None:
    """Import nbconvert and load the page template now (0.5 s, of which 0.24 s the template's first
    rendering), so that ``to_html`` takes its usual 0.02 s on the night's page: ``remit run`` calls this
    on a thread while the warehouse builds."""
    import nbformat

    to_html(nbformat.v4.new_notebook(), "")


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file and ``os.replace`` (no reader sees half a page)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        # mkstemp makes it owner-only; the report is for the home's group (umask), never for others
        os.chmod(tmp, file_mode(0o644))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
