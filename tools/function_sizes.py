#!/usr/bin/env python3
"""Fails when a C++ function outside tests/ is longer than the limit.

    tools/function_sizes.py [--limit 80] [--root DIR] [--allow FILE] [--list]

A function is counted from the line of its opening brace to the line of its
closing one, lambdas and local classes inside it included. The files are the
repository's own (`git ls-files`, or every *.cpp/*.hpp under the root when it
is not a git checkout); tests/ is left out, and so is third-party code.

Found by counting braces over the source with comments, string and character
literals blanked out: a brace opens a function when the text before it, back
to the previous `;`, `{` or `}`, reads as a signature (a parameter list not
after `=`, not an `if`/`for`/`while`/`switch`/`catch`, not a class or a
namespace). Good enough for this tree's style (clang-format'ed); it is a
linter, not a compiler.

--allow names a file of `path:function` lines (a `#` starts a comment that
says why) that may stay over the limit for now.

Exit status: 0 when every function is within the limit, 1 otherwise (each
one named as path:line: name (N lines)), 2 on bad usage.
"""

import argparse
import os
import re
import subprocess
import sys

EXCLUDED_DIRS = ("tests/", "build/")
CONTROL = re.compile(r"^(if|for|while|switch|catch|else\s+if|return|sizeof|decltype)\b")
NOT_FUNCTION = re.compile(r"^(namespace|class|struct|union|enum|extern|template\s*<[^>]*>\s*(class|struct))\b")


def blank_literals(text):
    """Comments, string and character literals become spaces (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'R"([^(\s]{0,16})\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = ")" + m.group(1) + '"'
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append('""' + re.sub(r"[^\n]", " ", text[i + 2 : j]))
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():  # digit separator 1'000
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + c if j - i >= 2 else c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def strip_preprocessor(text):
    return re.sub(r"(?m)^[ \t]*#.*(\\\n.*)*$", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def outside_parens(header):
    depth, out = 0, []
    for ch in header:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def function_name(header):
    m = re.search(r"((?:[A-Za-z_~][\w:<>~]*::)*(?:operator\s*[^\s(]+|~?[A-Za-z_]\w*))\s*\(", header)
    return m.group(1) if m else header.strip()[:40]


def classify(header):
    """'function', 'ctor-init' (a brace of a constructor's initializer list) or None."""
    h = " ".join(header.split())
    if not h or "(" not in h or NOT_FUNCTION.match(h) or CONTROL.match(h):
        return None
    if h.startswith(("do", "try", "else")) and not re.match(r"^(do|try|else)\w", h):
        return None
    outside = outside_parens(h)
    if "operator" not in h and "=" in outside.replace("==", "").replace("!=", ""):
        return None  # an initializer, or a lambda stored in a variable
    if re.search(r"\]\s*(\([^)]*\))?\s*(mutable\s*)?(->\s*[\w:<>]+\s*)?$", h):
        return None  # a lambda at namespace scope
    if re.search(r"\)\s*(const|noexcept|override|final|mutable|&|&&|\s)*:\s*[^:]", h):
        # A constructor with an initializer list: a brace right after an
        # identifier initialises a member; after `)` or `}` it is the body.
        if re.search(r"[\w>]\s*$", h) and not re.search(r"\)\s*$", h):
            return "ctor-init"
        return "function"
    if not re.search(r"\)\s*(const|noexcept(\([^)]*\))?|override|final|mutable|&|&&|->\s*[\w:<>,\s*&]+|requires\s+.+|\s)*$", h):
        return None
    return "function"


def functions(text):
    """(start line, end line, name) of every outermost function body."""
    src = strip_preprocessor(blank_literals(text))
    stack = []  # per open brace: 'function', 'inside', 'ctor-init' or 'scope'
    last_break = 0
    pending_ctor = None  # (header start, name) while an initializer list is read
    found = []
    line = 1
    for i, ch in enumerate(src):
        if ch == "\n":
            line += 1
        elif ch == "{":
            in_function = any(k in ("function", "inside") for k in stack)
            if in_function:
                stack.append("inside")
            else:
                header = src[last_break:i]
                kind = classify(header)
                if pending_ctor and kind != "ctor-init":
                    prev = src[:i].rstrip()[-1:]
                    kind = "ctor-init" if re.match(r"\w", prev) else "function"
                    header = pending_ctor[1]
                if kind == "function":
                    stack.append(("function", line, function_name(header)))
                    pending_ctor = None
                elif kind == "ctor-init":
                    stack.append("ctor-init")
                    if not pending_ctor:
                        pending_ctor = (line, header)
                else:
                    stack.append("scope")
            last_break = i + 1
        elif ch == "}":
            if stack:
                top = stack.pop()
                if isinstance(top, tuple):
                    found.append((top[1], line, top[2]))
            last_break = i + 1
        elif ch == ";":
            last_break = i + 1
            if not any(k in ("function", "inside") or isinstance(k, tuple) for k in stack):
                pending_ctor = None
    return found


def sources(root):
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "*.cpp", "*.hpp", "*.h", "*.cc"],
                             check=True, capture_output=True, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        out = []
    if not out:  # not a checkout, or files not added yet
        for d, _, files in os.walk(root):
            for f in files:
                if f.endswith((".cpp", ".hpp", ".h", ".cc")):
                    out.append(os.path.relpath(os.path.join(d, f), root))
    return sorted(p for p in out if not p.startswith(EXCLUDED_DIRS))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=80)
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--allow", help="file of path:function lines allowed over the limit")
    ap.add_argument("--list", action="store_true", help="print every function longer than --limit/2")
    args = ap.parse_args(argv)
    if args.limit <= 0:
        print("function_sizes: --limit must be positive", file=sys.stderr)
        return 2
    allowed = set()
    if args.allow:
        try:
            with open(args.allow, encoding="utf-8") as f:
                for line in f:
                    entry = line.split("#", 1)[0].strip()
                    if entry:
                        allowed.add(entry)
        except OSError as e:
            print(f"function_sizes: --allow {args.allow}: {e.strerror}", file=sys.stderr)
            return 2
    over = []
    for path in sources(args.root):
        with open(os.path.join(args.root, path), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for start, end, name in functions(text):
            size = end - start + 1
            if size > args.limit or (args.list and size > args.limit // 2):
                over.append((size, path, start, name))
    for size, path, start, name in sorted(over, reverse=True):
        note = " (allowed for now)" if f"{path}:{name}" in allowed else ""
        print(f"{path}:{start}: {name} ({size} lines){note}")
    too_long = [o for o in over if o[0] > args.limit and f"{o[1]}:{o[3]}" not in allowed]
    still_long = {f"{o[1]}:{o[3]}" for o in over if o[0] > args.limit}
    for entry in sorted(allowed - still_long):
        print(f"function_sizes: {entry} is allowed but within the limit: remove it from {args.allow}",
              file=sys.stderr)
    if too_long:
        print(f"function_sizes: {len(too_long)} function(s) over {args.limit} lines", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
