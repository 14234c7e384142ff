//! The test harness: a temporary directory per test, the real binary run inside it, and its output
//! captured for assertions on files, stdout, stderr and exit code.

pub mod aws;
pub mod bundled;
pub mod crafted;
pub mod generations;
pub mod snapshot;
pub mod zips;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The binary under test, built once by Cargo for the whole test run.
pub const BIN: &str = env!("CARGO_BIN_EXE_imagedef");

pub const ACCOUNT: &str = "111122223333";
pub const HOST: &str = "111122223333.dkr.ecr.us-east-1.amazonaws.com";
pub const DIGEST_WEB: &str =
    "sha256:5a1f0e6b8e1f4f3f2d9c7b1a6e3d2c4b5a69788f7e6d5c4b3a2918070f6e5d4c";
pub const DIGEST_API: &str =
    "sha256:c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2";

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

/// `emit web --container app --bundle --json --out OUT`, which must succeed and write the three
/// files of a bundle; the run, for more checks of its summary.
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
    let summary = run.json();
    let files: Vec<&str> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "imagedefinitions.json",
            "imagedefinitions.zip",
            "SHA256SUMS"
        ],
        "{run:#?}"
    );
    assert_eq!(summary["out"], out, "{run:#?}");
    run
}

/// How `verify` describes the zip at `rel` that it read: `(N bytes, sha256 HEX, base64 BASE64)`.
pub fn zip_facts(env: &Env, rel: &str) -> String {
    let bytes = std::fs::read(env.path(rel)).unwrap();
    let digest = imagedef::testing::Digest::of(&bytes);
    format!(
        "({} bytes, sha256 {}, base64 {})",
        bytes.len(),
        digest.hex(),
        digest.base64()
    )
}

/// The warning `verify --bundle` gives for the zip at `rel` when nothing held its content.
pub fn structure_only(rel: &str) -> String {
    format!(
        "imagedef: warning: {rel}: only its structure and shapes were checked: no SHA256SUMS lies beside it, and no discovered image, pin (--expect), proof (--oci, --manifest) or ECR lookup (--ecr) covered the images it deploys, so an edited digest inside it would pass; verify it beside the SHA256SUMS written with it, inside the build that wrote it, or with --expect or --ecr (--strict makes this a failure)\n"
    )
}

/// The checked-in example pipeline layout.
pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// How long one run may take before it counts as a hang.
const HANG: Duration = Duration::from_mins(1);

/// A scratch directory that the binary runs in.
pub struct Env {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

/// What one run of the binary showed.
///
/// Its streams are compared whole by default: [`Run::stdout_is`] and [`Run::stderr_is`] compare the
/// whole text, [`Run::stdout_has`] and [`Run::stderr_has`] look for a fragment (the explicit
/// opt-in), and [`Run::stdout`], [`Run::stderr`] and [`Run::json`] hand the text to the test. A
/// stream the test never examined in one of these ways must be empty: that is asserted when the
/// run is dropped, so a test that ignores stderr fails when imagedef prints a warning there.
///
/// The comparing methods show the test's temporary folder as `[TMP]`.
pub struct Run {
    pub code: i32,
    stdout: String,
    stderr: String,
    /// The command line, for the messages.
    command: String,
    /// The scratch folder's path as given and as resolved, shown as `[TMP]`.
    tmp: Vec<String>,
    /// Whether the test examined stdout, stderr.
    examined: [Cell<bool>; 2],
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("command", &self.command)
            .field("code", &self.code)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish_non_exhaustive()
    }
}

const STDOUT: usize = 0;
const STDERR: usize = 1;

impl Run {
    /// Asserts the exit code, printing the whole run when it differs.
    #[track_caller]
    pub fn code(&self, want: i32) -> &Self {
        assert_eq!(self.code, want, "exit code; run was {self:#?}");
        self
    }

    /// Asserts the whole of stdout, the temporary folder shown as `[TMP]`.
    #[track_caller]
    pub fn stdout_is(&self, want: &str) -> &Self {
        self.is(STDOUT, want)
    }

    /// Asserts the whole of stderr, the temporary folder shown as `[TMP]`.
    #[track_caller]
    pub fn stderr_is(&self, want: &str) -> &Self {
        self.is(STDERR, want)
    }

    /// Asserts that stdout holds `fragment` (the temporary folder shown as `[TMP]`); the rest of
    /// stdout is not compared.
    #[track_caller]
    pub fn stdout_has(&self, fragment: &str) -> &Self {
        self.has(STDOUT, fragment)
    }

    /// Asserts that stderr holds `fragment` (the temporary folder shown as `[TMP]`); the rest of
    /// stderr is not compared.
    #[track_caller]
    pub fn stderr_has(&self, fragment: &str) -> &Self {
        self.has(STDERR, fragment)
    }

    /// The whole of stdout, as printed, for a test that checks it its own way.
    pub fn stdout(&self) -> &str {
        self.examined[STDOUT].set(true);
        &self.stdout
    }

    /// The whole of stderr, as printed, for a test that checks it its own way.
    pub fn stderr(&self) -> &str {
        self.examined[STDERR].set(true);
        &self.stderr
    }

    /// Stdout parsed as one JSON document.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }

    /// A stream's text with the temporary folder shown as `[TMP]`.
    fn shown(&self, stream: usize) -> String {
        let mut text = [&self.stdout, &self.stderr][stream].clone();
        for tmp in &self.tmp {
            text = text.replace(tmp.as_str(), "[TMP]");
        }
        text
    }

    #[track_caller]
    fn is(&self, stream: usize, want: &str) -> &Self {
        self.examined[stream].set(true);
        let got = self.shown(stream);
        assert!(
            got == want,
            "{} differs\n--- want\n{want}\n--- got\n{got}\n--- run was {self:#?}",
            NAMES[stream]
        );
        self
    }

    #[track_caller]
    fn has(&self, stream: usize, fragment: &str) -> &Self {
        self.examined[stream].set(true);
        assert!(
            self.shown(stream).contains(fragment),
            "{} lacks {fragment:?}; run was {self:#?}",
            NAMES[stream]
        );
        self
    }
}

const NAMES: [&str; 2] = ["stdout", "stderr"];

/// A run of the binary still going, its stderr read as it comes.
pub struct Running {
    child: Child,
    command: String,
    tmp: Vec<String>,
    started: Instant,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
    /// The lines of stdout, and of stderr, as they come.
    lines: [Receiver<String>; 2],
}

impl Running {
    /// Starts `cmd` with null stdin and its output captured; `install` says how to get its
    /// program when it cannot be run.
    fn start(mut cmd: Command, tmp: Vec<String>, install: &str) -> Running {
        let command = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| a.to_string_lossy().replace(BIN, "imagedef"))
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                let program = cmd.get_program().display();
                panic!("cannot run {program} ({e}); this test needs it: {install}")
            });
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (out_send, out_lines) = mpsc::channel();
        let (err_send, err_lines) = mpsc::channel();
        Running {
            child,
            command,
            tmp,
            started: Instant::now(),
            stdout: std::thread::spawn(move || read_lines(stdout, &out_send, "stdout")),
            stderr: std::thread::spawn(move || read_lines(stderr, &err_send, "stderr")),
            lines: [out_lines, err_lines],
        }
    }

    /// Waits until the run prints a line holding `fragment` on stderr; fails the test when it
    /// ends first or hangs.
    #[track_caller]
    pub fn wait_for_stderr(&self, fragment: &str) {
        self.wait_for(STDERR, fragment);
    }

    /// Waits until the run prints a line holding `fragment` on stdout; fails the test when it
    /// ends first or hangs.
    #[allow(dead_code, reason = "only tests/external (deploy's SIGTERM) uses it")]
    #[track_caller]
    pub fn wait_for_stdout(&self, fragment: &str) {
        self.wait_for(STDOUT, fragment);
    }

    #[track_caller]
    fn wait_for(&self, stream: usize, fragment: &str) {
        let name = NAMES[stream];
        loop {
            let left = HANG.saturating_sub(self.started.elapsed());
            match self.lines[stream].recv_timeout(left) {
                Ok(line) if line.contains(fragment) => return,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no {fragment:?} on {name} within {HANG:?}: {}",
                        self.command
                    )
                }
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "{} closed {name} without printing {fragment:?}",
                    self.command
                ),
            }
        }
    }

    /// Sends the run `signal` (a name `kill` knows, such as `TERM`), as CodeBuild does when it
    /// stops a build.
    #[allow(dead_code, reason = "only tests/external (deploy's SIGTERM) uses it")]
    #[track_caller]
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("running kill");
        assert!(sent.success(), "kill -{signal} {}", self.command);
    }

    /// Whether the run has not exited yet.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for the run to end, killing it (and failing the test) if it hangs; it must exit 0, 1
    /// or 2 and never panic.
    pub fn finish(mut self) -> Run {
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if self.started.elapsed() > HANG {
                let _ = self.child.kill();
                panic!("imagedef hung for {HANG:?}: {}", self.command);
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let run = Run {
            code: status.code().expect("exited, not killed by a signal"),
            stdout: String::from_utf8(self.stdout.join().unwrap()).expect("stdout is UTF-8"),
            stderr: String::from_utf8(self.stderr.join().unwrap()).expect("stderr is UTF-8"),
            command: self.command,
            tmp: self.tmp,
            examined: [Cell::new(false), Cell::new(false)],
        };
        assert!(
            matches!(run.code, 0..=2) && !run.stderr.contains("panicked"),
            "imagedef must exit 0, 1 or 2 and never panic: {run:#?}"
        );
        run
    }
}

/// Reads `stream` to its end, sending each line as it comes; returns all of it.
fn read_lines(stream: impl std::io::Read, send: &mpsc::Sender<String>, name: &str) -> Vec<u8> {
    let mut all = Vec::new();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = Vec::new();
        if reader
            .read_until(b'\n', &mut line)
            .unwrap_or_else(|e| panic!("reading {name}: {e}"))
            == 0
        {
            break all;
        }
        let _ = send.send(String::from_utf8_lossy(&line).into_owned());
        all.extend(line);
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
        let run = self.spawn(args).finish();
        self.hold_report_to_its_schema(args, &run);
        run
    }

    /// Every `imagedef-report.json` an `emit` run wrote is held to the JSON Schema that `imagedef
    /// schema report` prints (`schema/report.schema.json`).
    fn hold_report_to_its_schema(&self, args: &[&str], run: &Run) {
        static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
        if args.first() != Some(&"emit") || run.code != 0 || args.contains(&"--dry-run") {
            return;
        }
        let out = args
            .iter()
            .position(|a| *a == "--out")
            .and_then(|i| args.get(i + 1))
            .map_or("imagedef-out", |o| *o);
        let Ok(text) = std::fs::read_to_string(self.path(out).join("imagedef-report.json")) else {
            return;
        };
        let schema = SCHEMA.get_or_init(|| {
            let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/report.schema.json");
            let schema: serde_json::Value =
                serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
            jsonschema::draft202012::new(&schema).expect("a valid draft 2020-12 schema")
        });
        let report: serde_json::Value = serde_json::from_str(&text).expect("the report is JSON");
        let errors: Vec<String> = schema
            .iter_errors(&report)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{out}/imagedef-report.json does not hold to schema/report.schema.json: {errors:#?}"
        );
    }

    /// [`Env::run`], not waited for: the test reads its stderr as it comes.
    pub fn spawn(&self, args: &[&str]) -> Running {
        let mut cmd = Command::new(BIN);
        cmd.args(args);
        self.start(cmd, "the binary Cargo builds for the tests")
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
        self.start(cmd, "setpriv (util-linux)").finish()
    }

    /// Starts `cmd` (the binary, or a program that runs it, such as `strace`) in the scratch
    /// directory and its environment, as [`Env::run`] does; `install` says how to get its program.
    pub fn start(&self, mut cmd: Command, install: &str) -> Running {
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
        Running::start(cmd, self.tmp(), install)
    }

    /// The scratch folder's path as given and as resolved: what `[TMP]` stands for.
    fn tmp(&self) -> Vec<String> {
        let root = self.root();
        let canonical = root.canonicalize().unwrap();
        // The longer first, so that neither leaves a piece of the other.
        let mut tmp = vec![canonical.display().to_string(), root.display().to_string()];
        tmp.sort_by_key(|t| std::cmp::Reverse(t.len()));
        tmp.dedup();
        tmp
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

impl Drop for Run {
    /// A stream the test never examined must be empty (unless the test already fails).
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        for (stream, name) in NAMES.iter().enumerate() {
            assert!(
                self.examined[stream].get() || [&self.stdout, &self.stderr][stream].is_empty(),
                "the test never looked at {name}, which is not empty: say what it holds with \
                 {name}_is (or {name}_has for a fragment); run was {self:#?}"
            );
        }
    }
}

/// The warning every emit of the example pipeline, copied to `pipeline`, gives: its source
/// artifact holds the blue/green template of an imageDetail.json, which is no image.
pub fn template_refused(pipeline: &str) -> String {
    format!(
        "imagedef: warning: {pipeline}/source/templates/imageDetail.json: refused: key \"ImageURI\" = \"<IMAGE1_NAME>\": holds an unrendered placeholder; fix: render the template before this step (the value must be the real one, as the ECR source action writes it)\n"
    )
}

/// What a summary says ran for a service when only its inputs were checked: no task definition,
/// no `--ecr`.
pub const INPUTS_ONLY: &str =
    "task definition not checked, templates off, ECR off, platform not checked, findings off";

/// [`INPUTS_ONLY`] for a blue/green service without its templates.
pub const BLUE_GREEN_INPUTS_ONLY: &str = "task definition not checked, templates not checked, ECR off, platform not checked, findings off";

/// `text` with every `sha256:` digest in it shortened to 12 hex characters, as the summaries that
/// are read rather than copied show digests.
pub fn short_digests(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("sha256:") {
        let (before, from) = rest.split_at(at + "sha256:".len());
        out.push_str(before);
        let hex = from.bytes().take_while(u8::is_ascii_hexdigit).count();
        let keep = if hex == 64 { 12 } else { hex };
        out.push_str(&from[..keep]);
        rest = &from[hex..];
    }
    out.push_str(rest);
    out
}
