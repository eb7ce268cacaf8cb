#!/usr/bin/env python3
"""Cuts the bundled King James Bible slice (text:bundled:kjv-small) from the full text.

Usage: tools/make_kjv_small.py [KJV_TXT] [OUT_DIR]
  defaults: ../shared/data/kjv.txt and moe4j-core/src/main/resources/datasets/kjv-small

The slice is the start of the text up to the last chapter heading before LIMIT bytes, so it
ends on a whole chapter (Genesis to Numbers 15, about 596 KB). It is written gzipped with mtime 0, so rerunning this script gives
a byte-identical file. The King James Version is in the public domain (in the United Kingdom the Crown's letters
patent govern printing it).
"""
import gzip
import re
import sys
from pathlib import Path

LIMIT = 600_000

src = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/kjv.txt")
out = Path(sys.argv[2] if len(sys.argv) > 2 else "moe4j-core/src/main/resources/datasets/kjv-small")
text = src.read_bytes()
# Chapter headings are lines like "Exodus 12" after a blank line.
heads = [m.start() for m in re.finditer(rb"\n\n(?=[1-3]? ?[A-Z][a-z]+(?: [A-Z][a-z]+)* \d+\n)", text) if m.start() <= LIMIT]
cut = heads[-1] + 1  # keep the newline ending the last verse
piece = text[:cut]
out.mkdir(parents=True, exist_ok=True)
with open(out / "kjv-small.txt.gz", "wb") as f:
    with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as g:
        g.write(piece)
print(f"{len(piece)} bytes of text, ending before: {text[cut:cut + 40]!r}")
