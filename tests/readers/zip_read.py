"""Reads a zip with Python's zipfile and prints it as JSON: the zip's sha256 in base64, and per
entry its name, method, flag bits, size, CRC-32, date, mode and the sha256 of its data.

Run: python3 zip_read.py FILE.zip
"""

import base64
import hashlib
import json
import sys
import zipfile

path = sys.argv[1]
with open(path, "rb") as f:
    raw = f.read()
entries = []
with zipfile.ZipFile(path) as z:
    bad = z.testzip()
    for info in z.infolist():
        data = z.read(info)
        entries.append(
            {
                "name": info.filename,
                "method": info.compress_type,
                "flag_bits": info.flag_bits,
                "size": info.file_size,
                "crc": info.CRC,
                "date_time": list(info.date_time),
                "mode": info.external_attr >> 16,
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
print(
    json.dumps(
        {
            "sha256_base64": base64.b64encode(hashlib.sha256(raw).digest()).decode(),
            "testzip": bad,
            "entries": entries,
        }
    )
)
