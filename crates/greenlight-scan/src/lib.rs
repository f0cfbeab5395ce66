//! Delivery verification: walk a delivery, hash every file, read C2PA content credentials and
//! XMP, compute PDQ perceptual hashes, match them against hash banks, and turn what was found
//! into verdicts and reports.

pub mod bank;
pub mod cache;
pub mod credentials;
pub mod declarations;
pub mod decode;
pub mod digest;
pub mod index;
pub mod media;
pub mod pdq;
pub mod report;
pub mod scan;
pub mod verdict;
pub mod video;
pub mod waiver;
pub mod walk;
pub mod xmp;
