#!/usr/bin/env python3
"""Builds a CodeBuild-like layout for the benchmarks, outside the repository.

DIR/src/s3/00          primary source: a monorepo checkout (200,000 files in 20,000 directories,
                       with .git and node_modules) holding the mapping file
DIR/src/s3/01 .. 05    five ECR source artifacts (imageDetail.json each)
DIR/env.sh             the CODEBUILD_SRC_DIR* variables for this layout
"""
import hashlib
import json
import os
import sys

root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "/tmp/imagedef-bench")
files_total = int(os.environ.get("BENCH_FILES", "200000"))
dirs_total = int(os.environ.get("BENCH_DIRS", "20000"))
host = "111122223333.dkr.ecr.us-east-1.amazonaws.com"
primary = os.path.join(root, "src/s3/00")
marker = os.path.join(root, ".complete")
if os.path.exists(marker) and os.path.exists(os.path.join(primary, "imagedef-by-repository.json")):
    print(f"layout already at {root}")
    sys.exit(0)

# The monorepo: 20,000 directories spread over services, .git objects and node_modules.
per_dir = files_total // dirs_total
for d in range(dirs_total):
    if d % 10 == 0:
        sub = f".git/objects/{d % 256:02x}/{d}"
    elif d % 10 in (1, 2, 3):
        sub = f"node_modules/pkg{d % 997}/lib/{d}"
    else:
        sub = f"services/svc{d % 50}/src/mod{d}"
    path = os.path.join(primary, sub)
    os.makedirs(path, exist_ok=True)
    for f in range(per_dir):
        with open(os.path.join(path, f"file{f}.txt"), "w") as fh:
            fh.write("x")

repos = [f"shop/image{i}" for i in range(1, 6)]
for i, repo in enumerate(repos, start=1):
    digest = "sha256:" + hashlib.sha256(repo.encode()).hexdigest()
    detail = {
        "ImageSizeInBytes": "44728918",
        "ImageDigest": digest,
        "Version": "1.0",
        "ImagePushedAt": "Tue Jun 28 09:41:03 UTC 2022",
        "RegistryId": "111122223333",
        "RepositoryName": repo,
        "ImageURI": f"{host}/{repo}@{digest}",
        "ImageTags": ["latest", f"build-{i}"],
    }
    art = os.path.join(root, f"src/s3/{i:02d}")
    os.makedirs(art, exist_ok=True)
    with open(os.path.join(art, "imageDetail.json"), "w") as fh:
        fh.write(json.dumps(detail, separators=(",", ":")))

# 50 services, each artifact image used by 10 of them.
services = {
    f"svc{s:02d}": {"containers": {"app": {"artifact": f"Image{s % 5 + 1}"}}}
    for s in range(50)
}
with open(os.path.join(primary, "imagedef.json"), "w") as fh:
    json.dump({"uri": "digest", "services": services}, fh, indent=2)
# The same services selected by repository: every root is walked, the monorepo too.
by_repository = {
    f"svc{s:02d}": {"containers": {"app": {"repository": f"shop/image{s % 5 + 1}"}}}
    for s in range(50)
}
with open(os.path.join(primary, "imagedef-by-repository.json"), "w") as fh:
    json.dump({"uri": "digest", "services": by_repository}, fh, indent=2)

with open(os.path.join(root, "env.sh"), "w") as fh:
    fh.write(f"export CODEBUILD_SRC_DIR={primary}\n")
    for i in range(1, 6):
        fh.write(f"export CODEBUILD_SRC_DIR_Image{i}={root}/src/s3/{i:02d}\n")
open(marker, "w").close()
print(f"layout written to {root}")
