"""Speed and memory benchmarks (``make bench``); one module per stage, each with ``run(workdir)``.

Figures are printed as ratios measured in one run, since machines here are noisy.
"""
