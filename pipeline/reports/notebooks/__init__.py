"""The report's notebooks (jupytext percent format), shipped inside the package and found with
importlib.resources (``pipeline.reports.render.notebook_path``)."""
