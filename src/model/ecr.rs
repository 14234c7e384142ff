//! Amazon ECR private registries: the one owner of a registry host's shape
//! (`<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`, dual-stack
//! `<account>.dkr-ecr[-fips].<region>.on.aws`), of which partitions each host domain serves, and of
//! the repositories in them, as the AWS lookups and the registry client address them. Pure.

use std::fmt;

use super::partition::{self, Partition, RegionError};
use super::reference::ImageRef;

/// The domain of an ECR registry host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Domain {
    /// `amazonaws.com`: the plain and FIPS hosts of `aws` and `aws-us-gov`.
    AmazonawsCom,
    /// `amazonaws.com.cn`: the hosts of `aws-cn`.
    AmazonawsComCn,
    /// `on.aws`: the dual-stack hosts (`dkr-ecr`) of `aws`.
    OnAws,
}

/// The domains whose registry hosts are confirmed, and the partitions each serves, from the ECR
/// endpoint and registry documentation (AWS-FACTS.md). Other partitions' registry hosts are not
/// confirmed, so no image is looked up there.
const SERVED: [(Domain, &[&str]); 3] = [
    (Domain::AmazonawsCom, &["aws", "aws-us-gov"]),
    (Domain::AmazonawsComCn, &["aws-cn"]),
    (Domain::OnAws, &["aws"]),
];

impl Domain {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Domain::AmazonawsCom => "amazonaws.com",
            Domain::AmazonawsComCn => "amazonaws.com.cn",
            Domain::OnAws => "on.aws",
        }
    }

    /// The partitions whose registries have hosts under this domain.
    fn serves(self) -> &'static [&'static str] {
        SERVED
            .iter()
            .find(|(d, _)| *d == self)
            .map_or(&[], |(_, ids)| ids)
    }

    /// The domain of a partition's plain (`dkr.ecr`) registry hosts, when confirmed.
    fn plain_of(partition: &str) -> Option<Domain> {
        SERVED
            .iter()
            .find(|(d, ids)| *d != Domain::OnAws && ids.contains(&partition))
            .map(|(d, _)| *d)
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parts of an Amazon ECR registry host.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EcrHost {
    pub account: String,
    /// In lower case, as read from the host.
    pub region: String,
    /// `dkr.ecr-fips` / `dkr-ecr-fips`: the API is asked at its FIPS endpoint too.
    pub fips: bool,
    pub domain: Domain,
}

/// Why a host that looks like an ECR registry host is not one; the caller names the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("its domain is not amazonaws.com, amazonaws.com.cn or on.aws")]
    Domain,
    #[error("it does not start with the 12-digit account id")]
    NoAccount,
    #[error("its account id is not 12 digits")]
    Account,
    #[error("its region is not a region name such as us-east-1")]
    Region,
}

impl EcrHost {
    /// `Ok(Some)` for an ECR registry host, `Ok(None)` for any other registry, `Err` for a host
    /// that names ECR but is broken. Host names ignore letter case, so `DKR.ECR` is ECR too (and
    /// its region is read in lower case).
    pub fn parse(host: &str) -> Result<Option<EcrHost>, HostError> {
        let lower = host.to_ascii_lowercase();
        let labels: Vec<&str> = lower.split('.').collect();
        let Some(service_at) = labels
            .iter()
            .position(|l| matches!(*l, "ecr" | "ecr-fips" | "dkr-ecr" | "dkr-ecr-fips"))
        else {
            return Ok(None);
        };
        let service = labels[service_at];
        let dual_stack = service.starts_with("dkr-ecr");
        let account_labels = if dual_stack {
            &labels[..service_at]
        } else {
            if service_at == 0 || labels[service_at - 1] != "dkr" {
                return Ok(None);
            }
            &labels[..service_at - 1]
        };
        let suffix = &labels[service_at + 1..];
        let region = suffix.first().copied().unwrap_or("");
        let domain = match (dual_stack, suffix.get(1..).unwrap_or_default()) {
            (true, ["on", "aws"]) => Domain::OnAws,
            (false, ["amazonaws", "com"]) => Domain::AmazonawsCom,
            (false, ["amazonaws", "com", "cn"]) => Domain::AmazonawsComCn,
            _ => return Err(HostError::Domain),
        };
        let [account] = account_labels else {
            return Err(HostError::NoAccount);
        };
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HostError::Account);
        }
        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(HostError::Region);
        }
        Ok(Some(EcrHost {
            account: (*account).to_owned(),
            region: region.to_owned(),
            fips: service.ends_with("-fips"),
            domain,
        }))
    }

    /// A dual-stack host (`dkr-ecr`, `on.aws`): the API is asked at its dual-stack endpoint too.
    #[must_use]
    pub fn dual_stack(&self) -> bool {
        self.domain == Domain::OnAws
    }

    /// The partition of the host's region, whichever its domain (`aws` for a region of none,
    /// which no request is made for: [`EcrHost::partition`] refuses it first). What names one
    /// registry across its spellings ([`super::identity`]).
    #[must_use]
    pub fn region_partition(&self) -> &'static str {
        partition::of_region(&self.region).map_or("aws", |p| p.id)
    }

    /// The partition of the region, which must be one the host's domain serves: a lookup is made
    /// only then.
    pub fn partition(&self) -> Result<&'static Partition, RegionError> {
        let partition =
            partition::of_region(&self.region).ok_or_else(|| RegionError::NotARegion {
                region: self.region.clone(),
            })?;
        if self.domain.serves().contains(&partition.id) {
            Ok(partition)
        } else {
            Err(RegionError::Unconfirmed {
                region: self.region.clone(),
                partition: partition.id,
                domain: self.domain.as_str().to_owned(),
            })
        }
    }

    /// The plain registry host of `account` in `region` of `partition`, in lower case: how one
    /// registry is spelled canonically.
    #[must_use]
    pub fn plain(partition: &str, account: &str, region: &str) -> String {
        let domain = Domain::plain_of(partition).unwrap_or(Domain::AmazonawsCom);
        format!("{account}.dkr.ecr.{region}.{domain}")
    }
}

impl fmt::Display for EcrHost {
    /// The host as image URIs name it, in lower case, FIPS and dual-stack kept.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fips = if self.fips { "-fips" } else { "" };
        if self.dual_stack() {
            write!(
                f,
                "{}.dkr-ecr{fips}.{}.{}",
                self.account, self.region, self.domain
            )
        } else {
            write!(
                f,
                "{}.dkr.ecr{fips}.{}.{}",
                self.account, self.region, self.domain
            )
        }
    }
}

/// An ECR private repository where it lives: its registry and its name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Repository {
    pub registry: EcrHost,
    pub name: String,
    /// The partition of the registry's region, one its host's domain serves.
    pub partition: &'static str,
}

impl Repository {
    /// The ECR repository of an image, or `None` when its host is not an ECR private registry; an
    /// error when the region its host names is no region of a partition that host's domain
    /// serves.
    #[must_use]
    pub fn of(image: &ImageRef) -> Option<Result<Repository, RegionError>> {
        let registry = image.ecr()?;
        Some(registry.partition().map(|p| Repository {
            partition: p.id,
            name: image.repository().to_owned(),
            registry,
        }))
    }

    #[must_use]
    pub fn account(&self) -> &str {
        &self.registry.account
    }

    #[must_use]
    pub fn region(&self) -> &str {
        &self.registry.region
    }

    /// The ARN an IAM policy names.
    #[must_use]
    pub fn arn(&self) -> String {
        format!(
            "arn:{}:ecr:{}:{}:repository/{}",
            self.partition,
            self.region(),
            self.account(),
            self.name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_is_written_back_as_parsed_in_lower_case() {
        for host in [
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
            "123456789012.dkr-ecr.eu-central-1.on.aws",
            "123456789012.dkr-ecr-fips.us-east-2.on.aws",
        ] {
            let parsed = EcrHost::parse(&host.to_ascii_uppercase()).unwrap().unwrap();
            assert_eq!(parsed.to_string(), host);
        }
        assert_eq!(EcrHost::parse("public.ecr.aws"), Ok(None));
        assert_eq!(EcrHost::parse("ghcr.io"), Ok(None));
        assert_eq!(
            EcrHost::parse("123456789012.dkr.ecr.us-east-1.example.com"),
            Err(HostError::Domain)
        );
        assert_eq!(
            EcrHost::parse("12345.dkr.ecr.us-east-1.amazonaws.com"),
            Err(HostError::Account)
        );
    }

    #[test]
    fn a_registry_domain_serves_only_its_confirmed_partitions() {
        let host = |h: &str| EcrHost::parse(h).unwrap().unwrap();
        for (h, partition) in [
            ("111122223333.dkr.ecr.eu-west-1.amazonaws.com", "aws"),
            (
                "111122223333.dkr.ecr.us-gov-east-1.amazonaws.com",
                "aws-us-gov",
            ),
            (
                "111122223333.dkr.ecr.cn-northwest-1.amazonaws.com.cn",
                "aws-cn",
            ),
            ("111122223333.dkr-ecr.us-east-2.on.aws", "aws"),
        ] {
            assert_eq!(host(h).partition().unwrap().id, partition, "{h}");
        }
        for (h, region, partition, domain) in [
            (
                "111122223333.dkr.ecr.cn-north-1.amazonaws.com",
                "cn-north-1",
                "aws-cn",
                "amazonaws.com",
            ),
            (
                "111122223333.dkr.ecr.us-east-1.amazonaws.com.cn",
                "us-east-1",
                "aws",
                "amazonaws.com.cn",
            ),
            (
                "111122223333.dkr.ecr.us-iso-east-1.amazonaws.com",
                "us-iso-east-1",
                "aws-iso",
                "amazonaws.com",
            ),
            (
                "111122223333.dkr.ecr.eusc-de-east-1.amazonaws.com",
                "eusc-de-east-1",
                "aws-eusc",
                "amazonaws.com",
            ),
            (
                "111122223333.dkr-ecr.us-gov-west-1.on.aws",
                "us-gov-west-1",
                "aws-us-gov",
                "on.aws",
            ),
        ] {
            assert_eq!(
                host(h).partition(),
                Err(RegionError::Unconfirmed {
                    region: region.to_owned(),
                    partition,
                    domain: domain.to_owned()
                }),
                "{h}"
            );
        }
        assert_eq!(
            host("111122223333.dkr.ecr.attacker.amazonaws.com")
                .partition()
                .unwrap_err()
                .to_string(),
            "\"attacker\" is not an AWS region: it matches the region pattern of no AWS partition (aws such as eu-west-1, aws-cn such as cn-north-1, aws-eusc such as eusc-de-east-1, aws-iso such as us-iso-east-1, aws-iso-b such as us-isob-east-1, aws-iso-e such as eu-isoe-west-1, aws-iso-f such as us-isof-south-1, aws-us-gov such as us-gov-west-1)"
        );
        assert_eq!(
            EcrHost::plain("aws-cn", "111122223333", "cn-north-1"),
            "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            EcrHost::plain("aws-us-gov", "111122223333", "us-gov-west-1"),
            "111122223333.dkr.ecr.us-gov-west-1.amazonaws.com"
        );
    }
}
