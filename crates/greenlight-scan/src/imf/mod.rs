//! Interoperable Master Packages (SMPTE ST 2067): read a package's ASSETMAP, packing lists
//! (PKL), composition playlists (CPL) and output profile lists (OPL); check every asset's size
//! and SHA-1 against its PKL; and lay out which frames of which track file each composition
//! plays, with composition timecode.
//!
//! This is a small reader for the scan, not a conformance validator: it reads what the scan
//! needs, by local element names (IMF namespaces differ between the 2013, 2016 and 2020
//! schemas), and reports what it cannot read as a problem naming the file and line. See
//! `docs/decisions/0257-imf-reader.md` for the choices and limits.
//!
//! ```no_run
//! use std::path::Path;
//! use greenlight_scan::imf::{Package, PackageProblem};
//!
//! let package = Package::open(Path::new("delivery/IMP"), &[]).unwrap();
//! for problem in package.verify() {
//!     println!("{} {problem}", problem.code());
//! }
//! for track in package.track_files() {
//!     // Decode each track file once, at these frames, whatever number of CPLs use it.
//!     let frames = track.sample_frames();
//!     for placed in package.locate(&track.id, frames[0]) {
//!         println!("{} {} {}", placed.cpl_id, placed.title, placed.timecode);
//!     }
//! }
//! ```

mod cpl;
mod usage;
mod verify;
mod xml;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use base64::Engine;

pub use cpl::{
    Composition, CompositionTimecode, MAX_RESOURCES, MAX_SEGMENTS, MAX_TITLE_BYTES,
    MAX_TRACK_SECONDS, MAX_USES, Resource, Segment, Sequence, SequenceKind, TrackUses, Use,
};
pub use usage::{PlacedRange, Placement, TrackFile, Unused, sample_frames};
pub use xml::MAX_XML_BYTES;

/// The most assets one ASSETMAP or PKL may list.
pub const MAX_ASSETS: usize = 100_000;

/// The most resource plays (uses) all CPLs of a package may hold together, which bounds the
/// memory a package's timelines take.
pub const MAX_PACKAGE_USES: u64 = 500_000;

/// How many bytes of an XML asset are read to learn its root element.
const ROOT_PEEK_BYTES: u64 = 64 * 1024;

/// Why a package could not be opened at all (its ASSETMAP is missing or unreadable). Problems
/// with the files it names are [`PackageProblem`]s instead, and the reading goes on.
#[derive(Debug, thiserror::Error)]
pub enum ImfError {
    #[error("{}: no ASSETMAP.xml in this folder", dir.display())]
    NoAssetMap { dir: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {size} bytes, over the limit of {limit} bytes for an IMF XML document", path.display())]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("{} line {line}: {detail}", path.display())]
    Xml {
        path: PathBuf,
        line: usize,
        detail: String,
    },
}

/// A problem found in a package. `Invalid` is the scan's `PACKAGE-INVALID`, `Incomplete` its
/// `PACKAGE-INCOMPLETE`; both fail a delivery.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PackageProblem {
    /// A file of the package is missing, has the wrong size or hash, or cannot be read.
    Invalid { file: PathBuf, detail: String },
    /// A CPL resource's track file is in neither this package nor a given original version.
    Incomplete {
        cpl: AssetId,
        resource: AssetId,
        track_file: AssetId,
    },
}

impl PackageProblem {
    /// The finding code the scan reports for it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { .. } => "PACKAGE-INVALID",
            Self::Incomplete { .. } => "PACKAGE-INCOMPLETE",
        }
    }
}

impl fmt::Display for PackageProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid { file, detail } => write!(f, "{}: {detail}", file.display()),
            Self::Incomplete {
                cpl,
                resource,
                track_file,
            } => write!(
                f,
                "CPL {cpl}: resource {resource} plays track file {track_file}, which is in \
                 neither this package nor an original version given with --ov"
            ),
        }
    }
}

/// An asset UUID, compared without its `urn:uuid:` prefix and case.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AssetId(String);

impl AssetId {
    /// Reads `urn:uuid:XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX` (the prefix is optional).
    pub fn parse(s: &str) -> Option<Self> {
        let t = s.trim();
        let bare = match t.get(..9) {
            Some(p) if p.eq_ignore_ascii_case("urn:uuid:") => &t[9..],
            _ => t,
        };
        let ok = bare.len() == 36
            && bare.char_indices().all(|(i, c)| {
                if matches!(i, 8 | 13 | 18 | 23) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            });
        ok.then(|| Self(bare.to_ascii_lowercase()))
    }

    /// The bare lower-case UUID.
    pub fn uuid(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "urn:uuid:{}", self.0)
    }
}

impl serde::Serialize for AssetId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An asset the ASSETMAP of this package or of an original version maps to a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asset {
    pub id: AssetId,
    /// The file (the package folder joined with the ASSETMAP's path).
    pub path: PathBuf,
    /// Flagged `<PackingList>true</PackingList>`.
    pub packing_list: bool,
    /// The original-version package (`--ov`) it comes from, or `None` for this package.
    pub original_version: Option<PathBuf>,
}

/// A packing list: the assets of the package with their sizes and SHA-1s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackingList {
    pub id: AssetId,
    pub path: PathBuf,
    pub assets: Vec<PklAsset>,
}

/// One asset as a PKL states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PklAsset {
    pub id: AssetId,
    pub size: u64,
    /// SHA-1 of the file's bytes.
    pub sha1: [u8; 20],
    /// `Type` (`application/mxf`, `text/xml`, ...).
    pub asset_type: String,
    pub original_file_name: Option<String>,
}

/// An output profile list: recognised and listed, not interpreted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputProfileList {
    pub id: AssetId,
    pub path: PathBuf,
    /// The CPL it applies to.
    pub cpl_id: Option<AssetId>,
}

/// An opened package: what it holds and what was wrong with it while reading.
#[derive(Clone, Debug)]
pub struct Package {
    root: PathBuf,
    assets: BTreeMap<AssetId, Asset>,
    packing_lists: Vec<PackingList>,
    compositions: Vec<Composition>,
    output_profiles: Vec<OutputProfileList>,
    problems: Vec<PackageProblem>,
}

/// Whether a folder holds an `ASSETMAP.xml` (is an IMP to [`Package::open`]).
pub fn is_package(dir: &Path) -> bool {
    dir.join("ASSETMAP.xml").is_file()
}

impl Package {
    /// Opens the package in `dir` (which holds `ASSETMAP.xml`; a `VOLINDEX.xml` is neither
    /// needed nor read), with the original-version packages `ov` that supply track files a
    /// supplemental package does not carry. Reads every PKL, CPL and OPL; problems with them
    /// are kept for [`Package::verify`]. Fails only when an ASSETMAP cannot be read.
    pub fn open(dir: &Path, ov: &[PathBuf]) -> Result<Package, ImfError> {
        let mut problems = Vec::new();
        let mut assets = read_asset_map(dir, None, &mut problems)?;
        for o in ov {
            for (id, asset) in read_asset_map(o, Some(o), &mut problems)? {
                assets.entry(id).or_insert(asset);
            }
        }
        let mut package = Package {
            root: dir.to_path_buf(),
            assets,
            packing_lists: Vec::new(),
            compositions: Vec::new(),
            output_profiles: Vec::new(),
            problems,
        };
        package.read_documents();
        package.check_completeness();
        Ok(package)
    }

    /// The package folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every mapped asset, of this package and of the original versions.
    pub fn assets(&self) -> impl Iterator<Item = &Asset> {
        self.assets.values()
    }

    /// An asset by id.
    pub fn asset(&self, id: &AssetId) -> Option<&Asset> {
        self.assets.get(id)
    }

    /// The asset stored at `path` (as the scan's walk finds it), if any.
    pub fn asset_at(&self, path: &Path) -> Option<&Asset> {
        let canon = path.canonicalize().ok();
        self.assets
            .values()
            .find(|a| a.path == path || (canon.is_some() && a.path.canonicalize().ok() == canon))
    }

    pub fn packing_lists(&self) -> &[PackingList] {
        &self.packing_lists
    }

    /// The CPLs that could be read (a CPL that could not is a problem instead).
    pub fn compositions(&self) -> &[Composition] {
        &self.compositions
    }

    pub fn output_profiles(&self) -> &[OutputProfileList] {
        &self.output_profiles
    }

    /// Problems found while opening (unreadable documents, missing files, incomplete
    /// compositions), without hashing anything.
    pub fn open_problems(&self) -> &[PackageProblem] {
        &self.problems
    }

    /// Reads PKLs first (they say which assets are XML), then every other XML asset of this
    /// package, sorting CPLs and OPLs by their root element.
    fn read_documents(&mut self) {
        let own: Vec<Asset> = self
            .assets
            .values()
            .filter(|a| a.original_version.is_none())
            .cloned()
            .collect();
        // ST 429-9 flags PKLs in the ASSETMAP; an unflagged one is still read as a PKL, so its
        // hashes are checked.
        let is_pkl = |a: &Asset| {
            a.packing_list
                || (is_xml_name(&a.path)
                    && a.path.is_file()
                    && matches!(peek_root(&a.path), Ok(Some(n)) if n == "PackingList"))
        };
        let (pkls, others): (Vec<Asset>, Vec<Asset>) = own.into_iter().partition(is_pkl);
        for a in &pkls {
            if !a.path.is_file() {
                continue; // reported as missing already
            }
            match xml::read_file(&a.path).and_then(|root| self.packing_list(&root, &a.path)) {
                Ok(pkl) => self.packing_lists.push(pkl),
                Err(e) => self.invalid(&a.path, e),
            }
        }
        if pkls.is_empty() {
            self.problems.push(PackageProblem::Invalid {
                file: self.root.join("ASSETMAP.xml"),
                detail: "the package has no packing list, so no asset's size or hash can be \
                         checked"
                    .into(),
            });
        }
        let xml_types: Vec<AssetId> = self
            .packing_lists
            .iter()
            .flat_map(|p| &p.assets)
            .filter(|a| a.asset_type.contains("xml"))
            .map(|a| a.id.clone())
            .collect();
        for a in &others {
            if !(is_xml_name(&a.path) || xml_types.contains(&a.id)) || !a.path.is_file() {
                continue;
            }
            match peek_root(&a.path) {
                Ok(Some(name)) if name == "CompositionPlaylist" => {
                    match xml::read_file(&a.path).and_then(|root| cpl::parse(&root, &a.path)) {
                        Ok(c) if self.plays() + c.plays() > MAX_PACKAGE_USES => {
                            self.problems.push(PackageProblem::Invalid {
                                file: a.path.clone(),
                                detail: format!(
                                    "not read: the package's CPLs would hold more than \
                                     {MAX_PACKAGE_USES} resource plays together"
                                ),
                            })
                        }
                        Ok(c) => self.compositions.push(c),
                        Err(e) => self.invalid(&a.path, e),
                    }
                }
                Ok(Some(name)) if name == "OutputProfileList" => {
                    match xml::read_file(&a.path).and_then(|root| opl(&root, &a.path)) {
                        Ok(o) => self.output_profiles.push(o),
                        Err(e) => self.invalid(&a.path, e),
                    }
                }
                // Another XML sidecar: not ours to read.
                Ok(Some(_)) => {}
                Ok(None) => self.problems.push(PackageProblem::Invalid {
                    file: a.path.clone(),
                    detail: "an XML asset with no readable root element".into(),
                }),
                Err(e) => self.invalid(&a.path, e),
            }
        }
    }

    /// Resource plays held by the compositions read so far.
    fn plays(&self) -> u64 {
        self.compositions.iter().map(Composition::plays).sum()
    }

    fn invalid(&mut self, file: &Path, e: ImfError) {
        self.problems.push(PackageProblem::Invalid {
            file: file.to_path_buf(),
            detail: e.to_string(),
        });
    }

    fn packing_list(&mut self, root: &xml::Element, path: &Path) -> Result<PackingList, ImfError> {
        let err = |line: usize, detail: String| ImfError::Xml {
            path: path.to_path_buf(),
            line,
            detail,
        };
        if root.name != "PackingList" {
            return Err(err(
                root.line,
                format!("the root element is <{}>, not <PackingList>", root.name),
            ));
        }
        let id = root
            .text_of("Id")
            .and_then(AssetId::parse)
            .ok_or_else(|| err(root.line, "<PackingList> has no urn:uuid <Id>".into()))?;
        let list = root
            .child("AssetList")
            .ok_or_else(|| err(root.line, "<PackingList> has no <AssetList>".into()))?;
        let mut assets = Vec::new();
        for (i, a) in list.children_named("Asset").enumerate() {
            if i >= MAX_ASSETS {
                return Err(err(a.line, format!("more than {MAX_ASSETS} assets")));
            }
            match pkl_asset(a) {
                Ok(asset) => assets.push(asset),
                Err(detail) => self.invalid(path, err(a.line, detail)),
            }
        }
        Ok(PackingList {
            id,
            path: path.to_path_buf(),
            assets,
        })
    }

    /// Every resource's track file must be mapped by this package or an original version.
    fn check_completeness(&mut self) {
        let mut missing = Vec::new();
        for c in &self.compositions {
            for seg in &c.segments {
                for seq in &seg.sequences {
                    for r in &seq.resources {
                        if let Some(tf) = &r.track_file_id
                            && !self.assets.contains_key(tf)
                        {
                            missing.push(PackageProblem::Incomplete {
                                cpl: c.id.clone(),
                                resource: r.id.clone(),
                                track_file: tf.clone(),
                            });
                        }
                    }
                }
            }
        }
        self.problems.extend(missing);
    }
}

/// Reads one ASSETMAP; `ov` is the original-version folder when it is one.
fn read_asset_map(
    dir: &Path,
    ov: Option<&Path>,
    problems: &mut Vec<PackageProblem>,
) -> Result<BTreeMap<AssetId, Asset>, ImfError> {
    let path = dir.join("ASSETMAP.xml");
    if !path.is_file() {
        return Err(ImfError::NoAssetMap {
            dir: dir.to_path_buf(),
        });
    }
    let root = xml::read_file(&path)?;
    let err = |line: usize, detail: String| ImfError::Xml {
        path: path.clone(),
        line,
        detail,
    };
    if root.name != "AssetMap" {
        return Err(err(
            root.line,
            format!("the root element is <{}>, not <AssetMap>", root.name),
        ));
    }
    let list = root
        .child("AssetList")
        .ok_or_else(|| err(root.line, "<AssetMap> has no <AssetList>".into()))?;
    let mut out = BTreeMap::new();
    for (i, a) in list.children_named("Asset").enumerate() {
        if i >= MAX_ASSETS {
            return Err(err(a.line, format!("more than {MAX_ASSETS} assets")));
        }
        let line = a.line;
        let mut bad = |detail: String| {
            problems.push(PackageProblem::Invalid {
                file: path.clone(),
                detail: format!("line {line}: {detail}"),
            })
        };
        let Some(id) = a.text_of("Id").and_then(AssetId::parse) else {
            bad("an <Asset> without a urn:uuid <Id>".into());
            continue;
        };
        let chunks: Vec<_> = a
            .child("ChunkList")
            .map(|l| l.children_named("Chunk").collect())
            .unwrap_or_default();
        let [chunk] = chunks.as_slice() else {
            bad(format!(
                "asset {id} has {} chunks; one is supported",
                chunks.len()
            ));
            continue;
        };
        let Some(rel) = chunk.text_of("Path") else {
            bad(format!("asset {id} has no <Path>"));
            continue;
        };
        let Some(rel) = safe_relative(rel) else {
            bad(format!(
                "asset {id}: path {rel:?} is not a relative path inside the package"
            ));
            continue;
        };
        let file = dir.join(rel);
        let missing = std::fs::symlink_metadata(&file).is_err();
        let asset = Asset {
            id: id.clone(),
            path: file.clone(),
            packing_list: matches!(a.text_of("PackingList"), Some("true" | "1")),
            original_version: ov.map(Path::to_path_buf),
        };
        if out.insert(id.clone(), asset).is_some() {
            bad(format!("asset {id} is listed twice"));
        }
        if missing {
            problems.push(PackageProblem::Invalid {
                file,
                detail: format!("missing: ASSETMAP.xml maps asset {id} to it"),
            });
        }
    }
    Ok(out)
}

fn is_xml_name(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml"))
}

/// A path from an ASSETMAP, if it stays inside the package: relative, no `..`, no URI scheme.
fn safe_relative(p: &str) -> Option<PathBuf> {
    if p.is_empty() || p.contains("://") || p.starts_with("file:") {
        return None;
    }
    let path = PathBuf::from(p);
    path.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        .then_some(path)
}

fn pkl_asset(a: &xml::Element) -> Result<PklAsset, String> {
    let id = a
        .text_of("Id")
        .and_then(AssetId::parse)
        .ok_or("an <Asset> without a urn:uuid <Id>")?;
    let size_text = a
        .text_of("Size")
        .ok_or_else(|| format!("asset {id} has no <Size>"))?;
    let size = size_text
        .parse()
        .map_err(|_| format!("asset {id}: Size {size_text:?} is not a whole number"))?;
    if let Some(alg) = a.child("HashAlgorithm").and_then(|h| h.attr("Algorithm"))
        && !alg.ends_with("#sha1")
    {
        return Err(format!(
            "asset {id}: hash algorithm {alg:?} is not SHA-1, the only one read"
        ));
    }
    let hash_text = a
        .text_of("Hash")
        .ok_or_else(|| format!("asset {id} has no <Hash>"))?;
    let sha1 = base64::engine::general_purpose::STANDARD
        .decode(hash_text)
        .ok()
        .and_then(|b| <[u8; 20]>::try_from(b).ok())
        .ok_or_else(|| format!("asset {id}: Hash {hash_text:?} is not a base64 SHA-1"))?;
    Ok(PklAsset {
        id,
        size,
        sha1,
        asset_type: a.text_of("Type").unwrap_or_default().to_string(),
        original_file_name: a.text_of("OriginalFileName").map(str::to_string),
    })
}

fn opl(root: &xml::Element, path: &Path) -> Result<OutputProfileList, ImfError> {
    let id = root
        .text_of("Id")
        .and_then(AssetId::parse)
        .ok_or_else(|| ImfError::Xml {
            path: path.to_path_buf(),
            line: root.line,
            detail: "<OutputProfileList> has no urn:uuid <Id>".into(),
        })?;
    Ok(OutputProfileList {
        id,
        path: path.to_path_buf(),
        cpl_id: root
            .text_of("CompositionPlaylistId")
            .and_then(AssetId::parse),
    })
}

/// The local name of an XML file's root element, from its first bytes only (so a large
/// non-IMF XML sidecar is never read whole). `None` when no element starts there.
fn peek_root(path: &Path) -> Result<Option<String>, ImfError> {
    use std::io::Read;
    let io = |source| ImfError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut head = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(ROOT_PEEK_BYTES)
        .read_to_end(&mut head)
        .map_err(io)?;
    let mut reader = quick_xml::Reader::from_reader(head.as_slice());
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                return Ok(std::str::from_utf8(e.local_name().as_ref())
                    .ok()
                    .map(str::to_string));
            }
            Ok(quick_xml::events::Event::Eof) | Err(_) => return Ok(None),
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_ids_compare_without_prefix_or_case() {
        let a = AssetId::parse("urn:uuid:6ED567B7-c030-46d6-9c1c-0f09bab4b962").expect("id");
        let b = AssetId::parse(" 6ed567b7-c030-46d6-9c1c-0f09bab4b962 ").expect("id");
        assert_eq!(a, b);
        assert_eq!(
            a.to_string(),
            "urn:uuid:6ed567b7-c030-46d6-9c1c-0f09bab4b962"
        );
        for bad in [
            "",
            "urn:uuid:",
            "6ed567b7-c030-46d6-9c1c-0f09bab4b96",
            "urn:uuid:6ed567b7xc030-46d6-9c1c-0f09bab4b962",
        ] {
            assert_eq!(AssetId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn asset_paths_must_stay_inside_the_package() {
        assert!(safe_relative("VIDEO.mxf").is_some());
        assert!(safe_relative("./sub/VIDEO.mxf").is_some());
        for bad in [
            "",
            "../x.mxf",
            "/etc/passwd",
            "a/../../x",
            "file:///x",
            "http://h/x",
        ] {
            assert!(safe_relative(bad).is_none(), "{bad}");
        }
    }
}
