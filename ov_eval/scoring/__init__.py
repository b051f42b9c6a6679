"""Shared scoring building blocks: text normalisation, MCQ letter parsing, text metrics.

Every function here is pure. Rules follow docs/scoring_rules.md (section numbers as cited); where a rule
differs between the `published` (lmms-eval v0.2.2) and `corrected` (0.7.3) profiles the function
takes `profile: str = "published"`.
"""
