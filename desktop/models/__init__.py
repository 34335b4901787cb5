"""Qt item models: thin adapters over core results (snapshots, frozen records, violations)."""
