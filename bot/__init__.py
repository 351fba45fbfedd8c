"""Handover: a Slack bot that makes sure no customer information handed from marketing to sales gets lost."""

__version__ = "0.1.0"
