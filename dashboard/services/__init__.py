"""Typed async clients of the two upstream APIs: one function per endpoint, user-safe errors."""
