//! IMF packages inside a delivery, as the scan sees them: which folders are packages, which
//! frames of each picture track file to sample, the package findings (`PACKAGE-INVALID`,
//! `PACKAGE-INCOMPLETE`, `NOT-IN-COMPOSITION`), where a matched frame range plays in each
//! composition, and a verdict per composition.
//!
//! Reading and checking a package is [`crate::imf`]'s job; this module only joins its answers
//! to the scan's files and findings.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::imf::{self, AssetId, Package, PackageProblem, SequenceKind};
use crate::report::{CompositionFinding, CompositionReport, FileReport, ImfMatch, ImfPlacement};
use crate::verdict::{Code, Verdict};
use crate::walk::WalkEntry;

/// A finding the scan should add to a file (by its path relative to the delivery root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFinding {
    /// The file, relative to the delivery root.
    pub rel: String,
    /// The code.
    pub code: Code,
    /// What is wrong, in words.
    pub message: String,
}

struct Found {
    package: Package,
    problems: Vec<PackageProblem>,
    /// Canonical path of each asset file of this package -> its id.
    by_path: HashMap<PathBuf, AssetId>,
    /// Track files any composition uses, by id.
    tracks: BTreeMap<AssetId, imf::TrackFile>,
}

/// The IMF packages of one delivery.
#[derive(Default)]
pub struct DeliveryPackages {
    found: Vec<Found>,
    /// Folders with an `ASSETMAP.xml` that could not be read at all: (file, why).
    unreadable: Vec<(String, String)>,
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

fn rel_of(root: &Path, path: &Path) -> String {
    let root = canonical(root);
    let path = canonical(path);
    path.strip_prefix(&root)
        .map(|r| r.to_string_lossy().replace('\\', "/"))
        .unwrap_or_else(|_| path.display().to_string())
}

impl DeliveryPackages {
    /// Finds, opens and verifies every package of the delivery: each folder holding an
    /// `ASSETMAP.xml` among the walked files. `ov` are original-version packages that
    /// supplemental packages may play track files from.
    pub fn find(files: &[WalkEntry], ov: &[PathBuf]) -> Self {
        let mut out = Self::default();
        let mut dirs: Vec<&Path> = files
            .iter()
            .filter(|f| f.path.file_name().is_some_and(|n| n == "ASSETMAP.xml"))
            .filter_map(|f| f.path.parent())
            .collect();
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            match Package::open(dir, ov) {
                Ok(package) => {
                    let problems = package.verify();
                    let by_path = package
                        .assets()
                        .map(|a| (canonical(&a.path), a.id.clone()))
                        .collect();
                    let tracks = package
                        .track_files()
                        .into_iter()
                        .map(|t| (t.id.clone(), t))
                        .collect();
                    out.found.push(Found {
                        package,
                        problems,
                        by_path,
                        tracks,
                    });
                }
                Err(e) => out.unreadable.push((
                    dir.join("ASSETMAP.xml").display().to_string(),
                    e.to_string(),
                )),
            }
        }
        out
    }

    /// Whether the delivery holds any package.
    pub fn is_empty(&self) -> bool {
        self.found.is_empty() && self.unreadable.is_empty()
    }

    /// The package and asset id of the file at `path`, when it is an asset of a package.
    fn asset(&self, path: &Path) -> Option<(&Found, &AssetId)> {
        let c = canonical(path);
        self.found
            .iter()
            .find_map(|f| f.by_path.get(&c).map(|id| (f, id)))
    }

    /// For a picture track file: the frames to decode besides one a second: the first and
    /// last frame of every resource (inserts may be shorter than a second).
    pub fn extra_frames(&self, path: &Path) -> Option<Vec<u64>> {
        let (found, id) = self.asset(path)?;
        let track = found.tracks.get(id)?;
        if track.kind != SequenceKind::Image {
            return None;
        }
        let mut frames: Vec<u64> = track
            .resource_ranges
            .iter()
            .filter(|r| r.end > r.start)
            .flat_map(|r| [r.start, r.end - 1])
            .collect();
        frames.sort_unstable();
        frames.dedup();
        frames.truncate(crate::video::MAX_EXTRA_FRAMES);
        Some(frames)
    }

    /// The edit rate of the track file at `path` (the unit of its frame numbers in the
    /// compositions: 48000/1 for sound in most packages), when it is a track file here.
    pub fn edit_rate(&self, path: &Path) -> Option<crate::timecode::EditRate> {
        let (found, id) = self.asset(path)?;
        Some(found.tracks.get(id)?.edit_rate)
    }

    /// Where the matched track-file frames `ranges` play, in every composition.
    pub fn placements(&self, path: &Path, ranges: &[(u64, u64)]) -> Option<ImfMatch> {
        let (found, id) = self.asset(path)?;
        found.tracks.get(id)?;
        let compositions = ranges
            .iter()
            .flat_map(|&(a, b)| found.package.locate_range(id, a..=b))
            .map(|p| ImfPlacement {
                cpl: p.cpl_id.to_string(),
                title: p.title,
                segment: p.segment_id.to_string(),
                resource: p.resource_id.to_string(),
                r#in: p.timecode_in.to_string(),
                out: p.timecode_out.to_string(),
            })
            .collect();
        Some(ImfMatch {
            asset_id: id.to_string(),
            compositions,
        })
    }

    /// The package findings, each on the file it is about.
    pub fn findings(&self, root: &Path) -> Vec<PackageFinding> {
        let mut out = Vec::new();
        for (file, why) in &self.unreadable {
            out.push(PackageFinding {
                rel: rel_of(root, Path::new(file)),
                code: Code::PackageInvalid,
                message: format!("the IMF package cannot be read: {why}"),
            });
        }
        for f in &self.found {
            for p in &f.problems {
                match p {
                    PackageProblem::Invalid { file, detail } => out.push(PackageFinding {
                        rel: rel_of(root, file),
                        code: Code::PackageInvalid,
                        message: detail.clone(),
                    }),
                    PackageProblem::Incomplete { cpl, .. } => {
                        let cpl_file = f
                            .package
                            .compositions()
                            .iter()
                            .find(|c| &c.id == cpl)
                            .map(|c| c.path.clone())
                            .unwrap_or_else(|| f.package.root().join("ASSETMAP.xml"));
                        out.push(PackageFinding {
                            rel: rel_of(root, &cpl_file),
                            code: Code::PackageIncomplete,
                            message: p.to_string(),
                        });
                    }
                }
            }
            for unused in f.package.not_in_composition() {
                let message = match &unused.frames {
                    None => "no composition (CPL) of the package plays this track file: it is delivered but never shown".to_string(),
                    Some(ranges) => format!(
                        "frames {} of this track file are delivered but no composition (CPL) plays them",
                        describe_ranges(ranges)
                    ),
                };
                out.push(PackageFinding {
                    rel: rel_of(root, &unused.path),
                    code: Code::NotInComposition,
                    message,
                });
            }
        }
        out
    }

    /// A verdict per composition: the findings on its CPL, on the track files it plays, and
    /// on the package's ASSETMAP and packing lists.
    pub fn compositions(&self, root: &Path, files: &[FileReport]) -> Vec<CompositionReport> {
        let by_rel: HashMap<&str, &FileReport> =
            files.iter().map(|f| (f.path.as_str(), f)).collect();
        let mut out = Vec::new();
        for f in &self.found {
            let mut shared: Vec<String> =
                vec![rel_of(root, &f.package.root().join("ASSETMAP.xml"))];
            shared.extend(
                f.package
                    .packing_lists()
                    .iter()
                    .map(|p| rel_of(root, &p.path)),
            );
            for c in f.package.compositions() {
                let mut paths = shared.clone();
                paths.push(rel_of(root, &c.path));
                for t in c.timeline() {
                    if let Some(a) = f.package.asset(&t.track_file) {
                        paths.push(rel_of(root, &a.path));
                    }
                }
                paths.sort();
                paths.dedup();
                let mut findings = Vec::new();
                let mut verdict = Verdict::Pass;
                for p in &paths {
                    let Some(file) = by_rel.get(p.as_str()) else {
                        continue;
                    };
                    if file.verdict == Verdict::Fail {
                        verdict = Verdict::Fail;
                    }
                    for x in &file.findings {
                        findings.push(CompositionFinding {
                            path: file.path.clone(),
                            code: x.code.as_str().to_string(),
                        });
                    }
                }
                out.push(CompositionReport {
                    cpl: c.id.to_string(),
                    title: c.title.clone(),
                    edit_rate: c.edit_rate.to_string(),
                    verdict,
                    findings,
                });
            }
        }
        out
    }
}

/// `0-23, 48-71` for frame ranges (end exclusive in, inclusive out).
fn describe_ranges(ranges: &[Range<u64>]) -> String {
    let shown: Vec<String> = ranges
        .iter()
        .take(10)
        .map(|r| {
            if r.end <= r.start + 1 {
                r.start.to_string()
            } else {
                format!("{}-{}", r.start, r.end - 1)
            }
        })
        .collect();
    let more = ranges.len().saturating_sub(10);
    if more > 0 {
        format!("{} and {more} more range(s)", shown.join(", "))
    } else {
        shown.join(", ")
    }
}
