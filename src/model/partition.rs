//! Which regions are real: the AWS partitions and their region patterns, as the SDK's own
//! partition table has them (`endpoint_lib.rs` of aws-sdk-ecr 1.138, aws-sdk-ecs and aws-sdk-s3:
//! `regionRegex` of each partition). A region from an image URI or from `AWS_REGION` is used only
//! when it has the form of a region of a partition, and for a registry host, of the partition that
//! host's domain names; otherwise no request is made. Pure: nothing here calls AWS.

use std::fmt;

/// One AWS partition.
#[derive(Debug, PartialEq, Eq)]
pub struct Partition {
    /// `aws`, `aws-cn`, ...: the ARN's partition.
    pub id: &'static str,
    /// The partition's domain (`dnsSuffix`).
    pub dns_suffix: &'static str,
    /// The SDK's `regionRegex`, for messages.
    pub pattern: &'static str,
    /// A region of this partition, for messages.
    pub example: &'static str,
    /// The leading labels of its regions, each label one of the alternatives; then come a word
    /// (`\w+`) and a number (`\d+`).
    leading: &'static [&'static [&'static str]],
}

/// The SDK's partitions, in its order.
pub const PARTITIONS: &[Partition] = &[
    Partition {
        id: "aws",
        dns_suffix: "amazonaws.com",
        pattern: r"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$",
        example: "eu-west-1",
        leading: &[&["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"]],
    },
    Partition {
        id: "aws-cn",
        dns_suffix: "amazonaws.com.cn",
        pattern: r"^cn\-\w+\-\d+$",
        example: "cn-north-1",
        leading: &[&["cn"]],
    },
    Partition {
        id: "aws-eusc",
        dns_suffix: "amazonaws.eu",
        pattern: r"^eusc\-(de)\-\w+\-\d+$",
        example: "eusc-de-east-1",
        leading: &[&["eusc"], &["de"]],
    },
    Partition {
        id: "aws-iso",
        dns_suffix: "c2s.ic.gov",
        pattern: r"^us\-iso\-\w+\-\d+$",
        example: "us-iso-east-1",
        leading: &[&["us"], &["iso"]],
    },
    Partition {
        id: "aws-iso-b",
        dns_suffix: "sc2s.sgov.gov",
        pattern: r"^us\-isob\-\w+\-\d+$",
        example: "us-isob-east-1",
        leading: &[&["us"], &["isob"]],
    },
    Partition {
        id: "aws-iso-e",
        dns_suffix: "cloud.adc-e.uk",
        pattern: r"^eu\-isoe\-\w+\-\d+$",
        example: "eu-isoe-west-1",
        leading: &[&["eu"], &["isoe"]],
    },
    Partition {
        id: "aws-iso-f",
        dns_suffix: "csp.hci.ic.gov",
        pattern: r"^us\-isof\-\w+\-\d+$",
        example: "us-isof-south-1",
        leading: &[&["us"], &["isof"]],
    },
    Partition {
        id: "aws-us-gov",
        dns_suffix: "amazonaws.com",
        pattern: r"^us\-gov\-\w+\-\d+$",
        example: "us-gov-west-1",
        leading: &[&["us"], &["gov"]],
    },
];

impl Partition {
    /// Whether `region` has the form of one of this partition's regions.
    #[must_use]
    pub fn has(&self, region: &str) -> bool {
        let labels: Vec<&str> = region.split('-').collect();
        let n = self.leading.len();
        if labels.len() != n + 2 {
            return false;
        }
        let word = labels[n];
        let number = labels[n + 1];
        self.leading
            .iter()
            .zip(&labels)
            .all(|(choices, label)| choices.contains(label))
            && !word.is_empty()
            && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !number.is_empty()
            && number.bytes().all(|b| b.is_ascii_digit())
    }
}

/// The partition whose region pattern `region` matches.
#[must_use]
pub fn of_region(region: &str) -> Option<&'static Partition> {
    PARTITIONS.iter().find(|p| p.has(region))
}

/// Why a region is not used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegionError {
    /// No partition has a region of this form.
    NotARegion { region: String },
    /// A region of a partition that the registry host's domain does not serve, or whose ECR
    /// registry host form is not confirmed.
    Unconfirmed {
        region: String,
        partition: &'static str,
        domain: String,
    },
}

impl fmt::Display for RegionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionError::NotARegion { region } => write!(
                f,
                "{region:?} is not an AWS region: it matches the region pattern of no AWS partition ({})",
                PARTITIONS
                    .iter()
                    .map(|p| format!("{} such as {}", p.id, p.example))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            RegionError::Unconfirmed {
                region,
                partition,
                domain,
            } => write!(
                f,
                "{region:?} is a region of partition {partition}, and imagedef cannot confirm that {partition} has ECR registry hosts under {domain}, so it does not look images up there"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_have_their_partitions_form() {
        for (region, partition) in [
            ("us-east-1", Some("aws")),
            ("eu-west-1", Some("aws")),
            ("ap-southeast-7", Some("aws")),
            ("mx-central-1", Some("aws")),
            ("cn-north-1", Some("aws-cn")),
            ("us-gov-west-1", Some("aws-us-gov")),
            ("us-iso-east-1", Some("aws-iso")),
            ("us-isob-east-1", Some("aws-iso-b")),
            ("eu-isoe-west-1", Some("aws-iso-e")),
            ("us-isof-south-1", Some("aws-iso-f")),
            ("eusc-de-east-1", Some("aws-eusc")),
            ("attacker", None),
            ("localhost", None),
            (&"a".repeat(63), None),
            ("xn--80ak6aa92e", None),
            ("us-east-1.attacker.example", None),
            ("us-east-1a", None),
            ("US-EAST-1", None),
            ("zz-east-1", None),
            ("us--1", None),
            ("us-east-", None),
            ("us-east-1-1", None),
            ("eusc-fr-east-1", None),
            ("aws-global", None),
            ("", None),
        ] {
            assert_eq!(of_region(region).map(|p| p.id), partition, "{region:?}");
        }
    }
}
