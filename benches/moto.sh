# Sourced by the benches that run against moto (benches/ecr.sh, findings.sh, platform.sh,
# publish.sh): starts a moto server on 127.0.0.1 from the venv of .ci/deps-aws, points every AWS
# setting at it (instance metadata off, no profile file read), and stops it on exit.
#   source benches/moto.sh NAME      sets bin (IMAGEDEF_BIN, else the dist build), venv, work (a
#                                    scratch folder named after NAME) and port
if [ -n "${IMAGEDEF_BIN:-}" ]; then
    bin=$(realpath "$IMAGEDEF_BIN")
else
    cargo build --profile dist --locked -q --target x86_64-unknown-linux-musl
    bin=$PWD/target/x86_64-unknown-linux-musl/dist/imagedef
fi
bash .ci/deps-aws >/dev/null
venv=${IMAGEDEF_MOTO_VENV:-target/moto-venv}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/imagedef-$1-bench.XXXXXX")
moto_pid=
cleanup() {
    [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/python" -m moto.server -H 127.0.0.1 -p "$port" 2>"$work/moto.log" &
moto_pid=$!
for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/" 2>/dev/null && break
    sleep 0.1
done

# Everything AWS from here on talks to moto only.
for v in $(env | grep -o '^AWS_[A-Z_]*'); do unset "$v"; done
export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_EC2_METADATA_DISABLED=true \
    AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-west-2 \
    AWS_DEFAULT_REGION=us-west-2 AWS_CONFIG_FILE=$work/none AWS_SHARED_CREDENTIALS_FILE=$work/none
