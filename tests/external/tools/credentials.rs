//! The two places a build's session credentials come from: a container-credentials endpoint (as
//! CodeBuild gives its service role) on 127.0.0.1, and the environment.

use std::io::{BufReader, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use super::aws::{AUTH_TOKEN, TOKEN, read_message};
use crate::util::Env;
use crate::util::aws::{SECRET, aws_env, aws_env_without_keys};

/// A container-credentials endpoint (what CodeBuild and ECS run for their roles), answering
/// every request with session credentials; it records each request's Authorization header.
pub struct CredentialsServer {
    pub port: u16,
    pub authorizations: Arc<Mutex<Vec<String>>>,
}

impl CredentialsServer {
    pub fn start() -> CredentialsServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let authorizations = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&authorizations);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    while let Some((_, headers, _)) = read_message(&mut reader, false) {
                        let auth = headers
                            .iter()
                            .find(|(k, _)| k == "authorization")
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default();
                        seen.lock().unwrap().push(auth);
                        let body = serde_json::json!({
                            "AccessKeyId": "ASIAIMAGEDEFTEST",
                            "SecretAccessKey": SECRET,
                            "Token": TOKEN,
                            "Expiration": "2099-01-01T00:00:00Z",
                        })
                        .to_string();
                        let mut out = &stream;
                        let _ = write!(
                            out,
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                    }
                });
            }
        });
        CredentialsServer {
            port,
            authorizations,
        }
    }

    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}/creds", self.port)
    }
}

/// Two scratch directories for runs against `endpoint` with session credentials: one taking them
/// from a container endpoint (as CodeBuild gives its service role, with an authorization
/// token), one from the environment (keys and `AWS_SESSION_TOKEN`). The server must outlive
/// the runs.
pub struct SessionCredentials {
    pub server: CredentialsServer,
    pub from_endpoint: Env,
    pub from_env: Env,
}

impl SessionCredentials {
    pub fn new(endpoint: &str) -> SessionCredentials {
        let server = CredentialsServer::start();
        let mut from_endpoint = Env::new();
        aws_env_without_keys(&mut from_endpoint, endpoint);
        from_endpoint
            .set("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.uri())
            .set("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH_TOKEN);
        let mut from_env = Env::new();
        aws_env(&mut from_env, endpoint);
        from_env.set("AWS_SESSION_TOKEN", TOKEN);
        SessionCredentials {
            server,
            from_endpoint,
            from_env,
        }
    }

    /// Both directories, each traced by the SDK (`RUST_LOG=trace`).
    pub fn traced(&mut self) -> [&mut Env; 2] {
        for env in [&mut self.from_endpoint, &mut self.from_env] {
            env.set("RUST_LOG", "trace");
        }
        [&mut self.from_endpoint, &mut self.from_env]
    }
}
