//! Writing IMF packages in tests: an ASSETMAP and a PKL with each asset's real size and SHA-1,
//! and CPLs with segments, sequences and resources.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use sha1::{Digest, Sha1};

pub fn uuid(n: u32) -> String {
    format!("urn:uuid:00000000-0000-4000-8000-{n:012x}")
}

/// A package being written: every asset goes into the ASSETMAP and the PKL (with its real
/// size and SHA-1) unless added with `unlisted`.
pub struct Imp {
    dir: PathBuf,
    assets: Vec<(String, String, Option<Vec<u8>>)>,
}

impl Imp {
    pub fn new(dir: &Path) -> Self {
        fs::create_dir_all(dir).expect("package folder");
        Self {
            dir: dir.to_path_buf(),
            assets: Vec::new(),
        }
    }

    /// Writes `bytes` as asset `n` named `name`.
    pub fn file(&mut self, n: u32, name: &str, bytes: &[u8]) -> &mut Self {
        fs::write(self.dir.join(name), bytes).expect("asset written");
        self.assets
            .push((uuid(n), name.into(), Some(bytes.to_vec())));
        self
    }

    /// An asset already in the folder (or missing on purpose): in the ASSETMAP, not the PKL.
    pub fn unlisted(&mut self, n: u32, name: &str) -> &mut Self {
        self.assets.push((uuid(n), name.into(), None));
        self
    }

    /// Writes the PKL (asset 900) and the ASSETMAP.
    pub fn finish(&self) -> PathBuf {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut pkl = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<PackingList xmlns="http://www.smpte-ra.org/schemas/2067-2/2016/PKL">
  <Id>{}</Id>
  <AssetList>
"#,
            uuid(900)
        );
        for (id, name, bytes) in &self.assets {
            let Some(bytes) = bytes else { continue };
            let kind = if name.ends_with(".xml") {
                "text/xml"
            } else {
                "application/mxf"
            };
            pkl += &format!(
                "    <Asset><Id>{id}</Id><Hash>{}</Hash><Size>{}</Size><Type>{kind}</Type>\
                 <OriginalFileName>{name}</OriginalFileName>\
                 <HashAlgorithm Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/></Asset>\n",
                b64.encode(Sha1::digest(bytes)),
                bytes.len()
            );
        }
        pkl += "  </AssetList>\n</PackingList>\n";
        fs::write(self.dir.join("PKL.xml"), pkl).expect("PKL written");
        let mut map = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<AssetMap xmlns="http://www.smpte-ra.org/schemas/429-9/2007/AM">
  <Id>{}</Id>
  <AssetList>
    <Asset><Id>{}</Id><PackingList>true</PackingList><ChunkList><Chunk><Path>PKL.xml</Path></Chunk></ChunkList></Asset>
"#,
            uuid(901),
            uuid(900)
        );
        for (id, name, _) in &self.assets {
            map += &format!(
                "    <Asset><Id>{id}</Id><ChunkList><Chunk><Path>{name}</Path></Chunk></ChunkList></Asset>\n"
            );
        }
        map += "  </AssetList>\n</AssetMap>\n";
        fs::write(self.dir.join("ASSETMAP.xml"), map).expect("ASSETMAP written");
        self.dir.clone()
    }
}

/// A resource of track file `tf` with extra fields (EditRate, IntrinsicDuration, ...).
pub fn resource(n: u32, tf: u32, fields: &str) -> String {
    format!(
        "<Resource><Id>{}</Id>{fields}<TrackFileId>{}</TrackFileId></Resource>",
        uuid(n),
        uuid(tf)
    )
}

/// A CPL with one segment per entry of `segments`, each a list of (sequence element, resources).
pub fn cpl(
    n: u32,
    title: &str,
    rate: &str,
    timecode: &str,
    segments: &[Vec<(&str, String)>],
) -> String {
    let mut xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<CompositionPlaylist xmlns="http://www.smpte-ra.org/schemas/2067-3/2016" xmlns:cc="http://www.smpte-ra.org/ns/2067-2/2020">
  <Id>{}</Id>
  <ContentTitle>{title}</ContentTitle>
  <EditRate>{rate}</EditRate>
  {timecode}
  <SegmentList>
"#,
        uuid(n)
    );
    for (i, seg) in segments.iter().enumerate() {
        xml += &format!(
            "    <Segment><Id>{}</Id><SequenceList>\n",
            uuid(0x5000_0000 + n * 100 + i as u32)
        );
        for (j, (element, resources)) in seg.iter().enumerate() {
            xml += &format!(
                "      <cc:{element}><Id>{}</Id><TrackId>{}</TrackId><ResourceList>{resources}</ResourceList></cc:{element}>\n",
                uuid(0x6000_0000 + n * 100 + j as u32),
                uuid(0x7000_0000 + n * 100 + j as u32)
            );
        }
        xml += "    </SequenceList></Segment>\n";
    }
    xml + "  </SegmentList>\n</CompositionPlaylist>\n"
}

pub fn timecode(drop: bool, rate: u32, start: &str) -> String {
    format!(
        "<CompositionTimecode><TimecodeDropFrame>{drop}</TimecodeDropFrame>\
         <TimecodeRate>{rate}</TimecodeRate><TimecodeStartAddress>{start}</TimecodeStartAddress>\
         </CompositionTimecode>"
    )
}
