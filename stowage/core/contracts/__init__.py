"""Shared data contracts: the records, store protocols and services plugins exchange."""
