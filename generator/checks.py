"""Strict checks: what a machine can prove about a card's prose, one named rule per function."""
from __future__ import annotations

RULE_NAMES = ("api", "deprecated", "grounded", "atomic", "duplicate", "spoiler")
