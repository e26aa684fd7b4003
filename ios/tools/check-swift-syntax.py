#!/usr/bin/env python3
"""Parses Swift sources with tree-sitter's Swift grammar and fails on any syntax error (ERROR or MISSING node).

No Swift compiler runs on Linux build machines here, so this is the check that the generated bindings, the wrapper,
the tests and the app's sources are well-formed Swift. Conditional compilation is resolved first the way a current
Swift compiler on iOS resolves it (`#if swift(>=…)`, `#if compiler(>=…)`, `#if canImport(…)`, `#if os(iOS)` true;
`#else` branches dropped), because the grammar cannot parse attributes split by `#if`. Dropped lines are blanked,
so reported line numbers are the file's own. One more gap of the grammar is rewritten to its equivalent: a closure
whose whole body is the empty tuple, `{ () }`, is parsed as the equivalent empty closure `{ }`.

Usage: check-swift-syntax.py FILE_OR_DIR...
"""
import pathlib
import re
import sys

from tree_sitter import Language, Parser
import tree_sitter_swift

TRUE_CONDITION = re.compile(r"^(swift|compiler)\s*\(\s*>=|^canImport\s*\(|^os\s*\(\s*iOS\s*\)|^DEBUG$")


def resolve_conditionals(text: str) -> str:
    """Keeps the branch a current compiler for iOS takes; blanks directive lines and dropped branches."""
    out = []
    stack = []  # per open #if: [keeping_now, a_branch_was_taken]
    for line in text.split("\n"):
        s = line.strip()
        m = re.match(r"#(if|elseif)\s+(.*)", s)
        if m:
            cond = TRUE_CONDITION.match(m.group(2).strip()) is not None
            if m.group(1) == "if":
                stack.append([cond, cond])
            else:
                taken = stack[-1][1]
                stack[-1] = [cond and not taken, taken or cond]
            out.append("")
            continue
        if s == "#else":
            stack[-1] = [not stack[-1][1], True]
            out.append("")
            continue
        if s == "#endif":
            stack.pop()
            out.append("")
            continue
        out.append(line if all(keep for keep, _ in stack) else "")
    return "\n".join(out)


def errors(parser: Parser, path: pathlib.Path) -> list[str]:
    text = resolve_conditionals(path.read_text(encoding="utf-8"))
    text = re.sub(r"\{ \(\) \}", "{ }", text)
    src = text.encode("utf-8")
    tree = parser.parse(src)
    found = []
    cursor = [tree.root_node]
    while cursor:
        node = cursor.pop()
        if node.type == "ERROR" or node.is_missing:
            row, col = node.start_point
            snippet = src[node.start_byte:node.start_byte + 50].decode("utf-8", "replace").replace("\n", " ")
            found.append(f"{path}:{row + 1}:{col + 1}: {'missing ' + node.type if node.is_missing else 'syntax error'} near: {snippet}")
            continue
        cursor.extend(node.children)
    return found


def main() -> int:
    parser = Parser(Language(tree_sitter_swift.language()))
    files = []
    for arg in sys.argv[1:]:
        p = pathlib.Path(arg)
        files += sorted(p.rglob("*.swift")) if p.is_dir() else [p]
    if not files:
        print("error: no Swift files given", file=sys.stderr)
        return 1
    problems = [e for f in files for e in errors(parser, f)]
    for p in problems:
        print(p, file=sys.stderr)
    print(f"{len(files)} Swift files parsed, {len(problems)} syntax errors")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
