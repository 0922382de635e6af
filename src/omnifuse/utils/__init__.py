"""Small shared helpers (atomic file output, progress display)."""
