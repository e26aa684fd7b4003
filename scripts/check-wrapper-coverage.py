#!/usr/bin/env python3
"""Fails when a function the core exports has no call in the Kotlin or Swift wrapper.

The exported surface is read from the C header uniffi generates with the Swift bindings (doorstep_coreFFI.h):
every `uniffi_<crate>_fn_constructor_<object>_<name>`, `fn_method_<object>_<name>` and `fn_func_<name>`, and every
callback interface (`fn_init_callback_vtable_<name>`). A wrapper covers a function when its sources call it as
`.camelCaseName(` (dot-qualified, so the wrapper's own function of the same name does not count), and a callback
interface when its sources name it. A new core function without a wrapper fails the build with its name.

Usage: check-wrapper-coverage.py HEADER --kotlin DIR [--swift DIR]
"""
import argparse
import pathlib
import re
import sys

FN = re.compile(r"\buniffi_(\w+?)_fn_(constructor|method|func|init_callback_vtable)_(\w+)\s*\(")


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def exported(header: str) -> list[tuple[str, str, str]]:
    """(kind, owner, name) for each exported function; owner is the lowercased object name or ''."""
    items = []
    for _crate, kind, rest in FN.findall(header):
        if kind in ("constructor", "method"):
            owner, _, name = rest.partition("_")
            if name.startswith("uniffi_trait"):
                continue
            items.append((kind, owner, name))
        elif kind == "func":
            items.append((kind, "", rest))
        else:
            items.append(("callback", "", rest))
    # A callback interface exported `with_foreign` also has Rust-side methods; the wrapper implements the
    # interface rather than calling them, which the callback entry checks.
    callbacks = {name for kind, _, name in items if kind == "callback"}
    items = [i for i in items if not (i[0] == "method" and i[1] in callbacks)]
    return sorted(set(items))


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def sources(directory: pathlib.Path, suffix: str) -> str:
    files = sorted(directory.rglob(f"*{suffix}"))
    if not files:
        sys.exit(f"error: no {suffix} files under {directory}")
    return "\n".join(strip_comments(f.read_text(encoding="utf-8")) for f in files)


def missing(items, text: str) -> list[str]:
    out = []
    for kind, owner, name in items:
        if kind == "callback":
            if not re.search(rf"\b{name}\b", text, flags=re.I):
                out.append(f"callback interface {name}")
            continue
        call = re.compile(rf"\.`?{re.escape(camel(name))}`?\s*\(")
        if not call.search(text):
            what = f"{owner}.{name}" if owner else name
            out.append(f"{kind} {what} (call `.{camel(name)}(`)")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("header", type=pathlib.Path)
    ap.add_argument("--kotlin", type=pathlib.Path)
    ap.add_argument("--swift", type=pathlib.Path)
    args = ap.parse_args()
    items = exported(args.header.read_text(encoding="utf-8"))
    if not items:
        sys.exit(f"error: no exported functions found in {args.header}")
    failed = False
    for lang, directory, suffix in (("Kotlin", args.kotlin, ".kt"), ("Swift", args.swift, ".swift")):
        if directory is None:
            continue
        gaps = missing(items, sources(directory, suffix))
        for gap in gaps:
            print(f"error: core {gap} has no {lang} wrapper in {directory}", file=sys.stderr)
        if gaps:
            failed = True
        else:
            print(f"{lang} wrapper covers all {len(items)} exported functions and callback interfaces")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
