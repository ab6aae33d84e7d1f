"""Allocation API request and response models, one module per domain."""
