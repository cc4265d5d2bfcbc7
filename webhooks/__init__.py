"""Signed webhooks out (Standard Webhooks): which changes are events, and how they are signed."""
