"""Tracking's rules as plain functions over plain values: no database, no I/O. The services read the current
state, call these, and write what they return."""
