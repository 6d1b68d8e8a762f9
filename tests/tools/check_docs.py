#!/usr/bin/env python3
"""check_docs.py -- `make test-docs` (part of make check): the project's
documents stay true to the tree.

1. Every link in README.md and docs/**/*.md resolves to a file or directory
   inside the repository (no link leaves it).
2. No tracked file except CHANGELOG.md and the fuzz corpora names the
   founding notes that live outside the repository or an issue number:
   the repository's own docs/ are where the design lives.
3. The configuration table of docs/operations.md lists exactly the
   variables and defaults that `agentrecoverd --help` prints.

Usage: check_docs.py ROOT DAEMON
"""
import os
import re
import subprocess
import sys

root, daemon = sys.argv[1], sys.argv[2]
errors = []

# 1. links
link = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
docs = ["README.md"] + sorted(
    os.path.join(d, f)[len(root) + 1:]
    for d, _, fs in os.walk(os.path.join(root, "docs"))
    for f in fs if f.endswith(".md"))
for doc in docs:
    text = open(os.path.join(root, doc), encoding="utf-8").read()
    for target in link.findall(text):
        if target.startswith("#"):
            continue
        if re.match(r"^[a-z]+:", target):
            errors.append(f"{doc}: link leaves the repository: {target}")
            continue
        path = os.path.normpath(os.path.join(root, os.path.dirname(doc),
                                             target.split("#")[0]))
        if not path.startswith(os.path.abspath(root)) and not \
                os.path.abspath(path).startswith(os.path.abspath(root)):
            errors.append(f"{doc}: link leaves the repository: {target}")
        elif not os.path.exists(path):
            errors.append(f"{doc}: broken link: {target}")

# 2. mentions (the names are assembled so this file does not match itself)
names = ["DESIGN" + ".md", "STYLE" + ".md", "NOTES" + ".md", "../" + "shared"]
issue = re.compile(r"\bissues?\s*#?\s*\d+", re.I)
files = subprocess.run(["git", "-C", root, "ls-files"], capture_output=True,
                       text=True, check=True).stdout.split("\n")
for f in files:
    if not f or f == "CHANGELOG.md" or f.startswith("tests/fuzz/corpus/"):
        continue
    try:
        text = open(os.path.join(root, f), encoding="utf-8").read()
    except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
        continue
    for n in names:
        if n in text:
            errors.append(f"{f}: mentions {n}")
    m = issue.search(text)
    if m:
        errors.append(f"{f}: mentions an issue number ({m.group(0)!r})")

# 3. the configuration table
helptext = subprocess.run([daemon, "--help"], capture_output=True, text=True,
                          check=True).stdout
want = {}
for line in helptext.splitlines():
    m = re.match(r"^  ([A-Z][A-Z0-9_]+)\s+default (\(.*?\)|\S+)", line)
    if m:
        want[m.group(1)] = m.group(2)
ops = open(os.path.join(root, "docs/operations.md"), encoding="utf-8").read()
have = {}
for line in ops.splitlines():
    m = re.match(r"^\| `([A-Z][A-Z0-9_]+)` \| (.*?) \|", line)
    if m:
        have[m.group(1)] = m.group(2).strip().strip("`")
for v in sorted(set(want) - set(have)):
    errors.append(f"docs/operations.md: variable {v} missing from the table")
for v in sorted(set(have) - set(want)):
    errors.append(f"docs/operations.md: variable {v} is not in agentrecoverd --help")
for v in sorted(set(want) & set(have)):
    if want[v] != have[v]:
        errors.append(f"docs/operations.md: {v} default {have[v]!r}, "
                      f"agentrecoverd --help says {want[v]!r}")

if errors:
    print("\n".join("   " + e for e in errors))
    sys.exit(1)
print(f"   docs OK: {len(docs)} documents' links resolve, no outside notes or "
      f"issue numbers named, {len(want)} variables documented as --help prints them")
