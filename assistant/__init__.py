"""Offline policy assistant: cited answers from local documents with a local model."""

__version__ = "0.1.0"
