//! An IAM role ARN, as `--role-arn` and the mapping's `roleArn` give it: the role `deploy` and
//! `confirm` assume for a service in another account.

use std::fmt;
use std::str::FromStr;

/// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleArn(String);

/// Why a role ARN was refused: the value as given; the caller names where it came from.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not an IAM role ARN; write arn:aws:iam::ACCOUNT:role/NAME (12 digits of account), e.g. arn:aws:iam::210987654321:role/deploy"
)]
pub struct RoleArnError(pub String);

impl FromStr for RoleArn {
    type Err = RoleArnError;

    fn from_str(s: &str) -> Result<RoleArn, RoleArnError> {
        let bad = || RoleArnError(s.to_owned());
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        let [arn, partition, iam, region, account, resource] = parts[..] else {
            return Err(bad());
        };
        let name = resource.strip_prefix("role/").unwrap_or_default();
        let ok = arn == "arn"
            && partition.starts_with("aws")
            && partition
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-')
            && iam == "iam"
            && region.is_empty()
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && !name.is_empty()
            && s.len() <= 2048
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b));
        if ok {
            Ok(RoleArn(s.to_owned()))
        } else {
            Err(bad())
        }
    }
}

impl fmt::Display for RoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_are_iam_roles_with_an_account() {
        for good in [
            "arn:aws:iam::210987654321:role/deploy",
            "arn:aws-cn:iam::210987654321:role/path/to/deploy-role_1",
            "arn:aws-us-gov:iam::210987654321:role/a+b=c,d.e@f",
        ] {
            assert_eq!(good.parse::<RoleArn>().unwrap().to_string(), good);
        }
        for bad in [
            "",
            "deploy",
            "arn:aws:iam::21098765432:role/deploy",
            "arn:aws:iam:eu-west-1:210987654321:role/deploy",
            "arn:aws:iam::210987654321:user/deploy",
            "arn:aws:iam::210987654321:role/",
            "arn:aws:sts::210987654321:role/deploy",
            "arn:aws:iam::210987654321:role/de ploy",
        ] {
            assert!(bad.parse::<RoleArn>().is_err(), "{bad}");
        }
    }
}
