"""sampan's Go templates against Go's own answers.

gotemplate_cases.json holds each case (template, data, and whether missing map keys are
errors, as `inspect -f` runs them) with the output or error Go 1.19's text/template gave,
recorded by go_oracle/ (see its main.go to re-run it; the suite itself needs no Go)."""

import json
from pathlib import Path

import pytest

from sampan.cli.gotemplate import Template, TemplateExecError, TemplateSyntaxError

CASES = json.loads((Path(__file__).parent / "gotemplate_cases.json").read_text())


def run(case):
    try:
        t = Template(case["t"])
        return t.execute(CASES["data"].get(case["data"]) if case["data"] else None,
                         missing_key_error=case.get("missingkey", False)), None
    except (TemplateSyntaxError, TemplateExecError) as e:
        return None, str(e)


@pytest.mark.parametrize("case", CASES["cases"], ids=[c["t"][:40] for c in CASES["cases"]])
def test_as_go(case):
    out, err = run(case)
    if "sampan" in case:  # a deliberate difference from Go 1.19, explained in its note
        assert (out, err) == (case["sampan"], None)
    else:
        assert (out, err) == (case["want"], case["err"])


@pytest.mark.parametrize("case", CASES["tables"], ids=[c["format"][:40] for c in CASES["tables"]])
def test_table_as_docker(case):
    """Docker's --format over rows: `table` headers from the column names, tabwriter columns."""
    from sampan.cli.gotemplate.docker import render
    from sampan.errors import SampanError
    try:
        out, err = render(case["format"], CASES["data"][case["rows"]], CASES["data"][case["header"]]), None
    except SampanError as e:
        out, err = None, e.message
    assert (out, err) == (case["want"], case["err"])


def test_hostile_templates_end_in_one_clean_error():
    """Templates nested or recursing beyond reason fail as template errors, not as a crash."""
    with pytest.raises(TemplateSyntaxError):
        Template("{{" + "(" * 5000 + "1" + ")" * 5000 + "}}")
    with pytest.raises(TemplateExecError, match="maximum template depth"):
        Template('{{define "x"}}{{template "x" .}}{{end}}{{template "x" .}}').execute({})
    with pytest.raises(TemplateSyntaxError):
        Template("{{" * 10000)
    # printf's width from an argument is capped as Go caps it (no giant allocation)
    assert Template('{{printf "%*d" 100000000 1}}').execute(None) == "%!(BADWIDTH)1"


def test_data_is_never_template_text():
    """Values that look like templates, HTML or escapes are printed as they are."""
    data = {"L": "{{.L}} <b>&amp; \x00\x1b[31m"}
    assert Template("{{.L}}").execute(data) == data["L"]
    assert Template("{{json .L}}").execute(data) == '"{{.L}} <b>&amp; \\u0000\\u001b[31m"'
