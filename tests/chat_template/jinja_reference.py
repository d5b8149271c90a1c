#!/usr/bin/env python3
"""Reference renderer for ds's chat-template tests: renders templates with Python's jinja2 in
the environment transformers' apply_chat_template builds (ImmutableSandboxedEnvironment with
trim_blocks and lstrip_blocks, the loopcontrols extension, a raise_exception global, and a
tojson filter that is json.dumps with ensure_ascii=False, so neither HTML characters nor
non-ASCII text are escaped).

Usage: jinja_reference.py CASES_JSON
CASES_JSON holds a list of {"template": str, "context": {...}}. Prints a JSON list with, per
case, {"text": rendered} or {"error": message, "raised": true|false}.
"""
import json
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


class TemplateRaised(Exception):
    """What raise_exception() throws, kept apart from jinja2's own errors."""


def raise_exception(message):
    raise TemplateRaised(message)


def tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def make_environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                       extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    env = make_environment()
    results = []
    for case in cases:
        try:
            text = env.from_string(case["template"]).render(**case["context"])
            results.append({"text": text})
        except TemplateRaised as e:
            results.append({"error": str(e), "raised": True})
        except Exception as e:  # noqa: BLE001 - any jinja2 failure is a result to compare
            results.append({"error": f"{type(e).__name__}: {e}", "raised": False})
    json.dump(results, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
