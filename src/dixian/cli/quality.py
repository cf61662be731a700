"""`dixian quality`: data-quality findings (filled in by the quality work)."""
