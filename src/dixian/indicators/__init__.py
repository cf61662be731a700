"""The one catalogue of indicators (rule 5), computed set-based over the region tree."""
