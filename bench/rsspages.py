#!/usr/bin/env python3
"""Where a running Go program's file-backed RSS goes (issue 18, idle RSS).

    python3 bench/rsspages.py PID [TOP]

Reads /proc/PID/maps and /proc/PID/pagemap (root, or the process's owner with
CAP_SYS_ADMIN, sees the present bits) for the mappings of the program's own binary,
then prints the resident size of each ELF section (readelf -S) and the bytes of
each package's symbols (go tool nm -size) that lie on resident pages. The kernel
maps file pages around each fault (fault-around, 64 KiB by default), so a section
can be resident well beyond the code that actually ran: the per-package figures
are the code and data on resident pages, not what was executed.
"""
import collections
import os
import re
import struct
import subprocess
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_pages(pid, binpath):
    spans = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and parts[5] == binpath:
                a, b = (int(x, 16) for x in parts[0].split("-"))
                spans.append((a, b))
    present = set()
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        for a, b in spans:
            f.seek(a // PAGE * 8)
            data = f.read((b - a) // PAGE * 8)
            for i in range(len(data) // 8):
                if struct.unpack_from("<Q", data, i * 8)[0] >> 63 & 1:
                    present.add(a + i * PAGE)
    return present


def sections(binpath):
    out = subprocess.run(["readelf", "-SW", binpath], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if m and int(m.group(2), 16):
            yield m.group(1), int(m.group(2), 16), int(m.group(3), 16)


def package(sym):
    if sym.startswith("type:"):
        return "type:*"
    if sym.startswith("go:"):
        return sym.split(".")[0]
    m = re.match(r"^((?:[^/]*/)*[^.]*)\.", sym)
    name = m.group(1) if m else sym
    for prefix, keep in (("modernc.org/", 2), ("github.com/", 3), ("golang.org/x/", 3), ("go.uber.org/", 2)):
        if name.startswith(prefix):
            return "/".join(name.split("/")[:keep])
    return name


def main():
    pid = int(sys.argv[1])
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    binpath = os.readlink(f"/proc/{pid}/exe")
    present = resident_pages(pid, binpath)
    print(f"{binpath}: {len(present) * PAGE / 2**20:.1f} MiB of its file pages resident")
    for name, addr, size in sections(binpath):
        first, last = addr // PAGE * PAGE, addr + size
        n = sum(1 for p in range(first, last, PAGE) if p in present)
        if n:
            print(f"  {name:14s} {size / 2**20:7.2f} MiB, resident {n * PAGE / 2**20:6.2f} MiB")
    nm = subprocess.run(["go", "tool", "nm", "-size", binpath], capture_output=True, text=True, check=True).stdout
    by = collections.Counter()
    for line in nm.splitlines():
        p = line.split(None, 3)
        if len(p) < 4 or not p[1].isdigit() or int(p[1]) == 0:
            continue
        start, size, kind = int(p[0], 16), int(p[1]), p[2].upper()
        on = 0
        for page in range(start // PAGE * PAGE, start + size, PAGE):
            if page in present:
                on += min(start + size, page + PAGE) - max(start, page)
        if on:
            by[(kind, package(p[3].strip()))] += on
    print(f"symbols on resident pages, top {top} (T code, R read-only data, D data):")
    for (kind, pkg), n in by.most_common(top):
        print(f"  {kind} {n / 1024:8.0f} KiB  {pkg}")


if __name__ == "__main__":
    main()
