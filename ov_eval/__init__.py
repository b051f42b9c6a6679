"""ov_eval: the LLaVA-OneVision evaluation harness."""

__version__ = "0.1.0"
