"""The LLM-judge stage: a persistent verdict cache, versioned prompts (the client is ov_eval.openai_client)."""
from ov_eval.judges.cache import VerdictCache, cache_key, default_cache_path
from ov_eval.judges.prompts import JUDGE_KINDS, JudgeInputError, JudgeKind, JudgePrompt, judge_kind, load_prompt
from ov_eval.judges.stage import JudgeFailure, JudgeItem, JudgeRun, Verdict, judge_all, judge_identity
from ov_eval.judges.verdicts import QAVerdict, VerdictParseError

__all__ = [
    "JUDGE_KINDS", "JudgeFailure", "JudgeInputError", "JudgeItem",
    "JudgeKind", "JudgePrompt", "JudgeRun", "QAVerdict", "Verdict", "VerdictCache",
    "VerdictParseError", "cache_key", "default_cache_path", "judge_all", "judge_identity", "judge_kind",
    "load_prompt",
]
