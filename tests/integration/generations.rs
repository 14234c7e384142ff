//! Output generations in mapping mode: a run killed at any moment leaves OUT exactly the old or the
//! new generation; two runs at once never interleave; what a killed run left is cleaned by the
//! next. Also the inputs and outputs that used to hang or panic. (Where the system refuses renames,
//! folders or writes, under strace: `tests/external/generations.rs`.)

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::fs::FlockOperation;

use crate::util::generations::{emit_command, emit_ok, leftovers, reference, tree, two_mappings};
use crate::util::{
    BIN, BLUE_GREEN_INPUTS_ONLY, DIGEST_WEB, Env, HOST, INPUTS_ONLY, ecr_detail, short_digests,
    web_artifact,
};

/// A small deterministic generator for the moments of the kills.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

#[test]
fn a_kill_at_any_moment_leaves_the_old_or_the_new_generation() {
    let env = two_mappings(50, 50);
    let gens = [
        reference(&env, "a.json", "ref-a"),
        reference(&env, "b.json", "ref-b"),
    ];
    assert_ne!(gens[0], gens[1]);
    assert!(
        emit_command(&env, "a.json", "out")
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    assert!(
        emit_command(&env, "b.json", "out")
            .status()
            .unwrap()
            .success()
    );
    let one_run = started.elapsed();
    let mut rng = Lcg(0x5eed);
    let (runs, mut old, mut new, mut finished) = (100, 0, 0, 0);
    let mut current = 1;
    for run in 0..runs {
        let next = 1 - current;
        let mapping = ["a.json", "b.json"][next];
        let delay = Duration::from_micros(rng.below(one_run.as_micros() as u64 * 6 / 5 + 1));
        let mut child = emit_command(&env, mapping, "out").spawn().unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_some() {
            finished += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        let now = tree(&env.path("out"));
        if now == gens[current] {
            old += 1;
        } else if now == gens[next] {
            new += 1;
            current = next;
        } else {
            panic!(
                "run {run}: killed after {delay:?}, OUT is neither generation: {:?}",
                now.keys().collect::<Vec<_>>()
            );
        }
    }
    eprintln!(
        "kill test: {runs} runs killed within {:?} of a {one_run:?} run: {old} old, {new} new, 0 other ({finished} had finished)",
        one_run * 6 / 5
    );
    assert!(
        old > 0 && new > 0,
        "the kills landed before and after the swap"
    );
    assert!(
        emit_command(&env, "a.json", "out")
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(tree(&env.path("out")), gens[0]);
    assert_eq!(
        leftovers(&env, &["out", "ref-a", "ref-b"]),
        Vec::<String>::new()
    );
}

#[test]
fn two_runs_into_one_out_never_interleave() {
    let env = two_mappings(50, 30);
    let gens = [
        reference(&env, "a.json", "ref-a"),
        reference(&env, "b.json", "ref-b"),
    ];
    let mut seen = [0, 0];
    for round in 0..30 {
        let mut a = emit_command(&env, "a.json", "out").spawn().unwrap();
        let mut b = emit_command(&env, "b.json", "out").spawn().unwrap();
        let (a, b) = (a.wait().unwrap(), b.wait().unwrap());
        assert!(a.success() && b.success(), "round {round}: {a:?} {b:?}");
        let now = tree(&env.path("out"));
        let which = gens
            .iter()
            .position(|g| *g == now)
            .unwrap_or_else(|| panic!("round {round}: OUT is not one whole generation"));
        seen[which] += 1;
        let check = Command::new("sha256sum")
            .args(["-c", "--quiet", "SHA256SUMS"])
            .current_dir(env.path("out"))
            .output()
            .unwrap();
        assert!(check.status.success(), "round {round}: {check:?}");
    }
    eprintln!(
        "concurrency test: 30 rounds of two runs: OUT was generation a {} times, b {} times, mixed 0",
        seen[0], seen[1]
    );
    assert_eq!(
        leftovers(&env, &["out", "ref-a", "ref-b"]),
        Vec::<String>::new()
    );
}

#[test]
fn a_second_run_waits_for_the_first_and_says_so() {
    let env = two_mappings(3, 3);
    emit_ok(&env, "a.json");
    // Hold the lock the way a running emit does: flock on OUT's parent, until told to stop (cat
    // ends at the end of its input).
    let mut holder = Command::new("flock")
        .args([".", "cat"])
        .current_dir(env.root())
        .stdin(Stdio::piped())
        .spawn()
        .expect("flock (util-linux)");
    wait_for_lock(env.root());
    let mut run = env.spawn(&["emit", "--mapping", "b.json", "--out", "out", "Web=web"]);
    run.wait_for_stderr("waiting for it to finish");
    assert!(run.is_running(), "it waits while the lock is held");
    drop(holder.stdin.take());
    holder.wait().unwrap();
    let run = run.finish();
    run.code(0)
        .stderr_has("another imagedef run is writing its output into")
        .stdout_has("wrote");
}

/// Waits until a process holds the `flock` on `dir` (a lock this process cannot take), for at
/// most ten seconds.
#[track_caller]
fn wait_for_lock(dir: &Path) {
    let started = Instant::now();
    loop {
        let probe = std::fs::File::open(dir).unwrap();
        match rustix::fs::flock(&probe, FlockOperation::NonBlockingLockExclusive) {
            Err(rustix::io::Errno::WOULDBLOCK) => return,
            Ok(()) => {}
            Err(e) => panic!("flock {}: {e}", dir.display()),
        }
        drop(probe);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no process took the lock on {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn named_inputs_that_are_fifos_are_refused_at_once() {
    let env = two_mappings(1, 1);
    let fifo = env.path("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    env.write("td.json", "{}");
    let cases: [&[&str]; 5] = [
        &["emit", "Web=web", "--mapping", "fifo"],
        &[
            "emit",
            "Web=web",
            "--container",
            "app",
            "--task-definition",
            "fifo",
        ],
        &["verify", "web", "--expect", "fifo"],
        &["verify", "web", "--manifest", "fifo"],
        &["verify", "web", "--bundle", "fifo"],
    ];
    for args in cases {
        let started = Instant::now();
        let run = env.run(args);
        run.code(2);
        // emit stops with the error; verify reports it among its checks.
        if args[0] == "emit" {
            run.stderr_has("fifo is a FIFO, not a regular file");
        } else {
            run.stdout_has("fifo is a FIFO, not a regular file");
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{args:?}");
    }
}

#[test]
fn a_huge_scan_table_and_a_huge_glob_do_not_panic() {
    let env = Env::new();
    let tags: Vec<String> = (0..230)
        .map(|i| format!("{i:03}{}", "t".repeat(296)))
        .collect();
    let refs: Vec<&str> = tags.iter().map(String::as_str).collect();
    env.write(
        "a/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &refs),
    );
    let run = env.run(&["scan", "a"]);
    run.code(0);
    let row = run.stdout().lines().nth(1).unwrap();
    assert!(row.contains("000tttt") && row.contains("..."), "{row}");
    assert!(row.len() < 1000, "{} characters", row.len());
    env.write(
        "m.json",
        format!(
            r#"{{"services": {{"web": {{"containers": {{"web": {{"path": "{}"}}}}}}}}}}"#,
            "a*".repeat(75_000)
        ),
    );
    env.run(&["emit", "--mapping", "m.json", "a", "--out", "o"])
        .code(2)
        .stderr_has("key \"services.web.containers.web.path\"")
        .stderr_has("is 150000 characters long, more than the 1000 a glob may have");
}

#[test]
fn a_dangling_out_is_named_as_such() {
    let env = two_mappings(1, 1);
    std::os::unix::fs::symlink("missing/dir", env.path("out")).unwrap();
    env.run(&["emit", "Web=web", "--container", "app", "--out", "out"])
        .code(2)
        .stderr_has("out is a symbolic link to missing/dir, which does not exist");
    env.run(&["emit", "Web=web", "--mapping", "a.json", "--out", "out"])
        .code(2)
        .stderr_has(
            "the output folder out is a symbolic link to missing/dir, which does not exist",
        );
}

#[test]
fn a_full_stdout_says_the_files_were_written() {
    let env = two_mappings(2, 2);
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(BIN)
        .args(["emit", "--mapping", "a.json", "--out", "out", "Web=web"])
        .current_dir(env.root())
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("all 6 files were written to out, but the summary could not be printed on stdout: No space left on device"),
        "{stderr}"
    );
}

#[test]
fn single_image_mode_keeps_user_files_and_cleans_only_its_own_leftovers() {
    let env = web_artifact();
    let gone = u32::MAX; // above any pid limit: never a live process
    env.write("o/.imagedefinitions.json.imagedef-backup", "a user's file");
    env.write(
        &format!("o/.imagedefinitions.json.imagedef-{gone}-x1Y2z3.tmp"),
        "left",
    );
    env.write(&format!("o/.SHA256SUMS.imagedef-{gone}.old"), "left");
    crate::util::emit_app(&env, "web", &["--out", "o"])
        .code(0)
        .stdout_is(&short_digests(&format!(

            "app = {HOST}/shop/web@{DIGEST_WEB}  (from web:imageDetail.json)\n  checks: {INPUTS_ONLY}\nwrote 2 files to o\n"
        )));
    let mut names: Vec<String> = std::fs::read_dir(env.path("o"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".imagedefinitions.json.imagedef-backup",
            "SHA256SUMS",
            "imagedefinitions.json"
        ]
    );
}

#[test]
fn a_leftover_stage_beside_out_is_never_read_as_input() {
    let env = two_mappings(2, 2);
    // What a run killed while staging leaves: deploy files, no report yet.
    env.write(
        ".out.imagedef-stage-4294967295/svc00/imageDetail.json",
        format!(r#"{{"ImageURI":"{HOST}/shop/web:v1"}}"#),
    );
    let run = env.run(&["emit", "--mapping", "a.json", "--out", "out", "Web=.", "-v"]);
    let line = |service: &str| {
        format!(
            "{service}: {BLUE_GREEN_INPUTS_ONLY}\n  app = {HOST}/shop/web@{}  (from Web:web/imageDetail.json)\n",
            short_digests(DIGEST_WEB)
        )
    };
    run.code(0)
        .stdout_is(&format!(
            "{}{}wrote 6 files for 2 services to out\n",
            line("svc00"),
            line("svc01")
        ))
        .stderr_has("an imagedef run stages or set aside its output there");
    assert_eq!(leftovers(&env, &["out"]), Vec::<String>::new());
}

#[test]
fn a_dry_run_refuses_what_the_real_run_refuses() {
    let env = two_mappings(1, 1);
    env.write("out/mine.txt", "keep");
    for extra in [&["--dry-run"][..], &[]] {
        let mut args = vec!["emit", "--mapping", "a.json", "--out", "out", "Web=web"];
        args.extend(extra);
        env.run(&args)
            .code(2)
            .stderr_has("holds a path that imagedef did not write (mine.txt)");
    }
}

/// Writes `files` into `out` with a `SHA256SUMS` listing exactly them, as a crafted OUT would.
fn craft_out(env: &Env, files: &[(&str, &str)]) {
    use imagedef::testing::Digest;
    use imagedef::testing::Sha256Sums;
    for (path, text) in files {
        env.write(&format!("out/{path}"), *text);
    }
    let sums = Sha256Sums::of(files.iter().map(|(p, t)| (*p, Digest::of(t.as_bytes()))));
    std::fs::write(env.path("out/SHA256SUMS"), sums.to_bytes()).unwrap();
}

#[test]
fn a_report_imagedef_did_not_write_makes_out_not_imagedefs_and_nothing_is_deleted() {
    let env = two_mappings(1, 1);
    // SHA256SUMS lists the user's notes.txt and a report that is `{}`.
    craft_out(
        &env,
        &[("notes.txt", "mine"), ("imagedef-report.json", "{}")],
    );
    let before = tree(&env.path("out"));
    for extra in [&["--dry-run"][..], &[]] {
        let mut args = vec!["emit", "--mapping", "a.json", "--out", "out", "Web=web"];
        args.extend(extra);
        env.run(&args)
            .code(2)
            .stderr_has("out is not an output folder imagedef wrote: its imagedef-report.json is not a report imagedef writes (missing field `mapping`), so nothing was changed");
        assert_eq!(tree(&env.path("out")), before, "{extra:?}");
    }
    // A report of imagedef's shape whose files do not agree with SHA256SUMS.
    std::fs::remove_dir_all(env.path("out")).unwrap();
    let report = r#"{"mapping": "a.json", "services": [{"name": "svc00", "files": ["svc00/imagedefinitions.json"]}]}"#;
    craft_out(
        &env,
        &[
            ("svc00/imagedefinitions.json", "[]"),
            ("notes.txt", "mine"),
            ("imagedef-report.json", report),
        ],
    );
    let before = tree(&env.path("out"));
    env.run(&["emit", "--mapping", "a.json", "--out", "out", "Web=web"])
        .code(2)
        .stderr_has("its imagedef-report.json does not list notes.txt, which SHA256SUMS lists, so nothing was changed");
    assert_eq!(tree(&env.path("out")), before);
    // An empty OUT (a buildspec's mkdir -p) is fine, and the generation it then holds is
    // imagedef's: the next run replaces it.
    std::fs::remove_dir_all(env.path("out")).unwrap();
    std::fs::create_dir(env.path("out")).unwrap();
    for _ in 0..2 {
        env.run(&["emit", "--mapping", "a.json", "--out", "out", "Web=web"])
            .code(0)
            .stdout_is(&short_digests(&format!(

                "svc00: {BLUE_GREEN_INPUTS_ONLY}\n  app = {HOST}/shop/web@{DIGEST_WEB}  (from Web:imageDetail.json)\nwrote 4 files for 1 service to out\n"
            )));
    }
    assert!(env.path("out/svc00/imagedefinitions.json").is_file());
}

#[test]
fn a_stage_named_by_a_live_process_of_another_program_is_left_alone() {
    let env = two_mappings(1, 1);
    emit_ok(&env, "a.json");
    let mut other = Command::new("sleep").arg("30").spawn().unwrap();
    let name = format!(".out.imagedef-stage-{}", other.id());
    env.write(&format!("{name}/data.txt"), "not imagedef's");
    let gone = ".out.imagedef-stage-4294967295";
    env.write(&format!("{gone}/x"), "left by a killed run");
    env.run(&["emit", "--mapping", "b.json", "--out", "out", "Web=."])
        .code(0)
        .stdout_is(&short_digests(&format!(

            "svc00: {BLUE_GREEN_INPUTS_ONLY}\n  app = {HOST}/shop/web:v1  (from Web:web/imageDetail.json)\nwrote 4 files for 1 service to out\n"
        )))
        .stderr_has(&format!(
            "{name} is named like the stage of an imagedef run, but its process, pid {} (\"sleep 30\"), is running and is not imagedef; it is left alone",
            other.id()
        ));
    assert_eq!(leftovers(&env, &["out"]), [name.as_str()]);
    assert_eq!(
        std::fs::read_to_string(env.path(&format!("{name}/data.txt"))).unwrap(),
        "not imagedef's"
    );
    other.kill().unwrap();
    other.wait().unwrap();
    // Its process gone, it is a leftover like any other.
    emit_ok(&env, "a.json");
    assert_eq!(leftovers(&env, &["out"]), Vec::<String>::new());
}

#[test]
fn a_lock_held_by_a_stopped_process_ends_the_wait_after_the_timeout_naming_it() {
    let mut env = two_mappings(1, 1);
    emit_ok(&env, "a.json");
    let before = tree(&env.path("out"));
    // flock -o: the lock is flock's own; stopped, it never lets it go.
    let mut holder = Command::new("flock")
        .args(["-o", ".", "sleep", "60"])
        .current_dir(env.root())
        .spawn()
        .unwrap();
    let pid = holder.id().to_string();
    wait_for_lock(env.root());
    assert!(
        Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap()
            .success()
    );
    for (args, env_timeout) in [(&["--lock-timeout", "1"][..], None), (&[][..], Some("1"))] {
        let mut run_args = vec!["emit", "--mapping", "b.json", "--out", "out", "Web=."];
        run_args.extend(args);
        if let Some(t) = env_timeout {
            env.set("IMAGEDEF_LOCK_TIMEOUT", t);
        }
        let started = Instant::now();
        env.run(&run_args).code(2).stderr_is(&format!(
            "imagedef: warning: another imagedef run is writing its output into [TMP]; waiting for it to finish\n\
             imagedef: error: another process has held the lock on [TMP] for 1 s (--lock-timeout), so nothing was changed: it is pid {pid} (\"flock -o . sleep 60\", stopped); let it finish or stop it, or give a longer --lock-timeout (IMAGEDEF_LOCK_TIMEOUT)\n"
        ));
        let took = started.elapsed();
        assert!(
            took >= Duration::from_secs(1) && took < Duration::from_secs(20),
            "{took:?}"
        );
        assert_eq!(tree(&env.path("out")), before);
    }
    let _ = Command::new("kill").args(["-KILL", &pid]).status();
    holder.wait().unwrap();
}
