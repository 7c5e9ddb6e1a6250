"""Stand-ins and request builders only tests and benchmarks use; the wheel does not ship them."""
