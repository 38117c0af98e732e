"""Pure statistics for canary analysis: exact and sequential rate comparisons, rank tests on histograms."""
