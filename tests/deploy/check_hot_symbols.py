#!/usr/bin/env python3
"""Checks src/app/hot_symbols.txt against the built sqs2pg binary:

- the list is not stale: at least 75 % of its names are functions the binary defines
  (a release build matches all but a few; the debugoptimized build, with other inlining,
  about 90 %; the build before a day's changes to the hot path about 85 %). Below that,
  rerun bench/hot-symbols;
- when ld.lld linked the binary (the hot_layout option, with lld installed), the listed
  functions sit together at the start of the code: their bytes span less than half of
  .text. (Without lld the layout is the usual one, and only the first check applies.)

    check_hot_symbols.py SOURCE_ROOT BINARY
"""

import os
import subprocess
import sys


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def main():
    root, binary = sys.argv[1], sys.argv[2]
    with open(os.path.join(root, "src", "app", "hot_symbols.txt"), encoding="ascii") as f:
        names = [line.strip() for line in f if line.strip()]
    if len(names) < 500:
        fail(f"hot_symbols.txt lists {len(names)} functions; a drain runs about 1,500")

    out = subprocess.run(["nm", "--defined-only", "--print-size", binary],
                         capture_output=True, text=True, check=True).stdout
    symbols = {}  # name -> (address, size) of code symbols
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tTwW":
            symbols[parts[3]] = (int(parts[0], 16), int(parts[1], 16))
    found = [symbols[n] for n in names if n in symbols]
    share = len(found) / len(names)
    print(f"{len(found)} of {len(names)} listed functions defined in the binary ({share:.0%})")
    if share < 0.75:
        fail("hot_symbols.txt is stale: rerun bench/hot-symbols on a release build")

    comment = subprocess.run(["readelf", "-p", ".comment", binary],
                             capture_output=True, text=True).stdout
    if "LLD" not in comment:
        print("not linked by ld.lld: the layout is not checked")
        return
    sections = subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True,
                              check=True).stdout
    parts = next(line.split() for line in sections.splitlines() if " .text " in line)
    i = parts.index(".text")  # .text PROGBITS address offset size ...
    start, size = int(parts[i + 2], 16), int(parts[i + 4], 16)
    hot = sorted(found)
    total = sum(s for _, s in hot)
    # The smallest address range holding 90 % of the listed bytes, from the lowest up.
    acc, end = 0, start
    for addr, s in hot:
        acc += s
        end = addr + s
        if acc >= 0.9 * total:
            break
    span = end - start
    print(f".text {size / 1e6:.2f} MB; 90 % of the listed code ({total / 1e6:.2f} MB) "
          f"within its first {span / 1e6:.2f} MB")
    if span > size / 2:
        fail("the listed functions are not grouped at the start of .text: is the ordering "
             "file passed to ld.lld (src/app/meson.build)?")
    print("ok")


if __name__ == "__main__":
    main()
