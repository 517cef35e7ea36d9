"""Fixtures of the numbers API suite."""
