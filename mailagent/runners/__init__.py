"""What runs: one pass, the sweep, the long-running daemon."""
