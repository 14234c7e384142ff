#!/usr/bin/env python3
"""Reads a CodeBuild buildspec (version 0.2) for docker/test.sh.

    buildspec.py script BUILDSPEC [--inject COMMAND]
        prints a POSIX sh script that runs the phase commands the way CodeBuild does: one shell for
        the whole build (so `cd` and variables carry over), env.variables exported literally, the
        phases install, pre_build, build, post_build in order, and the build failed (exit status of
        the failing command) at the first command that fails. --inject appends COMMAND to the build
        phase, to prove that a failing command fails the run.
    buildspec.py artifacts BUILDSPEC
        prints one line per artifact: NAME<TAB>BASE_DIRECTORY<TAB>FILES_PATTERN (one line per
        pattern) for the top-level artifacts and every secondary artifact.

Not emulated: env.shell (the image only has /bin/sh), parameter-store, secrets-manager, finally
blocks, on-failure: CONTINUE, reports and caches.
"""

import sys

import yaml

PHASES = ("install", "pre_build", "build", "post_build")


def quote(text):
    """Single-quotes TEXT for sh."""
    return "'" + str(text).replace("'", "'\"'\"'") + "'"


def load(path):
    with open(path, encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)
    if not isinstance(spec, dict):
        sys.exit(f"{path}: not a buildspec (top level is not a mapping)")
    if str(spec.get("version")) != "0.2":
        sys.exit(f"{path}: version is {spec.get('version')!r}; only 0.2 is emulated")
    return spec


def script(path, inject):
    spec = load(path)
    out = ["# generated from " + path]
    variables = (spec.get("env") or {}).get("variables") or {}
    for name, value in variables.items():
        # CodeBuild sets these literally: no $VAR expansion.
        out.append(f"export {name}={quote(value)}")
    phases = spec.get("phases") or {}
    ran = 0
    for phase in PHASES:
        commands = list((phases.get(phase) or {}).get("commands") or [])
        if phase == "build" and inject:
            commands.append(inject)
        if not commands:
            continue
        out.append(f"echo {quote('[Container] Entering phase ' + phase.upper())} >&2")
        for command in commands:
            ran += 1
            out.append(f"echo {quote('[Container] Running command ' + str(command))} >&2")
            out.append(str(command))
            out.append(
                "status=$?; if [ $status -ne 0 ]; then "
                f"echo {quote('[Container] Command did not exit successfully ' + str(command))}"
                '" exit status $status" >&2; '
                f"echo {quote('[Container] Phase complete: ' + phase.upper() + ' State: FAILED')} >&2; "
                "exit $status; fi"
            )
        out.append(f"echo {quote('[Container] Phase complete: ' + phase.upper() + ' State: SUCCEEDED')} >&2")
    if ran == 0:
        sys.exit(f"{path}: no phase commands")
    print("\n".join(out))


def artifacts(path):
    spec = load(path)
    top = spec.get("artifacts") or {}
    entries = []
    if top.get("files"):
        entries.append(("(primary)", top))
    for name, entry in (top.get("secondary-artifacts") or {}).items():
        entries.append((name, entry or {}))
    for name, entry in entries:
        files = entry.get("files") or []
        if isinstance(files, str):
            files = [files]
        for pattern in files:
            print(f"{name}\t{entry.get('base-directory') or '.'}\t{pattern}")


def main(argv):
    if len(argv) >= 3 and argv[1] == "script":
        inject = None
        if len(argv) == 5 and argv[3] == "--inject":
            inject = argv[4]
        elif len(argv) != 3:
            sys.exit(__doc__)
        script(argv[2], inject)
    elif len(argv) == 3 and argv[1] == "artifacts":
        artifacts(argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
