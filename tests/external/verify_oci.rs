//! `verify --oci` and `--manifest`: a layout written by buildah, re-hashed; then damaged.
//!
//! The layout is built once per test run (buildah with the vfs driver, no daemon): an image index
//! pointing at one image manifest, its config and one layer. Each test copies it and changes it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::tools::images::Buildah;
use crate::util::{ACCOUNT, DIGEST_WEB, Env, HOST};

/// The pristine layout, built on first use.
pub(crate) fn pristine() -> &'static Path {
    static LAYOUT: OnceLock<PathBuf> = OnceLock::new();
    LAYOUT.get_or_init(|| {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        crate::tools::remove_stale_fixtures(tmp, "oci-fixture-");
        let base = tmp.join(format!("oci-fixture-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(base.join("hello.txt"), "hello from a layer\n").unwrap();
        let buildah = Buildah::new(&base);
        let ctr = buildah.run(&["from", "scratch"]);
        let hello = base.join("hello.txt");
        buildah.run(&["copy", &ctr, hello.to_str().unwrap(), "/hello.txt"]);
        buildah.run(&["commit", "-q", &ctr, "localhost/imagedef-fixture:v1"]);
        buildah.run(&["manifest", "create", "localhost/imagedef-fixture-list"]);
        buildah.run(&[
            "manifest",
            "add",
            "localhost/imagedef-fixture-list",
            "containers-storage:localhost/imagedef-fixture:v1",
        ]);
        let dest = format!("oci:{}:v1", base.join("layout").display());
        buildah.run(&[
            "manifest",
            "push",
            "-q",
            "--all",
            "localhost/imagedef-fixture-list",
            &dest,
        ]);
        buildah.run(&["rm", &ctr]);
        buildah.remove_storage();
        base.join("layout")
    })
}

/// What the layout holds, read from its JSON.
pub(crate) struct Layout {
    pub(crate) index: String,
    pub(crate) manifest: String,
    pub(crate) config: String,
    pub(crate) layer: String,
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

pub(crate) fn blob(dir: &Path, digest: &str) -> PathBuf {
    dir.join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").unwrap())
}

pub(crate) fn read_layout(dir: &Path) -> Layout {
    let index = json(&dir.join("index.json"))["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let manifest = json(&blob(dir, &index))["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let m = json(&blob(dir, &manifest));
    Layout {
        config: m["config"]["digest"].as_str().unwrap().to_owned(),
        layer: m["layers"][0]["digest"].as_str().unwrap().to_owned(),
        index,
        manifest,
    }
}

/// A test directory with a copy of the layout in `layout/` and an artifact naming `digest`.
fn env_with(digest_of: impl FnOnce(&Layout) -> String) -> (Env, Layout) {
    let env = Env::new();
    env.copy_dir(pristine(), "layout");
    let layout = read_layout(&env.path("layout"));
    let digest = digest_of(&layout);
    env.write(
        "art/imageDetail.json",
        format!(
            r#"{{"ImageDigest":"{digest}","RegistryId":"{ACCOUNT}","RepositoryName":"tiny","ImageURI":"{HOST}/tiny@{digest}","ImageTags":["v1"]}}"#
        ),
    );
    (env, layout)
}

#[test]
fn a_buildah_layout_proves_its_index_and_manifest_digests() {
    for index in [true, false] {
        let (env, layout) = env_with(|l| {
            if index {
                l.index.clone()
            } else {
                l.manifest.clone()
            }
        });
        let run = env.run(&["verify", "art", "--oci", "layout", "--json"]);
        run.code(0);
        let checked = run.json()["checked"].to_string();
        assert!(checked.contains("4 blobs"), "{checked}");
        let want = if index {
            format!("proven by index blobs/sha256/{}", &layout.index[7..])
        } else {
            format!("proven by manifest blobs/sha256/{}", &layout.manifest[7..])
        };
        assert!(checked.contains(&want), "{want} in {checked}");
    }
}

#[test]
fn a_flipped_byte_in_a_layer_is_exit_1() {
    let (env, layout) = env_with(|l| l.index.clone());
    let path = blob(&env.path("layout"), &layout.layer);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let hex = &layout.layer[7..];
    env.run(&["verify", "art", "--oci", "layout"])
        .code(1)
        .stdout_has(&format!("blob blobs/sha256/{hex} hashes to sha256:"))
        .stdout_has(&format!("not {} as manifest sha256:", layout.layer))
        .stdout_has("layers[0] says; the blob was modified");
}

#[test]
fn a_truncated_blob_is_exit_1() {
    let (env, layout) = env_with(|l| l.index.clone());
    let path = blob(&env.path("layout"), &layout.config);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    env.run(&["verify", "art", "--oci", "layout"])
        .code(1)
        .stdout_has(&format!(
            "blob blobs/sha256/{} is {} bytes, but manifest sha256:",
            &layout.config[7..],
            bytes.len() - 10
        ))
        .stdout_has(&format!(
            "config says {}; the blob was truncated",
            bytes.len()
        ));
}

#[test]
fn an_edited_manifest_is_exit_1_and_proves_nothing() {
    let (env, layout) = env_with(|l| l.manifest.clone());
    let path = blob(&env.path("layout"), &layout.manifest);
    let text = std::fs::read_to_string(&path).unwrap();
    // Same length, one character changed: what a hand edit would do.
    let edited = text.replacen("\"schemaVersion\":2", "\"schemaVersion\":3", 1);
    assert_ne!(text, edited);
    std::fs::write(&path, edited).unwrap();
    let run = env.run(&["verify", "art", "--oci", "layout"]);
    run.code(1)
        .stdout_has(&format!(
            "blob blobs/sha256/{} hashes to sha256:",
            &layout.manifest[7..]
        ))
        .stdout_has("manifests[0] says; the blob was modified")
        .stdout_has(&format!(
            "has digest {}, which --oci layout do not prove",
            layout.manifest
        ));
}

#[test]
fn a_missing_blob_is_exit_1() {
    let (env, layout) = env_with(|l| l.index.clone());
    std::fs::remove_file(blob(&env.path("layout"), &layout.layer)).unwrap();
    env.run(&["verify", "art", "--oci", "layout"])
        .code(1)
        .stdout_has(&format!(
            "blob blobs/sha256/{} is missing",
            &layout.layer[7..]
        ));
}

#[test]
fn an_image_the_layout_does_not_hold_is_exit_1() {
    let (env, _) = env_with(|_| DIGEST_WEB.to_owned());
    env.run(&["verify", "art", "--oci", "layout"])
        .code(1)
        .stdout_has(&format!(
            "has digest {DIGEST_WEB}, which --oci layout do not prove"
        ));
}

#[test]
fn a_digest_that_would_leave_blobs_is_refused() {
    let (env, _) = env_with(|l| l.index.clone());
    let index = env.read("layout/index.json");
    let hex_start = index.find("sha256:").unwrap() + 7;
    let evil = format!(
        "{}../../../../etc/passwd{}",
        &index[..hex_start],
        &index[hex_start + 64..]
    );
    env.write("layout/index.json", evil);
    env.run(&["verify", "art", "--oci", "layout"])
        .code(1)
        .stdout_has("not looked up under blobs/");
}

/// An imageDetail.json in `dir` naming `digest` (the same repository as `env_with`'s).
fn detail_naming(env: &Env, dir: &str, digest: &str) {
    env.write(
        &format!("{dir}/imageDetail.json"),
        format!(
            r#"{{"ImageDigest":"{digest}","RegistryId":"{ACCOUNT}","RepositoryName":"tiny","ImageURI":"{HOST}/tiny@{digest}","ImageTags":["v1"]}}"#
        ),
    );
}

#[test]
fn manifest_files_prove_themselves_and_what_an_anchored_index_lists() {
    let (env, layout) = env_with(|l| l.manifest.clone());
    // The index, as exact bytes, and an image that names the index's digest: the index is
    // anchored, so the manifest it lists is proven too.
    std::fs::copy(
        blob(&env.path("layout"), &layout.index),
        env.path("index.json"),
    )
    .unwrap();
    detail_naming(&env, "multi", &layout.index);
    env.run(&["verify", "art", "multi", "--manifest", "index.json"])
        .code(0)
        .stdout_has(&format!(
            "proves {}, and 1 manifests it lists",
            layout.index
        ))
        .stdout_has("proven by manifests[0] of image index index.json")
        .stdout_has("whose digest is the digest multi:imageDetail.json");
    // The manifest itself: proven by its own bytes.
    std::fs::copy(
        blob(&env.path("layout"), &layout.manifest),
        env.path("manifest.json"),
    )
    .unwrap();
    env.run(&["verify", "art", "--manifest", "manifest.json"])
        .code(0)
        .stdout_has("proven by the bytes of manifest.json");
    // One byte more (a final newline an editor adds) and it proves another digest.
    let mut bytes = std::fs::read(env.path("manifest.json")).unwrap();
    bytes.push(b'\n');
    env.write("manifest.json", bytes);
    env.run(&["verify", "art", "--manifest", "manifest.json"])
        .code(1)
        .stdout_has("do not prove");
}

#[test]
fn an_index_whose_own_digest_nothing_proves_proves_nothing_it_lists() {
    let (env, layout) = env_with(|l| l.manifest.clone());
    std::fs::copy(
        blob(&env.path("layout"), &layout.index),
        env.path("index.json"),
    )
    .unwrap();
    env.run(&["verify", "art", "--manifest", "index.json"])
        .code(1)
        .stdout_has(&format!(
            "proves {}; the 1 digests it lists count for nothing: its own digest is anchored by nothing in this run",
            layout.index
        ))
        .stdout_has(&format!(
            "has digest {}, which --manifest index.json do not prove",
            layout.manifest
        ));
    // Any JSON file can list a digest: one written by hand, anchored or not, proves nothing more.
    let forged = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{}},"layers":[],"manifests":[{{"digest":"{}"}}]}}"#,
        layout.manifest
    );
    env.write("forged.json", &forged);
    let forged_digest = imagedef::testing::Digest::of(forged.as_bytes()).to_string();
    detail_naming(&env, "forged-art", &forged_digest);
    env.run(&["verify", "art", "forged-art", "--manifest", "forged.json"])
        .code(1)
        .stdout_has("what it lists under \"manifests\" counts for nothing: it is neither an image index nor an image manifest by its own bytes")
        .stdout_has(&format!("has digest {}, which --manifest forged.json do not prove", layout.manifest));
}

#[test]
fn a_manifest_relabelled_as_an_index_in_index_json_is_refused() {
    // The attack: index.json calls the image manifest an index, so a reader trusting the label
    // never looks at its layers; the layer is then replaced with garbage of the same size.
    let (env, layout) = env_with(|l| l.manifest.clone());
    let size = std::fs::metadata(blob(&env.path("layout"), &layout.manifest))
        .unwrap()
        .len();
    env.write(
        "layout/index.json",
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"{}","size":{size}}}]}}"#,
            layout.manifest
        ),
    );
    let layer = blob(&env.path("layout"), &layout.layer);
    let garbage = vec![b'x'; std::fs::metadata(&layer).unwrap().len() as usize];
    std::fs::write(&layer, garbage).unwrap();
    env.run(&["verify", "art", "--oci", "layout"])
        .code(1)
        .stdout_has(&format!(
            "index.json manifests[0] calls blobs/sha256/{} an image index, but its own bytes say it is an image manifest",
            &layout.manifest[7..]
        ))
        .stdout_has(&format!("blob blobs/sha256/{} hashes to", &layout.layer[7..]))
        .stdout_has(&format!(
            "has digest {}, which --oci layout do not prove",
            layout.manifest
        ));
}

#[test]
fn a_directory_that_is_not_a_layout_is_exit_2() {
    let (env, _) = env_with(|l| l.index.clone());
    env.mkdir("empty");
    env.run(&["verify", "art", "--oci", "empty"])
        .code(2)
        .stdout_has("cannot read oci-layout file empty/oci-layout");
    env.write("big.json", vec![b' '; 5 * 1024 * 1024]);
    env.run(&["verify", "art", "--manifest", "big.json"])
        .code(2)
        .stdout_has("larger than 4194304 bytes");
}

/// Writes `bytes` as a blob of the layout in `env`; returns its digest and size.
fn add_blob(env: &Env, bytes: &[u8]) -> (String, usize) {
    let digest = format!("sha256:{}", crate::tools::readers::sha256_hex(bytes));
    std::fs::write(blob(&env.path("layout"), &digest), bytes).unwrap();
    (digest, bytes.len())
}

/// Makes `bytes` a blob of the layout, the one root of its index.json (as `media_type`), and the
/// image the artifact names; returns the blob's digest.
fn root_with_image(env: &Env, media_type: &str, bytes: &[u8]) -> String {
    let (digest, size) = add_blob(env, bytes);
    env.write(
        "layout/index.json",
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{media_type}","digest":"{digest}","size":{size}}}]}}"#
        ),
    );
    detail_naming(env, "art", &digest);
    digest
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

#[test]
fn a_manifest_hashed_as_a_layer_is_not_proven_as_a_manifest() {
    // The attack: a manifest whose config and layers are absent is also listed as a layer of a
    // real manifest. Hashed there first, it must still be walked as a manifest where an index
    // lists it as one.
    let (env, layout) = env_with(|_| DIGEST_WEB.to_owned());
    let absent = format!("sha256:{}", "0".repeat(64));
    let hollow = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{absent}","size":2}},"layers":[]}}"#
    );
    let (hollow, hollow_size) = add_blob(&env, hollow.as_bytes());
    let manifest = json(&blob(&env.path("layout"), &layout.manifest));
    let real_layer = &manifest["layers"][0];
    let carrier = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{},"layers":[{real_layer},{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{hollow}","size":{hollow_size}}}]}}"#,
        manifest["config"]
    );
    let (carrier, carrier_size) = add_blob(&env, carrier.as_bytes());
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{carrier}","size":{carrier_size}}},{{"mediaType":"{OCI_MANIFEST}","digest":"{hollow}","size":{hollow_size}}}]}}"#
    );
    let index = root_with_image(&env, OCI_INDEX, index.as_bytes());
    let run = env.run(&["verify", "art", "--oci", "layout"]);
    run.code(1)
        .stdout_has(&format!(
            "blob blobs/sha256/{} is missing (named by manifest sha256:{}... config)",
            &absent[7..],
            &hollow[7..19]
        ))
        .stdout_has(&format!(
            "has digest {index}, which --oci layout do not prove"
        ));
    // The carrier itself, whose chain is whole, is still proven.
    detail_naming(&env, "art", &carrier);
    env.run(&["verify", "art", "--oci", "layout"])
        .code(1)
        .stdout_has(&format!(
            "{carrier} proven by manifest blobs/sha256/{}",
            &carrier[7..]
        ));
}

#[test]
fn a_key_twice_in_a_hashed_manifest_is_refused_naming_it() {
    // Two "layers": a reader that keeps the last sees the real layer, one that keeps the first a
    // layer the layout does not hold.
    let (env, layout) = env_with(|_| DIGEST_WEB.to_owned());
    let manifest = json(&blob(&env.path("layout"), &layout.manifest));
    let twice = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:{}","size":1}}],"layers":{}}}"#,
        manifest["config"],
        "0".repeat(64),
        manifest["layers"]
    );
    let twice = root_with_image(&env, OCI_MANIFEST, twice.as_bytes());
    env.run(&["verify", "art", "--oci", "layout"])
        .code(1)
        .stdout_has(&format!(
            "blobs/sha256/{} (named by index.json manifests[0]) key \"layers\" appears more than once: readers of the document disagree on which copy counts, so it proves nothing; refused",
            &twice[7..]
        ))
        .stdout_has(&format!("has digest {twice}, which --oci layout do not prove"));
    // The same in a config, and in an index given with --manifest.
    let config = br#"{"architecture":"amd64","os":"linux","os":"windows","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let (config, config_size) = add_blob(&env, config);
    let with_config = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":{config_size}}},"layers":{}}}"#,
        manifest["layers"]
    );
    let with_config = root_with_image(&env, OCI_MANIFEST, with_config.as_bytes());
    env.run(&["verify", "art", "--oci", "layout"])
        .code(1)
        .stdout_has(&format!(
            "blobs/sha256/{} (the config named by manifest sha256:{}... config) key \"os\" appears more than once",
            &config[7..],
            &with_config[7..19]
        ));
    env.write(
        "index-twice.json",
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[],"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":1}}]}}"#,
            layout.manifest
        ),
    );
    env.run(&["verify", "art", "--manifest", "index-twice.json"])
        .code(2)
        .stdout_has("key \"manifests\" appears more than once");
}
