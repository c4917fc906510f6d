"""Statements of reasons and transparency reports."""
