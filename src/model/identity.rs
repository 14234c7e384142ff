//! One identity per repository, whatever its spelling. Two references name the same repository
//! exactly when their [`RepositoryId`]s are equal:
//! - Amazon ECR: the partition, account, region and repository; the plain (`dkr.ecr`), FIPS
//!   (`dkr.ecr-fips`) and dual-stack (`dkr-ecr`, `dkr-ecr-fips` on `on.aws`) hosts of one region are
//!   one registry, in any letter case;
//! - Docker Hub as Docker normalises it: no host, `docker.io` and `index.docker.io` are one registry,
//!   and a one-part name is under `library/` (`nginx` = `library/nginx` = `docker.io/library/nginx`);
//! - any other registry: the host ignoring letter case, the path as written.
//!
//! Pure: pins, `--ecr`, the bundle-vs-build check and the messages that name a repository all
//! compare these.

use std::fmt;

use super::ecr::EcrHost;
use super::reference::ImageRef;

/// The Docker Hub hosts Docker itself treats as one (`docker.io` is the canonical one).
const DOCKER_HUB_HOSTS: [&str; 2] = ["docker.io", "index.docker.io"];

/// A repository, independent of how its reference spells the registry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RepositoryId {
    /// An Amazon ECR private repository.
    Ecr {
        partition: &'static str,
        account: String,
        region: String,
        repository: String,
    },
    /// A Docker Hub repository, its name normalised (`library/nginx`).
    DockerHub { repository: String },
    /// A repository of any other registry; `host` in lower case, with its port.
    Registry { host: String, repository: String },
}

impl RepositoryId {
    /// The repository an image reference names.
    #[must_use]
    pub fn of(image: &ImageRef) -> RepositoryId {
        let repository = image.repository();
        if let Some(ecr) = image.ecr() {
            return RepositoryId::Ecr {
                partition: ecr.region_partition(),
                account: ecr.account,
                region: ecr.region,
                repository: repository.to_owned(),
            };
        }
        match image.host().map(str::to_ascii_lowercase) {
            None => RepositoryId::DockerHub {
                repository: docker_hub_path(repository),
            },
            Some(host) if DOCKER_HUB_HOSTS.contains(&host.as_str()) => RepositoryId::DockerHub {
                repository: docker_hub_path(repository),
            },
            Some(host) => RepositoryId::Registry {
                host,
                repository: repository.to_owned(),
            },
        }
    }

    /// The repository path inside its registry (`shop/web`, `library/nginx`).
    #[must_use]
    pub fn repository(&self) -> &str {
        match self {
            RepositoryId::Ecr { repository, .. }
            | RepositoryId::DockerHub { repository }
            | RepositoryId::Registry { repository, .. } => repository,
        }
    }

    /// True for a Docker Hub repository.
    #[must_use]
    pub fn is_docker_hub(&self) -> bool {
        matches!(self, RepositoryId::DockerHub { .. })
    }
}

/// A Docker Hub path as Docker normalises it: a one-part name is an official image, under `library/`.
#[must_use]
pub fn docker_hub_path(repository: &str) -> String {
    if repository.contains('/') {
        repository.to_owned()
    } else {
        format!("library/{repository}")
    }
}

/// The canonical spelling: the plain ECR host in lower case, `docker.io/...` for Docker Hub.
impl fmt::Display for RepositoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RepositoryId::Ecr {
                partition,
                account,
                region,
                repository,
            } => write!(
                f,
                "{}/{repository}",
                EcrHost::plain(partition, account, region)
            ),
            RepositoryId::DockerHub { repository } => write!(f, "docker.io/{repository}"),
            RepositoryId::Registry { host, repository } => write!(f, "{host}/{repository}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> RepositoryId {
        RepositoryId::of(&text.parse::<ImageRef>().unwrap())
    }

    #[test]
    fn every_spelling_of_an_ecr_repository_is_one_identity() {
        let plain = id("111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web");
        for spelling in [
            "111122223333.dkr.ecr-fips.us-east-1.amazonaws.com/shop/web:v1",
            "111122223333.dkr-ecr.us-east-1.on.aws/shop/web",
            "111122223333.dkr-ecr-fips.us-east-1.on.aws/shop/web",
            "111122223333.DKR.ECR.US-EAST-1.AMAZONAWS.COM/shop/web",
            "111122223333.Dkr-Ecr-Fips.us-east-1.On.Aws/shop/web",
        ] {
            assert_eq!(id(spelling), plain, "{spelling}");
        }
        assert_eq!(
            plain.to_string(),
            "111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web"
        );
        for other in [
            "111122223333.dkr.ecr.us-east-2.amazonaws.com/shop/web",
            "999922223333.dkr.ecr.us-east-1.amazonaws.com/shop/web",
            "111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/api",
            "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/shop/web",
        ] {
            assert_ne!(id(other), plain, "{other}");
        }
        assert!(matches!(
            id("111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/a"),
            RepositoryId::Ecr {
                partition: "aws-cn",
                ..
            }
        ));
        assert!(matches!(
            id("111122223333.dkr.ecr-fips.us-gov-west-1.amazonaws.com/a"),
            RepositoryId::Ecr {
                partition: "aws-us-gov",
                ..
            }
        ));
    }

    #[test]
    fn docker_hub_is_normalised_as_docker_does() {
        let nginx = id("nginx");
        for spelling in [
            "library/nginx",
            "docker.io/library/nginx",
            "docker.io/nginx:1.27",
            "index.docker.io/library/nginx",
            "Docker.IO/library/nginx",
        ] {
            assert_eq!(id(spelling), nginx, "{spelling}");
        }
        assert_eq!(nginx.to_string(), "docker.io/library/nginx");
        assert_eq!(id("bitnami/nginx").to_string(), "docker.io/bitnami/nginx");
        assert_ne!(id("ghcr.io/library/nginx"), nginx);
    }

    #[test]
    fn other_hosts_ignore_case_and_keep_the_path() {
        assert_eq!(id("GHCR.io/org/app"), id("ghcr.io/org/app:v1"));
        assert_eq!(id("ghcr.io/org/app").to_string(), "ghcr.io/org/app");
        assert_ne!(id("ghcr.io/org/app"), id("ghcr.io/org/app2"));
        assert_ne!(id("localhost:5000/a"), id("localhost:5001/a"));
    }
}
