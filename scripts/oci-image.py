#!/usr/bin/env python3
"""Writes the release image as an OCI image layout, byte for byte the same on every run.

Usage: oci-image.py --out DIR --version V --revision R --epoch SECONDS
                    --doc FILE... --platform ARCH BINARY BUSYBOX APPLETS [--platform ...]

Each --platform (amd64 or arm64) gives the static imagedef binary, a static busybox of that
architecture (/bin/sh and the usual commands) and the file listing its applets (busybox
--list-full). The CA bundle is this machine's /etc/ssl/certs/ca-certificates.crt (architecture
independent). Every image has two layers: the base (busybox, its applet links, the CA bundle,
/etc/passwd and /etc/group, /root and /tmp) and imagedef (/usr/local/bin/imagedef and
/usr/share/doc/imagedef/: the README, the licenses and the third-party notices).

The layout's index.json names three things: VERSION, an image index of both platforms (what
`skopeo copy --all` pushes as one multi-architecture tag), and VERSION-amd64 and VERSION-arm64,
the single-platform images (CodeBuild's Lambda compute takes no multi-architecture index).

Reproducible: every file's mtime is --epoch (SOURCE_DATE_EPOCH), owners are 0:0 with no names,
entries are sorted, gzip carries no name and no time, JSON is written compactly in a fixed order.
"""

import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DESCRIPTION = (
    "Turns CodePipeline ECR source imageDetail.json files into verified imagedefinitions.json / "
    "imageDetail.json files; a CodeBuild custom image."
)
PLATFORMS = {"amd64": {"architecture": "amd64"}, "arm64": {"architecture": "arm64", "variant": "v8"}}


def fail(message):
    print(f"oci-image.py: {message}", file=sys.stderr)
    sys.exit(1)


def read(path, what):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        fail(f"cannot read the {what} {path}: {e.strerror}")


class Layer:
    """A tar layer: directories, files and symlinks, written sorted by path."""

    def __init__(self, epoch):
        self.epoch = epoch
        self.entries = {}

    def _parents(self, path):
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/".join(parts[:i])
            if parent not in self.entries:
                self.dir(parent, 0o755)

    def dir(self, path, mode):
        self._parents(path)
        self.entries[path] = ("dir", mode, None)

    def file(self, path, mode, data):
        self._parents(path)
        self.entries[path] = ("file", mode, data)

    def symlink(self, path, target):
        self._parents(path)
        self.entries[path] = ("symlink", 0o777, target)

    def tar(self):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
            for path in sorted(self.entries):
                kind, mode, payload = self.entries[path]
                info = tarfile.TarInfo(path + ("/" if kind == "dir" else ""))
                info.mode = mode
                info.mtime = self.epoch
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if kind == "dir":
                    info.type = tarfile.DIRTYPE
                    archive.addfile(info)
                elif kind == "symlink":
                    info.type = tarfile.SYMTYPE
                    info.linkname = payload
                    archive.addfile(info)
                else:
                    info.size = len(payload)
                    archive.addfile(info, io.BytesIO(payload))
        return buffer.getvalue()


class Layout:
    """An OCI image layout being written: blobs by digest, the top-level descriptors in order."""

    def __init__(self, out):
        self.out = out
        self.refs = []
        os.makedirs(os.path.join(out, "blobs", "sha256"))

    def blob(self, media_type, data, **extra):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.out, "blobs", "sha256", digest), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data), **extra}

    def json_blob(self, media_type, document, **extra):
        return self.blob(media_type, json.dumps(document, separators=(",", ":")).encode(), **extra)

    def finish(self):
        with open(os.path.join(self.out, "oci-layout"), "w", encoding="utf-8") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": self.refs}
        with open(os.path.join(self.out, "index.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(index, separators=(",", ":")))


def base_layer(epoch, busybox, applets):
    layer = Layer(epoch)
    for path in ["bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "etc/ssl/certs"]:
        layer.dir(path, 0o755)
    layer.dir("root", 0o700)
    layer.dir("tmp", 0o1777)
    layer.file("bin/busybox", 0o755, busybox)
    for applet in applets:
        path = applet.strip().lstrip("/")
        if path and path != "bin/busybox" and path not in layer.entries:
            layer.symlink(path, "/bin/busybox")
    layer.file(CA_BUNDLE.lstrip("/"), 0o644, read(CA_BUNDLE, "CA bundle"))
    layer.file("etc/passwd", 0o644, b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n")
    layer.file("etc/group", 0o644, b"root:x:0:\nnogroup:x:65534:\n")
    return layer


def imagedef_layer(epoch, binary, docs):
    layer = Layer(epoch)
    layer.file("usr/local/bin/imagedef", 0o755, binary)
    for name, data in docs:
        layer.file(f"usr/share/doc/imagedef/{name}", 0o644, data)
    return layer


def image(layout, args, arch, binary_path, busybox_path, applets_path, docs):
    created = datetime.datetime.fromtimestamp(args.epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    applets = read(applets_path, "busybox applet list").decode().split()
    layers = [
        ("base: busybox, CA bundle, passwd/group", base_layer(args.epoch, read(busybox_path, "busybox binary"), applets)),
        ("imagedef, its README and licenses", imagedef_layer(args.epoch, read(binary_path, "imagedef binary"), docs)),
    ]
    descriptors, diff_ids, history = [], [], []
    for comment, layer in layers:
        tar = layer.tar()
        diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
        packed = gzip.compress(tar, compresslevel=9, mtime=0)
        descriptors.append(layout.blob("application/vnd.oci.image.layer.v1.tar+gzip", packed))
        history.append({"created": created, "comment": comment})
    labels = {
        "org.opencontainers.image.description": DESCRIPTION,
        "org.opencontainers.image.licenses": "MIT OR Apache-2.0",
        "org.opencontainers.image.revision": args.revision,
        "org.opencontainers.image.source": "https://github.com/imagedef/imagedef",
        "org.opencontainers.image.title": "imagedef",
        "org.opencontainers.image.version": args.version,
    }
    config = {
        "created": created,
        **PLATFORMS[arch],
        "os": "linux",
        "config": {"Env": [f"PATH={PATH}"], "Cmd": ["imagedef", "--help"], "Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": layout.json_blob("application/vnd.oci.image.config.v1+json", config),
        "layers": descriptors,
        "annotations": {"org.opencontainers.image.created": created, "org.opencontainers.image.version": args.version},
    }
    platform = {"architecture": PLATFORMS[arch]["architecture"], "os": "linux"}
    if "variant" in PLATFORMS[arch]:
        platform["variant"] = PLATFORMS[arch]["variant"]
    return manifest, platform


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--revision", required=True)
    parser.add_argument("--epoch", required=True, type=int)
    parser.add_argument("--doc", action="append", default=[], help="a file for /usr/share/doc/imagedef/")
    parser.add_argument("--platform", action="append", nargs=4, required=True, metavar=("ARCH", "BINARY", "BUSYBOX", "APPLETS"))
    args = parser.parse_args()
    if os.path.exists(args.out):
        fail(f"{args.out} already exists; give a new directory")
    arches = [p[0] for p in args.platform]
    for arch in arches:
        if arch not in PLATFORMS:
            fail(f"--platform {arch}: unknown architecture (amd64 or arm64)")
    if sorted(arches) != sorted(set(arches)):
        fail(f"--platform given twice for one architecture: {' '.join(arches)}")
    docs = sorted((os.path.basename(path), read(path, "document")) for path in args.doc)

    layout = Layout(args.out)
    manifest_type = "application/vnd.oci.image.manifest.v1+json"
    entries = []
    for arch, binary, busybox, applets in args.platform:
        manifest, platform = image(layout, args, arch, binary, busybox, applets, docs)
        descriptor = layout.json_blob(manifest_type, manifest, platform=platform)
        entries.append((arch, descriptor))
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [descriptor for _, descriptor in entries],
        "annotations": {"org.opencontainers.image.version": args.version},
    }
    ref = "org.opencontainers.image.ref.name"
    layout.refs.append(layout.json_blob("application/vnd.oci.image.index.v1+json", index, annotations={ref: args.version}))
    for arch, descriptor in entries:
        layout.refs.append({**descriptor, "annotations": {ref: f"{args.version}-{arch}"}})
    layout.finish()
    for item in layout.refs:
        print(f"{item['annotations'][ref]}\t{item['digest']}")


if __name__ == "__main__":
    main()
