//! The publish stage: which of OUT's bundles may be uploaded ([`publishable`]), and what is said
//! of each ([`outcome`]). The uploads themselves are [`crate::aws::s3`]'s.

pub mod outcome;
pub mod publishable;
