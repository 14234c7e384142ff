//! The test harness: a temporary directory per test, the real binary run inside it, and its output
//! captured for assertions on files, stdout, stderr and exit code.

pub mod aws;
pub mod bundled;
pub mod crafted;
pub mod ecs_standin;
pub mod findings;
pub mod images;
pub mod registry;
pub mod zips;

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test, built once by Cargo for the whole test run.
pub const BIN: &str = env!("CARGO_BIN_EXE_imagedef");

pub const ACCOUNT: &str = "111122223333";
pub const HOST: &str = "111122223333.dkr.ecr.us-east-1.amazonaws.com";
pub const DIGEST_WEB: &str =
    "sha256:5a1f0e6b8e1f4f3f2d9c7b1a6e3d2c4b5a69788f7e6d5c4b3a2918070f6e5d4c";
pub const DIGEST_API: &str =
    "sha256:c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2";

/// Runs a tool that the test needs; a missing tool fails the test with what to install.
#[track_caller]
pub fn tool(program: &str, args: &[&std::ffi::OsStr], install: &str) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {program} ({e}); this test needs it: {install} (see .ci/deps-verify)"
            )
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Removes the fixtures `PREFIX<pid>` of earlier test runs whose process is gone.
pub fn remove_stale_fixtures(tmp: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix(prefix)
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The ECR source action's imageDetail.json: compact, one line, no final newline.
pub fn ecr_detail(repository: &str, digest: &str, tags: &[&str]) -> String {
    let tags = tags
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(",");
    format!(
        r#"{{"ImageSizeInBytes":"44728918","ImageDigest":"{digest}","Version":"1.0","ImagePushedAt":"Tue Jun 28 09:41:03 UTC 2022","RegistryId":"{ACCOUNT}","RepositoryName":"{repository}","ImageURI":"{HOST}/{repository}@{digest}","ImageTags":[{tags}]}}"#
    )
}

/// A scratch directory with one artifact, `web`, holding shop/web's ECR imageDetail.json.
pub fn web_artifact() -> Env {
    let env = Env::new();
    env.write(
        "web/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    env
}

/// [`web_artifact`] plus `api`, holding shop/api's.
pub fn web_and_api() -> Env {
    let env = web_artifact();
    env.write(
        "api/imageDetail.json",
        ecr_detail("shop/api", DIGEST_API, &["1"]),
    );
    env
}

/// `emit web --container app --bundle --json --out OUT`, which must succeed.
pub fn emit_web_bundle(env: &Env, out: &str) -> Run {
    let run = env.run(&[
        "emit",
        "web",
        "--container",
        "app",
        "--bundle",
        "--json",
        "--out",
        out,
    ]);
    run.code(0);
    run
}

/// The checked-in example pipeline layout.
pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// How long one run may take before it counts as a hang.
const HANG: Duration = Duration::from_mins(1);

/// Runs `cmd` with its output captured, killing it (and failing the test) if it hangs.
fn run_bounded(mut cmd: Command) -> Run {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running imagedef");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        stdout.read_to_end(&mut s).map(|_| s)
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        stderr.read_to_end(&mut s).map(|_| s)
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > HANG {
            let _ = child.kill();
            panic!("imagedef hung for {HANG:?}: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        code: status.code().expect("exited, not killed by a signal"),
        stdout: String::from_utf8(out.join().unwrap().unwrap()).expect("stdout is UTF-8"),
        stderr: String::from_utf8(err.join().unwrap().unwrap()).expect("stderr is UTF-8"),
    }
}

/// A scratch directory that the binary runs in.
pub struct Env {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

/// What one run of the binary showed.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, printing the whole run when it differs.
    #[track_caller]
    pub fn code(&self, want: i32) -> &Self {
        assert_eq!(self.code, want, "exit code; run was {self:#?}");
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, fragment: &str) -> &Self {
        assert!(
            self.stderr.contains(fragment),
            "stderr lacks {fragment:?}; run was {self:#?}"
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, fragment: &str) -> &Self {
        assert!(
            self.stdout.contains(fragment),
            "stdout lacks {fragment:?}; run was {self:#?}"
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
            env: Vec::new(),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file, creating its directories.
    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    pub fn mkdir(&self, rel: &str) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(&path).unwrap();
        path
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
    }

    /// Copies a checked-in directory (relative to the repository) into `dest`.
    pub fn copy_dir(&self, from: &Path, dest: &str) {
        for entry in walkdir::WalkDir::new(from) {
            let entry = entry.unwrap();
            let rel = entry.path().strip_prefix(from).unwrap();
            let to = self.path(dest).join(rel);
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&to).unwrap();
            } else {
                std::fs::copy(entry.path(), &to).unwrap();
            }
        }
    }

    /// Sets an environment variable for every later run.
    pub fn set(&mut self, key: &str, value: impl AsRef<Path>) -> &mut Self {
        self.env
            .push((key.to_owned(), value.as_ref().display().to_string()));
        self
    }

    /// Runs the binary in the scratch directory, with CodeBuild's, imagedef's and every `AWS_*`
    /// variable removed unless set with [`Env::set`].
    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(BIN);
        cmd.args(args);
        self.run_command(cmd)
    }

    /// [`Env::run`] as user and group 65534 (nobody, no supplementary groups) through `setpriv`,
    /// for what root's permission bypass would hide. The scratch directory is opened to everyone
    /// (files written in it are already world-readable) and the binary linked (or copied) into
    /// it as `imagedef`, since that user may not reach the build folder. Needs root.
    pub fn run_unprivileged(&self, args: &[&str]) -> Run {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(self.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = self.path("imagedef");
        if !bin.exists() && std::fs::hard_link(BIN, &bin).is_err() {
            std::fs::copy(BIN, &bin).unwrap();
        }
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .args(args);
        self.run_command(cmd)
    }

    fn run_command(&self, mut cmd: Command) -> Run {
        cmd.current_dir(self.root());
        for (key, _) in std::env::vars() {
            if key.starts_with("CODEBUILD_")
                || key.starts_with("IMAGEDEF_")
                || key == "CONTAINER_NAME"
                || key == "RUST_LOG"
                || key.starts_with("AWS_")
            {
                cmd.env_remove(key);
            }
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        let run = run_bounded(cmd);
        assert!(
            matches!(run.code, 0..=2) && !run.stderr.contains("panicked"),
            "imagedef must exit 0, 1 or 2 and never panic: {run:#?}"
        );
        run
    }

    /// Every file under `rel` with its bytes and mode, to prove a failed run changed nothing.
    pub fn snapshot(&self, rel: &str) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
        use std::os::unix::fs::PermissionsExt as _;
        let base = self.path(rel);
        let mut files = BTreeMap::new();
        if !base.exists() {
            return files;
        }
        for entry in walkdir::WalkDir::new(&base) {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            let bytes = if meta.is_file() {
                std::fs::read(entry.path()).unwrap()
            } else {
                Vec::new()
            };
            files.insert(
                entry.path().strip_prefix(&base).unwrap().to_path_buf(),
                (bytes, meta.permissions().mode()),
            );
        }
        files
    }
}

/// `emit ROOT --container app` plus `extra`: single-image mode on one artifact.
pub fn emit_app(env: &Env, root: &str, extra: &[&str]) -> Run {
    let mut args = vec!["emit", root, "--container", "app"];
    args.extend(extra);
    env.run(&args)
}
