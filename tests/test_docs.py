"""The configuration reference is generated from the schema and must not drift from it."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel

import sim.docs as docs
from sim.config import Config

STALE = (f"docs/config.md is out of date with sim/config/; regenerate it with\n"
         f"    {docs.REGENERATE}\nand commit the result.")


def _rendered() -> str:
    return docs.render_config_docs()


def _section(text: str, header: str) -> str:
    """The body of the ``## `header` `` section."""
    start = text.index(f"## `{header}`")
    nxt = text.find("\n## ", start + 1)
    return text[start: nxt if nxt >= 0 else len(text)]


def test_committed_reference_matches_schema():
    assert docs.CONFIG_DOCS.is_file(), STALE
    assert docs.CONFIG_DOCS.read_text(encoding="utf-8") == _rendered(), STALE


def test_sections_are_the_toml_tables_in_order():
    headers = [h for h, _, _ in docs.sections()]
    assert headers == ["[run]", "[population]", "[[population.communities]]", "[[platforms]]",
                       "[engagement]", "[operation]", "[paymaster]", "[adaptation]", "[moderation]",
                       "[breakout]", "[simsom]"]
    text = _rendered()
    positions = [text.index(f"## `{h}`") for h in headers]
    assert positions == sorted(positions)
    # every top-level table of Config has a section
    assert {p for _, p, _ in docs.sections() if "." not in p} == set(Config.model_fields)


def test_every_field_has_a_row_in_its_section():
    text = _rendered()
    seen = 0
    for header, _, model in docs.sections():
        body = _section(text, header)
        for name, field in model.model_fields.items():
            sub, array = docs._model_of(field.annotation)
            if sub is not None and not array:
                continue  # a nested table: it has its own section
            row = re.search(rf"^\| `{re.escape(name)}` \|(.*)\|$", body, re.M)
            assert row, f"{header}: no row for field {name!r}. {STALE}"
            cells = [c.strip() for c in row.group(1).split(" | ")]
            assert len(cells) == 6, f"{header}.{name}: malformed row {row.group(0)!r}"
            if field.description:
                assert cells[4] != "-", f"{header}.{name}: description missing"
            seen += 1
    assert seen >= 60


@pytest.mark.parametrize("header,path,model", docs.sections())
def test_documented_defaults_are_the_real_defaults(header, path, model):
    body = _section(_rendered(), header)
    for name, field in model.model_fields.items():
        if field.is_required() or docs._model_of(field.annotation)[0] is not None:
            continue
        value = docs.toml_value(docs.default_of(field))
        shown = f"`{value}`" if len(value) <= docs._MAX_CELL and value != "unset" else value
        assert shown in body or f"{name} = {value}" in body, f"{header}.{name}: default {value}"


def test_validator_rules_name_existing_fields():
    for model, name in docs.VALIDATOR_RULES:
        assert issubclass(model, BaseModel) and name in model.model_fields, (model, name)


def test_ranges_come_from_the_schema():
    text = _rendered()
    row = re.search(r"^\| `feed_capacity` \|.*$", text, re.M).group(0)
    assert "[1, 1024]" in row
    row = re.search(r"^\| `popularity_exponent` \|.*$", text, re.M).group(0)
    assert "(1.05, 10]" in row
    row = re.search(r"^\| `work_blocks` \|.*$", text, re.M).group(0)
    assert "[0, 24]" in row


def test_error_example_names_the_fields():
    text = _rendered()
    assert "population.like_prob" in text and "population.n_user: unknown field" in text


def test_write_to_other_path(tmp_path):
    out = docs.write(tmp_path / "config.md")
    assert out.read_text(encoding="utf-8") == _rendered()


def test_outputs_doc_names_every_output_field():
    """docs/outputs.md documents every summary key and every table column a run produces."""
    import sim
    from sim.ledger import REAL, VANITY

    text = (docs.CONFIG_DOCS.parent / "outputs.md").read_text(encoding="utf-8")
    result = sim.run({"run": {"days": 0.5}, "population": {"n_users": 300}})
    moderated = sim.run({"run": {"days": 1}, "population": {"n_users": 2000},
                         "moderation": {"enabled": True, "threshold": 0.2,
                                        "review_delay_hours": 0, "counterfactual": True},
                         "adaptation": {"enabled": True}, "paymaster": {"report_period_days": 1}})
    assert len(moderated.removals) > 0
    names = set()
    for r in (result, moderated):
        names |= set(r.summary) | set(r.timeseries.columns) | set(r.posts.columns) \
            | set(r.reports.columns) | set(r.removals.columns) | set(r.accounts.columns) \
            | set(r.operators.columns)
    missing = sorted(n for n in names if f"`{n}`" not in text)
    assert not missing, f"docs/outputs.md does not describe: {missing}"
    model = (docs.CONFIG_DOCS.parent / "model.md").read_text(encoding="utf-8")
    missing = sorted(n for n in VANITY + REAL if f"`{n}`" not in model)
    assert not missing, f"docs/model.md does not define: {missing}"
