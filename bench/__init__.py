"""Benchmarks that print JSON figures together with a ceiling measured in the same run."""
