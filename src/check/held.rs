//! What each `--bundle`'s content was held against, said on its ok line once every check has run:
//! the `SHA256SUMS` beside it, the images the build discovered, pins, proofs, ECR. A bundle held
//! against none of them had only its structure and shapes checked (an edited digest inside would
//! pass): a warning says so, and with `--strict` that is a failed check.

use super::bundle::Bundle;
use super::{Check, Report};

/// The checks that hold a bundle's images after the bundle check, and how the ok line names each.
const BY_IMAGE: [(Check, &str); 4] = [
    (Check::BundleDeploysDiscovered, "discovered images"),
    (Check::Pins, "pins"),
    (Check::DigestProven, "OCI proofs"),
    (Check::Ecr, "ECR"),
];

/// Adds to each clean bundle's ok line what its content was held against; warns about (or, when
/// `strict`, fails) each bundle that nothing held.
pub fn say(bundles: &[Bundle], strict: bool, report: &mut Report) {
    let mut said: Vec<&str> = Vec::new();
    let mut unheld = Vec::new();
    for b in bundles.iter().filter(|b| b.clean) {
        if said.contains(&b.subject.as_str()) {
            continue;
        }
        said.push(&b.subject);
        let mut held: Vec<String> = b
            .sums
            .iter()
            .map(|p| format!("SHA256SUMS ({})", p.display()))
            .collect();
        let mut examined = !held.is_empty();
        for (check, name) in BY_IMAGE {
            let passed = b
                .images
                .iter()
                .filter(|s| report.passed(check, &s.subject))
                .count();
            examined |= b.images.iter().any(|s| report.examined(check, &s.subject));
            match passed {
                0 => {}
                n if n == b.images.len() => held.push(name.to_owned()),
                n => held.push(format!("{name} ({n} of {} images)", b.images.len())),
            }
        }
        let text = if !held.is_empty() {
            format!("; content held against {}", held.join(", "))
        } else if examined {
            "; its content failed what it was held against (see below)".to_owned()
        } else {
            unheld.push(&b.subject);
            "; only its structure and shapes were checked: nothing held its content".to_owned()
        };
        report.add_detail(Check::Bundle, &b.subject, &text);
    }
    let why = "no SHA256SUMS lies beside it, and no discovered image, pin (--expect), proof (--oci, --manifest) or ECR lookup (--ecr) covered the images it deploys, so an edited digest inside it would pass; verify it beside the SHA256SUMS written with it, inside the build that wrote it, or with --expect or --ecr";
    for subject in unheld {
        if strict {
            report.record(Check::Bundle, |r| {
                r.fail(
                    subject.clone(),
                    format!("only its structure and shapes were checked: {why} (--strict)"),
                );
            });
        } else {
            tracing::warn!(
                "{subject}: only its structure and shapes were checked: {why} (--strict makes this a failure)"
            );
        }
    }
}
