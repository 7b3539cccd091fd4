"""`make bench`: cold starts, warm latency, scaling, workers, load, memory and cost.

Kept free of imports: `python -m bench.cold_child` starts from this package, and anything
imported here would be counted in every function's cold start.
"""
