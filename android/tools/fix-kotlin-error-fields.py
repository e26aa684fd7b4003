#!/usr/bin/env python3
"""Renames error-variant fields called `message` to `detail` in uniffi's generated Kotlin.

Why: Kotlin exceptions inherit `Throwable.message`, so a Rust error variant with a `message` field generates Kotlin
that does not compile (uniffi-rs issue 1434, still open in uniffi 0.32). Only the generated exception classes and
their FfiConverter are touched; records keep their field names. When the core names no error field `message`,
this script changes nothing.

Usage: fix-kotlin-error-fields.py GENERATED.kt
"""
import re
import sys


def fix(text: str) -> tuple[str, int]:
    count = 0
    for m in list(re.finditer(r"sealed class (\w+)Exception: kotlin\.Exception\(\)", text)):
        name = m.group(1)
        start = text.find(m.group(0))
        conv = text.find(f"public object FfiConverterType{name}Error", start)
        if conv < 0:
            continue
        end = text.find("\n}\n", conv)
        region = text[start:end]
        fixed, n = re.subn(r"`message`", "`detail`", region)
        count += n
        text = text[:start] + fixed + text[end:]
    return text, count


def main() -> int:
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text, count = fix(text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    if count:
        print(f"renamed {count} uses of error field `message` to `detail` in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
