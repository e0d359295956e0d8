#!/usr/bin/env python3
"""Writes src/lab/api/enums.json: the enum fields of the API types the practice cluster serves,
with each value's meaning, read from the upstream Go types (k8s.io/api v0.32.0).

k8s-openapi drops the upstream `enum` lists and the "Possible enum values:" paragraphs, so the
lab adds them back from this file when it builds its OpenAPI schemas (src/lab/openapi.rs).

Run by hand (not in CI) from the repository root, with a clone of kubernetes/api that has the
tag:

    git clone https://github.com/kubernetes/api /tmp/k8s-api     # or any clone with v0.32.0
    python3 tools/enums.py /tmp/k8s-api [v0.32.0] > src/lab/api/enums.json

It reads the tag's Go files with `git show`, so the clone's work tree does not matter. What it
finds, as the upstream OpenAPI generator (kube-openapi `pkg/generators/enum.go`) does:
- an enum type is `type X string` whose doc comment has a `+enum` line;
- its values are the typed constants of that type (`A X = "a"` or `A = X("a")`), each value
  once (the first declaration wins), and a value's meaning is its doc comment on one line,
  with the constant's name taken off its front;
- a struct field whose type is an enum type (or a pointer to one) gets the enum; a slice or
  map of one gets it on its items (`"on": "items"`) or values (`"on": "values"`), without a
  description (upstream adds the paragraph only to the field itself). Fields of an inlined
  struct (`json:",inline"`) belong to the struct that inlines it, too.

Output: `{definition: {json field: {"values": [...], "meanings": {value: meaning}}}}`, keys
sorted, values in the upstream order (sorted as Go-quoted strings). Meanings are upstream API
documentation (Apache-2.0), carried verbatim because the server must serve them verbatim.

To serve another group-version, add its package directory to PACKAGES.
"""

import json
import re
import subprocess
import sys

# The k8s.io/api packages of the group-versions the lab serves (src/lab/kinds.rs).
PACKAGES = [
    "admissionregistration/v1",
    "apps/v1",
    "authentication/v1",
    "authorization/v1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "certificates/v1",
    "coordination/v1",
    "core/v1",
    "discovery/v1",
    "events/v1",
    "flowcontrol/v1",
    "networking/v1",
    "node/v1",
    "policy/v1",
    "rbac/v1",
    "scheduling/v1",
    "storage/v1",
]
MODULE = "k8s.io/api/"


def git(repo, *args):
    return subprocess.run(
        ["git", "-C", repo, *args], check=True, capture_output=True, text=True
    ).stdout


def package_files(repo, tag, package):
    """The hand-written Go files of a package (no tests, no generated code)."""
    names = git(repo, "ls-tree", "--name-only", f"{tag}:{package}").split()
    for name in sorted(names):
        if (
            name.endswith(".go")
            and not name.endswith("_test.go")
            and not name.startswith(("zz_", "generated"))
            and not name.endswith("_generated.go")
        ):
            yield name, git(repo, "show", f"{tag}:{package}/{name}")


def doc_comment(lines, index):
    """The `//` comment lines directly above line `index`, as Go's CommentGroup.Text() gives
    them (markers and one following space removed)."""
    out = []
    i = index - 1
    while i >= 0 and lines[i].strip().startswith("//"):
        text = lines[i].strip()[2:]
        out.append(text[1:] if text.startswith(" ") else text)
        i -= 1
    out.reverse()
    return out


def go_string(literal):
    if literal.startswith("`"):
        return literal[1:-1]
    return json.loads(literal)


def imports(source):
    """Import alias -> package directory under k8s.io/api (only those)."""
    out = {}
    for m in re.finditer(r'^\s*(?:import\s+)?(\w+\s+)?"k8s\.io/api/([^"]+)"', source, re.M):
        path = m.group(2)
        alias = (m.group(1) or "").strip() or path.rsplit("/", 1)[-1]
        out[alias] = path
    return out


STRING = r'("(?:[^"\\]|\\.)*"|`[^`]*`)'
# A constant's value: a string literal, or another constant (`v1.IPv4Protocol`).
VALUE = r"(" + STRING[1:-1] + r"|[A-Za-z_][\w.]*)"
CONST_TYPED = re.compile(r"^\s*(?:const\s+)?(\w+)\s+(\w+)\s*=\s*" + VALUE + r"\s*(//.*)?$")
CONST_CONVERTED = re.compile(r"^\s*(?:const\s+)?(\w+)\s*=\s*(\w+)\(" + VALUE + r"\)\s*(//.*)?$")
CONST_UNTYPED = re.compile(r"^\s*(?:const\s+)?(\w+)\s*=\s*" + STRING + r"\s*(//.*)?$")
TYPE_STRING = re.compile(r"^type\s+(\w+)\s+string\s*(//.*)?$")
STRUCT = re.compile(r"^type\s+(\w+)\s+struct\s*{\s*$")
FIELD = re.compile(r"^\s+(?:(\w+)\s+)?(\S+)\s+`([^`]*)`")


def scan(repo, tag):
    enums = {}  # (package, type) -> {value: meaning}, in declaration order
    consts = []  # (package, type, name, value, comment)
    structs = {}  # (package, type) -> [(json name | None for inline, type expr, file imports)]
    for package in PACKAGES:
        for _name, source in package_files(repo, tag, package):
            lines = source.split("\n")
            file_imports = imports(source)
            in_const = False
            struct = None
            for i, line in enumerate(lines):
                if struct is not None:
                    if line.startswith("}"):
                        struct = None
                        continue
                    m = None if line.strip().startswith("//") else FIELD.match(line)
                    if not m or "json:" not in m.group(3):
                        continue
                    tag_json = re.search(r'json:"([^"]*)"', m.group(3))
                    if not tag_json:
                        continue
                    parts = tag_json.group(1).split(",")
                    if parts[0] == "-":
                        continue
                    if m.group(1) is None:  # embedded
                        if "inline" in parts[1:]:
                            structs[struct].append((None, m.group(2), file_imports))
                        continue
                    json_name = parts[0] or m.group(1)
                    structs[struct].append((json_name, m.group(2), file_imports))
                    continue
                m = TYPE_STRING.match(line)
                if m:
                    comment = doc_comment(lines, i)
                    if any(c.strip() == "+enum" for c in comment):
                        enums.setdefault((package, m.group(1)), {})
                    continue
                m = STRUCT.match(line)
                if m:
                    struct = (package, m.group(1))
                    structs[struct] = []
                    continue
                if re.match(r"^const\s*\(\s*$", line):
                    in_const = True
                    continue
                if in_const and line.startswith(")"):
                    in_const = False
                    continue
                if in_const or line.startswith("const "):
                    m = CONST_TYPED.match(line) or CONST_CONVERTED.match(line)
                    if m:
                        name, typ, value = m.group(1), m.group(2), m.group(3)
                        comment = doc_comment(lines, i)
                        consts.append((package, typ, name, value, comment, file_imports))
                        continue
                    m = CONST_UNTYPED.match(line)
                    if m:
                        consts.append((package, "", m.group(1), m.group(2), [], file_imports))
    literal = {}
    for package, _typ, name, value, _comment, _imports in consts:
        if value[0] in "\"`":
            literal[(package, name)] = go_string(value)
    for package, typ, name, value, comment, file_imports in consts:
        values = enums.get((package, typ))
        if values is None:
            continue
        if value[0] in "\"`":
            value = go_string(value)
        else:
            value = literal.get(resolve(value, package, file_imports))
            if value is None:
                sys.exit(f"{package}: constant {name} of enum type {typ}: value not found")
        if value in values:
            print(f"{package}.{typ}: {name} repeats {value!r}; the first one stays", file=sys.stderr)
            continue
        text = " ".join(comment).strip()
        if text.startswith(name):
            text = text[len(name):]
        values[value] = re.sub(r"\s+", " ", text.strip())
    return enums, structs


def resolve(expr, package, file_imports):
    """(package, type name) of a type expression without pointer, slice or map."""
    if "." in expr:
        alias, name = expr.split(".", 1)
        return (file_imports.get(alias), name)
    return (package, expr)


def go_quote(value):
    return json.dumps(value, ensure_ascii=False)


def fields_of(structs, enums, key, seen=()):
    """The enum fields of a struct (with those of the structs it inlines)."""
    out = {}
    for json_name, expr, file_imports in structs.get(key, []):
        base = expr.lstrip("*")
        on = None
        if base.startswith("[]"):
            base, on = base[2:].lstrip("*"), "items"
        elif base.startswith("map[string]"):
            base, on = base[len("map[string]"):].lstrip("*"), "values"
        target = resolve(base, key[0], file_imports)
        if json_name is None:
            if target not in seen:
                out.update(fields_of(structs, enums, target, seen + (key,)))
            continue
        values = enums.get(target)
        if not values:
            continue
        ordered = sorted(values, key=go_quote)
        entry = {"values": ordered, "meanings": {v: values[v] for v in ordered}}
        if on:
            entry["on"] = on
        out[json_name] = entry
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: tools/enums.py KUBERNETES_API_CLONE [TAG]")
    repo = sys.argv[1]
    tag = sys.argv[2] if len(sys.argv) > 2 else "v0.32.0"
    enums, structs = scan(repo, tag)
    out = {}
    for key in structs:
        fields = fields_of(structs, enums, key)
        if fields:
            definition = "io.k8s.api." + key[0].replace("/", ".") + "." + key[1]
            out[definition] = fields
    empty = sorted(f"{p}.{t}" for (p, t), v in enums.items() if not v)
    if empty:
        print("enum types without values: " + ", ".join(empty), file=sys.stderr)
    count = sum(len(f) for f in out.values())
    print(f"{len(enums)} enum types, {count} enum fields in {len(out)} definitions", file=sys.stderr)
    json.dump(out, sys.stdout, indent=1, sort_keys=True, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
