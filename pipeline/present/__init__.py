"""Presentation shared by the leadership report and the handbook: one way to print a figure, build an
HTML table and draw a chart.

- :mod:`pipeline.present.format`: money, counts, rates, changes, months and code links, as printed;
- :mod:`pipeline.present.tables`: HTML tables (``Column`` + ``table`` for rows of a view, ``cells_table``
  for cells already printed);
- :mod:`pipeline.present.charts`: Altair specs rendered to inline SVG by vl-convert (the handbook's month
  bars drawn as SVG directly), with the rules every chart follows (at most eight series, gaps left open,
  one colour for "worse", units on every axis).

Nothing here reads the warehouse or computes a figure: values arrive from the metrics layer's views.
"""
