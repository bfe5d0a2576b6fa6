"""The national-scale benchmark suite (issue 8): ``python -m bench``.

Speed as a measured property: synthetic data for every commune of the country
(:mod:`bench.national`), each figure measured through the product's own
functions and servers (:mod:`bench.measure`) beside a baseline from the same
run, printed as a table and written as JSON (:mod:`bench.results`).
"""
