"""The LLM-judge stage: one OpenAI-compatible client, a persistent verdict cache, versioned prompts."""
from ov_eval.judges.cache import VerdictCache, cache_key, default_cache_path
from ov_eval.judges.client import JudgeClient, JudgeConfigError, JudgeError, JudgeReply
from ov_eval.judges.prompts import JUDGE_KINDS, JudgeInputError, JudgeKind, JudgePrompt, judge_kind, load_prompt
from ov_eval.judges.retry import RetryPolicy
from ov_eval.judges.stage import JudgeFailure, JudgeItem, JudgeRun, Verdict, judge_all
from ov_eval.judges.verdicts import QAVerdict, VerdictParseError

__all__ = [
    "JUDGE_KINDS", "JudgeClient", "JudgeConfigError", "JudgeError", "JudgeFailure", "JudgeInputError", "JudgeItem",
    "JudgeKind", "JudgePrompt", "JudgeReply", "JudgeRun", "QAVerdict", "RetryPolicy", "Verdict", "VerdictCache",
    "VerdictParseError", "cache_key", "default_cache_path", "judge_all", "judge_kind", "load_prompt",
]
