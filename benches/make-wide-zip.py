#!/usr/bin/env python3
"""Writes a bundle of ENTRIES zip entries, as wide as the 3 MB CodeDeployToECS cap allows.

    benches/make-wide-zip.py OUT.zip ENTRIES

The first entry is a valid imagedefinitions.json; the others are empty STORED files with 5-letter
names (`e` and four hex digits, all distinct ignoring case), so each entry costs 86 bytes: 36,000
entries make a zip of 3.1 MB. Written by Python's zipfile to a seekable file (sizes and CRC-32 in
the local headers, no data descriptors, fixed timestamps), so `imagedef verify --bundle` reads it
cleanly and its time is the cost of the number of entries alone.
"""
import sys
import zipfile

out, count = sys.argv[1], int(sys.argv[2])
if not 1 <= count <= 0x10000:
    sys.exit("make-wide-zip.py: ENTRIES must be 1 to 65536")
defs = (
    b'[{"name":"app","imageUri":"111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web'
    b'@sha256:' + b"1" * 64 + b'"}]'
)
with zipfile.ZipFile(out, "w") as z:
    z.writestr(zipfile.ZipInfo("imagedefinitions.json", (1980, 1, 1, 0, 0, 0)), defs, zipfile.ZIP_DEFLATED)
    for i in range(count - 1):
        z.writestr(zipfile.ZipInfo(f"e{i:04x}", (1980, 1, 1, 0, 0, 0)), b"", zipfile.ZIP_STORED)
