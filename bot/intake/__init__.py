"""Intake: how items enter Handover (file import, the JSON API, the capture modal)."""
