"""Schedule generation: the general roster model and its CP-SAT solver, the benchmark reader."""
