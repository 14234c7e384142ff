//! The AWS settings of a run: dummy keys, an endpoint on 127.0.0.1, nothing else.
//!
//! No run of the binary set up by [`aws_env`] sends traffic anywhere but loopback: instance
//! metadata is disabled, `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (a link-local address) is never
//! set, every inherited `AWS_*` variable is removed (see `Env::run`), and the profile files point
//! at paths that do not exist.

use super::Env;

/// The dummy secret key of [`aws_env`]; no run may show it.
pub const SECRET: &str = "imagedefTestSecretKey0123456789abcdefXYZ";

/// Sets up `env` for runs against `endpoint` with dummy keys, nothing else: metadata off, no
/// profile files, a region the images do not live in (their URIs must decide).
pub fn aws_env(env: &mut Env, endpoint: &str) {
    aws_env_without_keys(env, endpoint);
    env.set("AWS_ACCESS_KEY_ID", "AKIDIMAGEDEFTEST")
        .set("AWS_SECRET_ACCESS_KEY", SECRET);
}

/// [`aws_env`] without any credentials.
pub fn aws_env_without_keys(env: &mut Env, endpoint: &str) {
    let none = env.path("no-such-dir");
    env.set("AWS_EC2_METADATA_DISABLED", "true")
        .set("AWS_REGION", "eu-west-1")
        .set("AWS_ENDPOINT_URL", endpoint)
        .set("AWS_CONFIG_FILE", none.join("config"))
        .set("AWS_SHARED_CREDENTIALS_FILE", none.join("credentials"))
        .set("HOME", &none);
}
