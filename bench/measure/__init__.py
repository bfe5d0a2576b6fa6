"""One module per measured area of issue 8: imports, statistics, and the running app."""
