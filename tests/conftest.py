"""Shared pytest configuration. Fixtures that one area needs live in that area's test module."""
