#!/usr/bin/env python3
"""Parses Kotlin sources with tree-sitter's Kotlin grammar and fails on any syntax error (ERROR or MISSING node).

The Compose app (android/app) needs the Android SDK to compile, which build machines here lack; this check keeps its
sources (and its Gradle Kotlin scripts) well-formed. The library and the view models are compiled for real by Maven.

Usage: check-kotlin-syntax.py FILE_OR_DIR...
"""
import pathlib
import sys

from tree_sitter import Language, Parser
import tree_sitter_kotlin


def errors(parser: Parser, path: pathlib.Path) -> list[str]:
    src = path.read_bytes()
    found = []
    stack = [parser.parse(src).root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            row, col = node.start_point
            snippet = src[node.start_byte:node.start_byte + 50].decode("utf-8", "replace").replace("\n", " ")
            found.append(f"{path}:{row + 1}:{col + 1}: syntax error near: {snippet}")
            continue
        stack.extend(node.children)
    return found


def main() -> int:
    parser = Parser(Language(tree_sitter_kotlin.language()))
    files = []
    for arg in sys.argv[1:]:
        p = pathlib.Path(arg)
        files += sorted(list(p.rglob("*.kt")) + list(p.rglob("*.kts"))) if p.is_dir() else [p]
    if not files:
        print("error: no Kotlin files given", file=sys.stderr)
        return 1
    problems = [e for f in files for e in errors(parser, f)]
    for p in problems:
        print(p, file=sys.stderr)
    print(f"{len(files)} Kotlin files parsed, {len(problems)} syntax errors")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
