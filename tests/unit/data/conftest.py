"""The data tests use the shared ``prepared`` fixture of tests/conftest.py."""
