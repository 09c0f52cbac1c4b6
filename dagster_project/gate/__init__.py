"""The audit gate: build a candidate mart per zone, audit it, decide whether it may publish."""
