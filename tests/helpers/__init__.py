"""Helpers shared by the test suites (run as modules in subprocesses, too)."""
