"""The vocabularies (order statuses, payment types, review score range, quarantine reason codes)
have one home, dbt_project.yml's vars, and everything that needs them reads it."""

from __future__ import annotations

import re
import types
from pathlib import Path

import jinja2

from medallion import vocabulary
from medallion.generate import DEFECT_REASONS, ORDER_STATUSES, PAYMENT_TYPES
from medallion.generate._defects import OUT_OF_RANGE_SCORES
from medallion.paths import project_dir

DBT = project_dir() / "dbt"


def sources(*folders: str) -> dict[Path, str]:
    return {
        path: path.read_text()
        for folder in folders
        for path in sorted((DBT / folder).rglob("*"))
        if path.suffix in (".sql", ".yml")
    }


def test_the_vocabulary_is_read_from_the_dbt_project() -> None:
    vocab = vocabulary.load()
    assert "delivered" in vocab.order_statuses
    assert "credit_card" in vocab.payment_types
    assert (vocab.review_score_min, vocab.review_score_max) == (1, 5)
    assert "orphan" in vocab.quarantine_reasons


def test_the_generator_uses_it() -> None:
    vocab = vocabulary.load()
    assert vocab.order_statuses == ORDER_STATUSES
    assert vocab.payment_types == PAYMENT_TYPES
    for score in OUT_OF_RANGE_SCORES:
        assert not vocab.review_score_min <= int(score) <= vocab.review_score_max
    assert {r for r in DEFECT_REASONS.values() if r} <= set(vocab.quarantine_reasons)


def test_silver_emits_exactly_the_reason_codes_of_the_vocabulary() -> None:
    code = "\n".join(sources("models/silver", "macros/silver").values())
    emitted = set(re.findall(r"silver_reason\('([a-z_]+)'\)", code))
    assert emitted == set(vocabulary.load().quarantine_reasons)
    literal = re.findall(r"then '([a-z_]+)'", code)
    assert not literal, f"reason codes written as literals, not through silver_reason: {literal}"


def _silver_reason(code: str) -> str:
    """Render the silver_reason macro with dbt's var() and exceptions stood in by plain jinja."""

    class CompilerError(Exception):
        pass

    def raise_compiler_error(message: str) -> None:
        raise CompilerError(message)

    vocab = vocabulary.load()
    env = jinja2.Environment()
    macros = env.from_string((DBT / "macros/silver/silver_reason.sql").read_text())
    module = macros.make_module(
        {
            "var": {"quarantine_reasons": list(vocab.quarantine_reasons)}.__getitem__,
            "exceptions": types.SimpleNamespace(raise_compiler_error=raise_compiler_error),
        }
    )
    try:
        return str(module.silver_reason(code))  # type: ignore[attr-defined]
    except CompilerError as exc:
        return f"error: {exc}"


def test_a_reason_code_outside_the_vocabulary_fails_to_compile() -> None:
    assert _silver_reason("orphan") == "'orphan'"
    refused = _silver_reason("orphaned")
    assert refused.startswith("error: unknown quarantine reason 'orphaned'"), refused
    assert "dbt_project.yml" in refused


def test_no_model_macro_or_test_keeps_a_copy_of_a_vocabulary() -> None:
    vocab = vocabulary.load()
    copies = []
    for path, text in sources("models", "macros", "tests").items():
        if "not_defined" in text or "debit_card" in text:
            copies.append((path, "payment types"))
        if "invoiced" in text:
            copies.append((path, "order statuses"))
        if re.search(r"between\s+1\s+and\s+5|max_value:\s*5\b", text):
            copies.append((path, "review score range"))
        if re.search(r"values:\s*\[[^\]]*unknown_payment_type", text):
            copies.append((path, "reason codes"))
    assert copies == [], copies
    assert vocab.payment_types  # the check above is only meaningful with a vocabulary
