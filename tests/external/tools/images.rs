//! Real images for the platform checks, built once per test run by buildah (vfs driver, no
//! daemon): a linux/amd64 and a linux/arm64 image, each as its own OCI layout (a single manifest),
//! and a two-platform index of both with an attestation entry as docker buildx adds one (platform
//! `unknown/unknown`, annotated `vnd.docker.reference.type: attestation-manifest`).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::tool;

const INSTALL: &str = "buildah (apt-get install buildah)";

/// The layouts and the digests they hold.
pub struct Images {
    /// Layouts holding one single-manifest image each, tagged `v1`.
    pub amd64: PathBuf,
    pub arm64: PathBuf,
    /// A layout holding the index, tagged `v1`.
    pub index: PathBuf,
    pub amd64_digest: String,
    pub arm64_digest: String,
    pub index_digest: String,
    /// The digest of the attestation entry's manifest in the index.
    pub attestation_digest: String,
}

/// The images, built on first use under the test run's temporary directory.
pub fn images() -> &'static Images {
    static IMAGES: OnceLock<Images> = OnceLock::new();
    IMAGES.get_or_init(build)
}

/// The digest `index.json` of a layout names for its one image.
pub fn layout_digest(layout: &Path) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    index["manifests"][0]["digest"].as_str().unwrap().to_owned()
}

/// The config digest of the single-manifest image of a layout.
pub fn config_digest(layout: &Path) -> String {
    let manifest: serde_json::Value =
        serde_json::from_slice(&blob(layout, &layout_digest(layout))).unwrap();
    manifest["config"]["digest"].as_str().unwrap().to_owned()
}

/// The bytes of a blob of a layout.
pub fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").unwrap();
    std::fs::read(layout.join("blobs/sha256").join(hex)).unwrap()
}

/// buildah with its own storage under a fixture directory (vfs driver, no daemon).
pub struct Buildah {
    storage: PathBuf,
    run: PathBuf,
}

impl Buildah {
    /// Keeps its storage in `base/storage` and `base/run`.
    pub fn new(base: &Path) -> Buildah {
        Buildah {
            storage: base.join("storage"),
            run: base.join("run"),
        }
    }

    /// Removes the storage, once the layouts are written.
    pub fn remove_storage(&self) {
        let _ = std::fs::remove_dir_all(&self.storage);
        let _ = std::fs::remove_dir_all(&self.run);
    }

    /// Runs buildah with `args`; its trimmed stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let mut all: Vec<&OsStr> = vec![
            "--root".as_ref(),
            self.storage.as_os_str(),
            "--runroot".as_ref(),
            self.run.as_os_str(),
            "--storage-driver".as_ref(),
            "vfs".as_ref(),
        ];
        all.extend(args.iter().map(|a| OsStr::new(*a)));
        tool("buildah", &all, INSTALL).trim().to_owned()
    }

    /// Commits `localhost/platform-NAME:v1`, one file, for `arch`.
    fn image(&self, dir: &Path, name: &str, arch: &str) {
        let file = dir.join(format!("{name}.txt"));
        std::fs::write(&file, format!("{name}\n")).unwrap();
        let ctr = self.run(&["from", "--arch", arch, "scratch"]);
        self.run(&["copy", &ctr, file.to_str().unwrap(), "/hello.txt"]);
        self.run(&["config", "--os", "linux", "--arch", arch, &ctr]);
        self.run(&[
            "commit",
            "-q",
            &ctr,
            &format!("localhost/platform-{name}:v1"),
        ]);
        self.run(&["rm", &ctr]);
    }

    /// Pushes an index of the amd64 and arm64 images, with the attestation image as its
    /// attestation entry, to the layout `dest`.
    fn index(&self, dest: &Path) {
        let list = "localhost/platform-list";
        self.run(&["manifest", "create", list]);
        for name in ["amd64", "arm64"] {
            self.run(&[
                "manifest",
                "add",
                list,
                &format!("containers-storage:localhost/platform-{name}:v1"),
            ]);
        }
        // `manifest add` prints "LIST-ID: DIGEST".
        let added = self.run(&[
            "manifest",
            "add",
            list,
            "containers-storage:localhost/platform-attestation:v1",
        ]);
        let attestation = added.split_whitespace().last().unwrap_or_default();
        self.run(&[
            "manifest",
            "annotate",
            "--os",
            "unknown",
            "--arch",
            "unknown",
            "--annotation",
            "vnd.docker.reference.type=attestation-manifest",
            list,
            attestation,
        ]);
        self.run(&[
            "manifest",
            "push",
            "-q",
            "--all",
            list,
            &format!("oci:{}:v1", dest.display()),
        ]);
    }
}

fn build() -> Images {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    super::remove_stale_fixtures(tmp, "platform-images-");
    let base = tmp.join(format!("platform-images-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let buildah = Buildah::new(&base);
    buildah.image(&base, "amd64", "amd64");
    buildah.image(&base, "arm64", "arm64");
    buildah.image(&base, "attestation", "amd64");
    let layout = |name: &str| base.join(name);
    for arch in ["amd64", "arm64"] {
        buildah.run(&[
            "push",
            "-q",
            &format!("localhost/platform-{arch}:v1"),
            &format!("oci:{}:v1", layout(arch).display()),
        ]);
    }
    buildah.index(&layout("index"));
    buildah.remove_storage();
    let index_digest = layout_digest(&layout("index"));
    let document: serde_json::Value =
        serde_json::from_slice(&blob(&layout("index"), &index_digest)).unwrap();
    let entry = |arch: &str| {
        document["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["platform"]["architecture"] == arch)
            .unwrap_or_else(|| panic!("no {arch} entry in the index: {document}"))["digest"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    Images {
        amd64_digest: layout_digest(&layout("amd64")),
        arm64_digest: layout_digest(&layout("arm64")),
        attestation_digest: entry("unknown"),
        amd64: layout("amd64"),
        arm64: layout("arm64"),
        index: layout("index"),
        index_digest,
    }
}
