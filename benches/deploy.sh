#!/usr/bin/env bash
# `imagedef deploy` against an ECS endpoint on loopback (benches/deploy-standin.py):
#  (a) the time from the endpoint marking a deployment FAILED (circuit breaker) to imagedef's exit,
#      at the default poll interval (15 s) and at 1 s; the CodePipeline ECS deploy action waits in
#      that case until its DeploymentTimeout (60 minutes by default, aws/containers-roadmap#1399);
#  (b) the ECS calls per poll while 50 services of one cluster deploy at once, with the service
#      deployment calls answered and without them (DescribeServices alone).
#   benches/deploy.sh                                   (python3; builds the dist binary)
#   IMAGEDEF_BIN=target/debug/imagedef benches/deploy.sh   (that binary instead)
# Only loopback is contacted: instance metadata is off and no profile file is read.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${IMAGEDEF_BIN:-}" ]; then
    bin=$(realpath "$IMAGEDEF_BIN")
else
    cargo build --profile dist --locked -q
    bin=$PWD/target/dist/imagedef
fi
work=$(mktemp -d "${TMPDIR:-/var/tmp}/imagedef-deploy-bench.XXXXXX")
standin_pid=
cleanup() {
    [ -n "$standin_pid" ] && kill "$standin_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

for v in $(env | grep -o '^AWS_[A-Z_]*'); do unset "$v"; done
export AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench \
    AWS_REGION=us-west-2 AWS_CONFIG_FILE=$work/none AWS_SHARED_CREDENTIALS_FILE=$work/none

# standin SERVICES MODE LOG: starts the endpoint, points AWS_ENDPOINT_URL at it.
standin() {
    [ -n "$standin_pid" ] && kill "$standin_pid" 2>/dev/null || true
    rm -f "$work/port"
    python3 benches/deploy-standin.py "$work/port" "$3" "$1" "$2" &
    standin_pid=$!
    for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
    export AWS_ENDPOINT_URL=http://127.0.0.1:$(cat "$work/port")
}

digest=sha256:$(printf bench | sha256sum | cut -d' ' -f1)
image=123456789012.dkr.ecr.us-west-2.amazonaws.com/bench/app@$digest
printf '[{"name":"app","imageUri":"%s"}]' "$image" >"$work/imagedefinitions.json"

echo "(a) from ECS marking the deployment FAILED to imagedef's exit"
printf '%-16s %-22s %10s\n' "poll interval" "failed after update" "exit after"
for case in "15 16" "15 22" "15 29" "1 5.3" "1 5.9"; do
    read -r interval after <<<"$case"
    log=$work/a-$interval-$after.log
    standin 1 "fail:$after" "$log"
    "$bin" -q deploy ecs://bench/svc000 --file "$work/imagedefinitions.json" \
        --poll-interval "$interval" >/dev/null 2>&1 && { echo "deploy did not fail"; exit 1; } || true
    exited=$EPOCHREALTIME
    failed=$(python3 -c 'import json,sys; print([json.loads(l)["failed_at"] for l in open(sys.argv[1]) if "failed_at" in l][0])' "$log")
    printf '%-16s %-22s %9.2fs\n' "${interval} s" "${after} s" "$(echo "$exited - $failed" | bc -l)"
done
echo "the ECS deploy action: until its DeploymentTimeout, 60 minutes by default (3600 s)"

echo
echo "(b) ECS calls for 50 services of one cluster, while they deploy (6 polls in progress)"
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
services = {}
for i in range(50):
    n = f"svc{i:03}"
    os.makedirs(f"{work}/img{i:03}")
    digest = "sha256:%064x" % (i + 1)
    with open(f"{work}/img{i:03}/imageDetail.json", "w") as f:
        json.dump({"ImageDigest": digest, "RegistryId": "123456789012", "RepositoryName": f"bench/{n}",
                   "ImageURI": f"123456789012.dkr.ecr.us-west-2.amazonaws.com/bench/{n}@{digest}", "ImageTags": ["v1"]}, f)
    services[n] = {"taskDefinition": f"ecs://bench/{n}", "containers": {"app": {"artifact": f"img{i:03}"}}}
with open(f"{work}/mapping.json", "w") as f:
    json.dump({"services": services}, f)
PY
for variant in polls:6 polls:6,legacy; do
    log=$work/b-$variant.log
    standin 50 "$variant" "$log"
    rm -rf "$work/out"
    "$bin" -q emit "$work"/img* --mapping "$work/mapping.json" --out "$work/out" >/dev/null
    : >"$log"
    seconds=$( { /usr/bin/env time -f %e "$bin" -q deploy --out "$work/out" --poll-interval 0.2 >/dev/null; } 2>&1 | tail -1)
    python3 - "$log" "$variant" "$seconds" <<'PY'
import collections, json, sys
log, variant, seconds = sys.argv[1:]
ops = [json.loads(l)["op"] for l in open(log) if '"op"' in l]
last_update = max(i for i, o in enumerate(ops) if o == "UpdateService")
follow = ops[last_update + 1:]
polls = follow.count("DescribeServices") / 5
counts = collections.Counter(follow)
print(f"  {variant}: {len(ops)} calls in all ({seconds} s), {polls:.0f} polls after the last UpdateService")
before = collections.Counter(ops[:last_update + 1])
print("    before following: " + ", ".join(f"{o} {n}" for o, n in sorted(before.items())))
for o in ("DescribeServices", "DescribeServiceDeployments"):
    if counts[o]:
        print(f"    per poll: {o} {counts[o] / polls:.1f}")
once = {o: n for o, n in counts.items() if o not in ("DescribeServices", "DescribeServiceDeployments")}
print("    once per service (finding the deployment, the tasks at the end): " + ", ".join(f"{o} {n}" for o, n in sorted(once.items())))
PY
done
