"""Planning: live state to a routing problem and back, applying plans, the
re-planner and the greedy baseline."""
