"""The reference harness's own judge prompts, read from its task files (`--judge_prompts PATH_OR_PACKAGE`).

ov_eval's default prompts (prompts/*.toml) are paraphrases, so judge-scored numbers are not comparable with the
reference's even under the same judge model. Pointed at lmms-eval (an installed package or a checkout), ov_eval
builds each judge prompt from the reference's texts instead: REFERENCE_PROMPTS says, per judge prompt, which file
and which constant, message or rule holds each text and how the reference lays the request out around it. The
files are parsed, never imported or run. A text that is not there is a one-line error naming the task and the
file, before any judging; every text used is hashed into the prompt's version (so into the verdict-cache key)
and into the results' provenance.
"""
from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

from ov_eval.errors import OvEvalError
from ov_eval.judges.prompts import JudgePrompt, judge_kind, load_prompt
from ov_eval.judges.reference_files import (TextNotFound, as_template, assigned_in_function, json_data, json_text,
                                            message_content, module_constant, python_tree)


@dataclass(frozen=True)
class Text:
    """One text in the reference package (`file` relative to the `lmms_eval` folder)."""

    file: str
    where: Literal["constant", "message", "assigned", "json"]
    name: str  # constant name, function name, or JSON key path
    role: str = ""  # message: "system" or "user"; assigned: the variable
    branch: tuple[str, str] | None = None  # message: only under `if VAR == "VALUE":`
    fields: Mapping[str, str] = field(default_factory=dict)  # the reference's placeholders -> ov_eval fields
    strip: bool = False  # the reference strips the text before use
    same_as: tuple[str, ...] = ()  # json: keys that must hold the same text (ov_eval has one prompt for them)

    def describe(self) -> str:
        where = {"constant": self.name, "json": self.name,
                 "assigned": f"{self.name}(): {self.role}",
                 "message": f"{self.name}(): {self.role} message"
                            + (f" where {self.branch[0]} == {self.branch[1]!r}" if self.branch else "")}[self.where]
        return f"lmms_eval/{self.file}: {where}"


@dataclass(frozen=True)
class ReferencePrompt:
    """A judge request as the reference builds it: the system text (or none) and the user message, given as
    pieces in ov_eval's template syntax and reference texts, joined in order."""

    system: Text | None
    user: tuple[str | Text, ...]


_QA = {"question": "question", "answer": "answer", "pred": "prediction"}
_VIDEOCHATGPT = "tasks/videochatgpt/utils.py"


def _video_judge(file: str, function: str, branch: tuple[str, str] | None = None,
                 fields: Mapping[str, str] = _QA) -> ReferencePrompt:
    return ReferencePrompt(Text(file, "message", function, "system", branch),
                           (Text(file, "message", function, "user", branch, fields),))


_LLAVA_RULE = Text("tasks/llava-in-the-wild/rule.json", "json", "llava_bench_conv.prompt",
                   same_as=("llava_bench_detail.prompt", "llava_bench_complex.prompt"))
_LLAVA_ROLE = Text("tasks/llava-in-the-wild/rule.json", "json", "llava_bench_conv.role",
                   same_as=("llava_bench_detail.role", "llava_bench_complex.role"))

# (ov_eval task, judge prompt) -> where the reference (lmms-eval v0.2.2 layout) keeps that prompt; task "*" is
# every task using the prompt unless a row names the task itself. The layouts around module-level texts are the
# reference's process_results / create_*_prompt code, written out here.
REFERENCE_PROMPTS: dict[tuple[str, str], ReferencePrompt] = {
    ("*", "mmvet_grade"): ReferencePrompt(None, (
        Text("tasks/mmvet/utils.py", "constant", "MM_VET_PROMPT"), "\n{{question}} | {{answer}} | {{prediction}} |")),
    ("*", "mathvista_extract"): ReferencePrompt(None, (
        Text("tasks/mathvista/mathvista_evals.py", "constant", "DEMO_PROMPT", strip=True),
        "\n\n{{query}}\n\n{{response}}\n\nExtracted answer: ")),
    ("*", "mathverse_extract"): ReferencePrompt(None, (
        Text("tasks/mathverse/mathverse_evals.py", "constant", "DEMO_PROMPT_EXTRACT", strip=True),
        "\n\nModel response: '{{response}}'\nExtracted Answer: ")),
    ("*", "mathverse_judgement"): ReferencePrompt(None, (
        Text("tasks/mathverse/mathverse_evals.py", "constant", "DEMO_PROMPT_SCORE", strip=True,
             fields={"question": "question", "gt": "answer", "extraction": "extraction"}),)),
    ("*", "mmbench_match"): ReferencePrompt(None, (
        Text("tasks/mmbench/mmbench_evals.py", "assigned", "build_prompt", "tmpl",
             fields={"0": "question", "1": "options", "2": "prediction"}),)),
    ("*", "llava_wild_review"): ReferencePrompt(
        Text("tasks/llava-in-the-wild/utils.py", "message", "get_eval", "system"),
        ("[Context]\n{{context}}\n\n[Question]\n{{question}}\n\n[", _LLAVA_ROLE, " 1]\n{{reference_answer}}\n\n"
         "[End of ", _LLAVA_ROLE, " 1]\n\n[", _LLAVA_ROLE, " 2]\n{{model_answer}}\n\n[End of ", _LLAVA_ROLE,
         " 2]\n\n[System]\n", _LLAVA_RULE, "\n\n")),
    ("*", "activitynetqa"): _video_judge("tasks/activitynetqa/utils.py", "get_eval"),
    ("*", "videochatgpt_correctness"): _video_judge(_VIDEOCHATGPT, "get_eval_generic", ("task", "correctness")),
    ("*", "videochatgpt_detail"): _video_judge(_VIDEOCHATGPT, "get_eval_generic", ("task", "detailed_orientation")),
    ("*", "videochatgpt_context"): _video_judge(_VIDEOCHATGPT, "get_eval_generic", ("task", "context")),
    ("*", "videochatgpt_temporal"): _video_judge(_VIDEOCHATGPT, "get_eval_generic", ("task", "temporal")),
    ("*", "videochatgpt_consistency"): _video_judge(
        _VIDEOCHATGPT, "get_eval_consistency", fields={"question1": "question_1", "question2": "question_2",
                                                       "answer": "answer", "pred1": "prediction_1",
                                                       "pred2": "prediction_2"}),
    ("video_dc499", "videochatgpt_detail"): _video_judge("tasks/video_detail_description/utils.py",
                                                         "get_eval_generic"),
}


@dataclass(frozen=True)
class UsedText:
    text: str  # where it was read: "lmms_eval/tasks/mmvet/utils.py: MM_VET_PROMPT"
    sha256: str  # of the text as it enters the prompt (ov_eval template syntax)


@dataclass(frozen=True)
class ResolvedPrompt:
    prompt: JudgePrompt
    texts: tuple[UsedText, ...]

    def provenance(self) -> list[dict[str, str]]:
        return [{"text": t.text, "sha256": t.sha256} for t in self.texts]


def package_folder(spec: str) -> Path:
    """The `lmms_eval` folder a --judge_prompts value names: a checkout (holding lmms_eval/tasks/), the package
    folder itself (holding tasks/), or the name of an installed package, located without importing it."""
    path = Path(spec).expanduser()
    if path.exists():
        for folder in (path / "lmms_eval", path):
            if (folder / "tasks").is_dir():
                return folder.resolve()
        raise OvEvalError(f"--judge_prompts: {path} holds neither lmms_eval/tasks/ (a checkout) nor tasks/ "
                          f"(the lmms_eval package folder)")
    module, found = spec.replace("-", "_"), None
    if module.isidentifier():
        try:
            found = importlib.util.find_spec(module)  # a top-level name is located, not imported
        except (ImportError, ValueError):
            found = None
    locations = list(found.submodule_search_locations or []) if found is not None else []
    if not locations:
        raise OvEvalError(f"--judge_prompts: '{spec}' is neither a folder nor an installed package")
    folder = Path(locations[0])
    if not (folder / "tasks").is_dir():
        raise OvEvalError(f"--judge_prompts: the package '{spec}' at {folder} has no tasks/ folder")
    return folder.resolve()


class ReferencePrompts:
    """The reference's judge prompts under one `lmms_eval` folder, built on first use per (task, prompt)."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.folder = package_folder(spec)
        self._files: dict[Path, Any] = {}
        self._built: dict[tuple[str, str], ResolvedPrompt] = {}

    def prompt(self, task: str, prompt_name: str) -> ResolvedPrompt:
        key = (task, prompt_name)
        if key not in self._built:
            self._built[key] = self._build(task, prompt_name)
        return self._built[key]

    def check(self, judged: Iterable[tuple[str, Iterable[str]]]) -> None:
        """Build every prompt that (task, judge kinds) pairs need now, so a missing text fails before the run."""
        for task, kinds in judged:
            for kind in kinds:
                self.prompt(task, judge_kind(kind).prompt_name)

    def _build(self, task: str, prompt_name: str) -> ResolvedPrompt:
        layout = REFERENCE_PROMPTS.get((task, prompt_name)) or REFERENCE_PROMPTS.get(("*", prompt_name))
        if layout is None:
            raise OvEvalError(f"--judge_prompts: task '{task}': ov_eval does not know where the reference keeps "
                              f"its judge prompt '{prompt_name}'")
        used: list[UsedText] = []

        def read(text: Text) -> str:
            template = self._read(task, text)
            used.append(UsedText(text.describe(), hashlib.sha256(template.encode("utf-8")).hexdigest()))
            return template

        system = read(layout.system) if layout.system is not None else ""
        template = "".join(piece if isinstance(piece, str) else read(piece) for piece in layout.user)
        default = load_prompt(prompt_name)
        files = sorted({str(self.folder / piece.file) for piece in (layout.system, *layout.user)
                        if isinstance(piece, Text)})
        digest = hashlib.sha256("\0".join([system, template]).encode("utf-8")).hexdigest()[:12]
        prompt = JudgePrompt(
            name=default.name, version=f"{default.name}/reference-{digest}",
            provenance=f"the reference's text, read from {', '.join(files)}",
            reference="; ".join(dict.fromkeys(u.text for u in used)), reference_model=default.reference_model,
            system=system, temperature=default.temperature, max_tokens=default.max_tokens, template=template)
        if prompt.fields != default.fields:
            raise OvEvalError(f"--judge_prompts: task '{task}': the prompt read from {', '.join(files)} has the "
                              f"fields {sorted(prompt.fields)}, ov_eval fills {sorted(default.fields)}")
        return ResolvedPrompt(prompt, tuple(dict.fromkeys(used)))

    def _read(self, task: str, text: Text) -> str:
        path = self.folder / text.file
        try:
            if text.where == "json":
                value = json_text(self._parsed(path, json_data), text.name, text.same_as)
                return as_template(value, text.fields, text.strip)
            tree = self._parsed(path, python_tree)
            if text.where == "constant":
                node = module_constant(tree, text.name)
            elif text.where == "assigned":
                node = assigned_in_function(tree, text.name, text.role)
            else:
                node = message_content(tree, text.name, text.role, text.branch)
            return as_template(node, text.fields, text.strip)
        except TextNotFound as exc:
            raise OvEvalError(f"--judge_prompts: task '{task}': {path}: {exc}") from None

    def _parsed(self, path: Path, parse: Any) -> Any:
        if path not in self._files:
            self._files[path] = parse(path)
        return self._files[path]

