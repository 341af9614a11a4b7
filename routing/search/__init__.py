"""Search strategies that ``routing.solve`` wires together, one module each.

- ``run``: the state of one single-process run and what its phases share;
- ``whole_problem``: one engine search over every job, from a first plan;
- ``portfolio``: diversified workers in parallel, the best plan wins;
- ``sectors``: a first plan by angular sectors of the jobs, one per worker;
- ``decomposition``: groups of neighbouring routes re-planned on their own;
- ``elimination``: fewest vehicles first, routes emptied one at a time.
"""
