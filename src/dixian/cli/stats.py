"""`dixian stats`: figures from the indicator catalogue (filled in by the indicators work)."""
