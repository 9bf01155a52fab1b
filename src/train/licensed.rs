//! The licensed micro-expression data sets in their published folder
//! layouts, with their coding sheets exported to CSV, read into clips of
//! frame paths with onset, apex and offset and a MEGC class.
//!
//! Layouts (each `--casme2` / `--samm` / `--smic` folder holds the frame
//! folder below and, for CASME II and SAMM, the coding sheet as the one
//! `*.csv` file at its top level):
//!
//! - CASME II: `CASME2_RAW_selected/subXX/EPxx_xx/img{N}.jpg`; sheet
//!   columns `Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame,
//!   Estimated Emotion` (frame numbers are the `N` of `img{N}`).
//! - SAMM: `SAMM/006/006_1_2/006_05562.jpg`; sheet columns `Subject,
//!   Filename, Onset Frame, Apex Frame, Offset Frame, Estimated Emotion`
//!   (frame numbers are the digits after the last `_`). Title rows above
//!   the header (as in the published sheet) are skipped.
//! - SMIC-HS: `HS/s1/micro/{negative,positive,surprise}/s1_ne_01/*.bmp`:
//!   the class is the folder; onset is the first frame, offset the last,
//!   apex the middle one (no sheet).
//!
//! Classes follow MEGC2019's composite set: negative = repression, anger,
//! contempt, disgust, fear, sadness (and SMIC's `negative`); positive =
//! happiness (and SMIC's `positive`); surprise = surprise. Everything else
//! (`others`, `other`, `tense`, ...) is dropped and counted.
//!
//! Sampling: [`sample_indices`] picks `FRAMES` frames evenly over
//! onset..=offset, as MOL's clips are eight frames from onset to offset.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::mol_sequences::FRAMES;

/// The MEGC classes, in label order.
pub const CLASSES: [&str; 3] = ["negative", "positive", "surprise"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Corpus {
    Casme2,
    Samm,
    Smic,
}

impl Corpus {
    pub const ALL: [Corpus; 3] = [Corpus::Casme2, Corpus::Samm, Corpus::Smic];

    /// The data set's name in fold keys (`casme2/sub01`), as the composite set.
    pub fn name(self) -> &'static str {
        match self {
            Corpus::Casme2 => "casme2",
            Corpus::Samm => "samm",
            Corpus::Smic => "smic",
        }
    }

    /// The frame folder inside the data set's folder.
    pub fn frame_folder(self) -> &'static str {
        match self {
            Corpus::Casme2 => "CASME2_RAW_selected",
            Corpus::Samm => "SAMM",
            Corpus::Smic => "HS",
        }
    }

    /// The sheet's columns: subject, clip, onset, apex, offset, emotion.
    fn columns(self) -> [&'static str; 6] {
        match self {
            Corpus::Casme2 => ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Estimated Emotion"],
            _ => ["Subject", "Filename", "Onset Frame", "Apex Frame", "Offset Frame", "Estimated Emotion"],
        }
    }

    /// Frame file extensions.
    fn extensions(self) -> &'static [&'static str] {
        match self {
            Corpus::Smic => &["bmp", "jpg", "png"],
            _ => &["jpg", "jpeg", "png", "bmp"],
        }
    }
}

/// MEGC2019's class of an emotion label, `None` for the dropped ones.
pub fn megc_class(emotion: &str) -> Option<usize> {
    match emotion.trim().to_ascii_lowercase().as_str() {
        "negative" | "repression" | "anger" | "contempt" | "disgust" | "fear" | "sadness" => Some(0),
        "positive" | "happiness" => Some(1),
        "surprise" => Some(2),
        _ => None,
    }
}

/// One labelled clip: every frame of it on disk, in frame-number order.
#[derive(Clone, Debug, PartialEq)]
pub struct Clip {
    pub corpus: Corpus,
    pub subject: String,
    pub name: String,
    pub emotion: String,
    pub label: usize,
    pub folder: PathBuf,
    /// (frame number, path), sorted by number.
    pub frames: Vec<(u64, PathBuf)>,
    /// Indices into `frames`.
    pub onset: usize,
    pub apex: usize,
    pub offset: usize,
}

impl Clip {
    /// The LOSO fold: data set / subject.
    pub fn fold_key(&self) -> String {
        format!("{}/{}", self.corpus.name(), self.subject)
    }

    /// The `FRAMES` sampled frames' paths.
    pub fn sampled(&self) -> Vec<&Path> {
        sample_indices(self.onset, self.offset).into_iter().map(|i| self.frames[i].1.as_path()).collect()
    }
}

/// `FRAMES` indices evenly spaced over `onset..=offset` (rounded; repeated
/// when the clip is shorter than that).
pub fn sample_indices(onset: usize, offset: usize) -> Vec<usize> {
    let span = offset.saturating_sub(onset) as f64;
    (0..FRAMES).map(|i| onset + (span * i as f64 / (FRAMES - 1) as f64).round() as usize).collect()
}

/// A data set read: its clips and what was dropped.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    pub clips: Vec<Clip>,
    /// Emotion label -> rows dropped (no MEGC class).
    pub dropped: BTreeMap<String, usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum LicensedError {
    #[error("{path}: {problem}")]
    Folder { path: PathBuf, problem: String },
    #[error("{path}: {problem}")]
    Sheet { path: PathBuf, problem: String },
    #[error("{path}, line {line}: {problem}")]
    Row { path: PathBuf, line: usize, problem: String },
}

fn folder_error(path: &Path, problem: impl Into<String>) -> LicensedError {
    LicensedError::Folder { path: path.to_path_buf(), problem: problem.into() }
}

/// Reads one data set from its folder.
pub fn load(corpus: Corpus, root: &Path) -> Result<Loaded, LicensedError> {
    if !root.is_dir() {
        return Err(folder_error(root, format!("the {} folder is missing", corpus.name())));
    }
    let frames_root = root.join(corpus.frame_folder());
    if !frames_root.is_dir() {
        return Err(folder_error(&frames_root, format!("missing: the {} frames are expected here", corpus.name())));
    }
    match corpus {
        Corpus::Smic => load_smic(&frames_root),
        _ => {
            let sheet = find_sheet(root)?;
            load_with_sheet(corpus, &frames_root, &sheet)
        }
    }
}

/// The one `*.csv` file at the top of `root`.
pub fn find_sheet(root: &Path) -> Result<PathBuf, LicensedError> {
    let entries = std::fs::read_dir(root).map_err(|e| folder_error(root, format!("cannot list it: {e}")))?;
    let mut sheets: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv")))
        .collect();
    sheets.sort();
    match sheets.len() {
        1 => Ok(sheets.remove(0)),
        0 => Err(folder_error(root, "no coding sheet: export it to CSV and put it here (one *.csv file)")),
        n => Err(folder_error(root, format!("{n} CSV files: the coding sheet must be the only one"))),
    }
}

/// One CSV line split into fields (double quotes group, `""` escapes).
fn split_csv(line: &str) -> Vec<String> {
    let (mut fields, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields.into_iter().map(|f| f.trim().to_string()).collect()
}

/// The frames of a clip folder: (number, path) sorted by number; the
/// number is the last run of digits in the file stem.
pub fn clip_frames(folder: &Path, extensions: &[&str]) -> Result<Vec<(u64, PathBuf)>, LicensedError> {
    let entries = std::fs::read_dir(folder).map_err(|e| folder_error(folder, format!("cannot list it: {e}")))?;
    let mut frames = Vec::new();
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        let ext_ok = path
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| extensions.iter().any(|e| e.eq_ignore_ascii_case(x)));
        if !ext_ok || !path.is_file() {
            continue;
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let digits: String = stem
            .chars()
            .rev()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if let Ok(number) = digits.parse::<u64>() {
            frames.push((number, path));
        }
    }
    frames.sort();
    if frames.is_empty() {
        return Err(folder_error(folder, format!("no frames ({} files with a frame number)", extensions.join("/"))));
    }
    Ok(frames)
}

/// The subject's folder name from the sheet's `Subject` cell.
fn subject_folder(corpus: Corpus, subject: &str) -> String {
    let number = subject.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    match (corpus, number.parse::<u32>()) {
        (Corpus::Casme2, Ok(n)) => format!("sub{n:02}"),
        (Corpus::Samm, Ok(n)) => format!("{n:03}"),
        _ => subject.to_string(),
    }
}

fn load_with_sheet(corpus: Corpus, frames_root: &Path, sheet: &Path) -> Result<Loaded, LicensedError> {
    let text = std::fs::read_to_string(sheet)
        .map_err(|e| LicensedError::Sheet { path: sheet.to_path_buf(), problem: format!("cannot read it: {e}") })?;
    let lines: Vec<&str> = text.lines().collect();
    let wanted = corpus.columns();
    let normal = |s: &str| s.trim().trim_start_matches('\u{feff}').to_ascii_lowercase();
    // The header: the first line naming the subject and file columns.
    let header_line = lines
        .iter()
        .position(|l| {
            let cells: Vec<String> = split_csv(l).iter().map(|c| normal(c)).collect();
            cells.contains(&normal(wanted[0])) && cells.contains(&normal(wanted[1]))
        })
        .ok_or_else(|| LicensedError::Sheet {
            path: sheet.to_path_buf(),
            problem: format!("no header line with the columns `{}` and `{}`", wanted[0], wanted[1]),
        })?;
    let header: Vec<String> = split_csv(lines[header_line]).iter().map(|c| normal(c)).collect();
    let mut index = [0usize; 6];
    for (slot, name) in index.iter_mut().zip(wanted) {
        *slot = header.iter().position(|h| *h == normal(name)).ok_or_else(|| LicensedError::Sheet {
            path: sheet.to_path_buf(),
            problem: format!("the column `{name}` is missing (expected {})", wanted.join(", ")),
        })?;
    }
    let mut loaded = Loaded::default();
    for (offset, line) in lines.iter().enumerate().skip(header_line + 1) {
        let line_no = offset + 1;
        let row_error = |problem: String| LicensedError::Row { path: sheet.to_path_buf(), line: line_no, problem };
        let cells = split_csv(line);
        if cells.iter().all(|c| c.is_empty()) {
            continue;
        }
        let cell = |k: usize| cells.get(index[k]).map(String::as_str).unwrap_or("");
        let (subject, name, emotion) = (cell(0), cell(1), cell(5));
        if subject.is_empty() || name.is_empty() {
            return Err(row_error("no subject or no file name".into()));
        }
        let Some(label) = megc_class(emotion) else {
            *loaded.dropped.entry(emotion.to_ascii_lowercase()).or_default() += 1;
            continue;
        };
        let number = |k: usize| cell(k).parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0).map(|v| v as u64);
        let onset = number(2).ok_or_else(|| row_error(format!("onset frame `{}` is not a frame number", cell(2))))?;
        let subject_dir = subject_folder(corpus, subject);
        let folder = frames_root.join(&subject_dir).join(name);
        if !folder.is_dir() {
            return Err(row_error(format!("the clip's folder {} is missing", folder.display())));
        }
        let frames = clip_frames(&folder, corpus.extensions()).map_err(|e| row_error(e.to_string()))?;
        let find = |n: u64| frames.iter().position(|(k, _)| *k == n);
        let onset_at = find(onset)
            .ok_or_else(|| row_error(format!("onset frame {onset} is not among the frames in {}", folder.display())))?;
        // SAMM marks a few offsets unknown (-1): the clip then runs to its last frame.
        let offset_at = match number(4).filter(|&n| n > onset) {
            Some(n) => find(n).ok_or_else(|| {
                row_error(format!("offset frame {n} is not among the frames in {}", folder.display()))
            })?,
            None => frames.len() - 1,
        };
        // CASME II marks a few apexes unknown (`/`): the middle frame then.
        let apex_at = number(3).and_then(find).filter(|a| (onset_at..=offset_at).contains(a));
        let apex_at = apex_at.unwrap_or((onset_at + offset_at) / 2);
        loaded.clips.push(Clip {
            corpus,
            subject: subject_dir,
            name: name.to_string(),
            emotion: emotion.to_string(),
            label,
            folder,
            frames,
            onset: onset_at,
            apex: apex_at,
            offset: offset_at,
        });
    }
    if loaded.clips.is_empty() {
        return Err(LicensedError::Sheet {
            path: sheet.to_path_buf(),
            problem: format!("no clip with a MEGC class (dropped: {:?})", loaded.dropped),
        });
    }
    Ok(loaded)
}

fn sorted_dirs(folder: &Path) -> Result<Vec<PathBuf>, LicensedError> {
    let entries = std::fs::read_dir(folder).map_err(|e| folder_error(folder, format!("cannot list it: {e}")))?;
    let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
    dirs.sort();
    Ok(dirs)
}

fn load_smic(frames_root: &Path) -> Result<Loaded, LicensedError> {
    let mut loaded = Loaded::default();
    for subject in sorted_dirs(frames_root)? {
        let micro = subject.join("micro");
        if !micro.is_dir() {
            return Err(folder_error(&micro, "missing (SMIC-HS keeps each subject's clips under micro/)"));
        }
        let subject_name = subject.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        for class_dir in sorted_dirs(&micro)? {
            let class_name = class_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let Some(label) = megc_class(&class_name) else {
                *loaded.dropped.entry(class_name.to_ascii_lowercase()).or_default() += sorted_dirs(&class_dir)?.len();
                continue;
            };
            for folder in sorted_dirs(&class_dir)? {
                let frames = clip_frames(&folder, Corpus::Smic.extensions())?;
                let offset = frames.len() - 1;
                loaded.clips.push(Clip {
                    corpus: Corpus::Smic,
                    subject: subject_name.clone(),
                    name: folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                    emotion: class_name.clone(),
                    label,
                    folder,
                    frames,
                    onset: 0,
                    apex: offset / 2,
                    offset,
                });
            }
        }
    }
    if loaded.clips.is_empty() {
        return Err(folder_error(frames_root, "no clips under {subject}/micro/{negative,positive,surprise}/"));
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system's temporary one.
    pub(crate) fn fresh_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("glimpse-licensed-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temporary folder");
        dir
    }

    fn touch_frames(folder: &Path, names: impl IntoIterator<Item = String>) {
        std::fs::create_dir_all(folder).expect("mkdir");
        for name in names {
            std::fs::write(folder.join(name), b"x").expect("write");
        }
    }

    #[test]
    fn casme2_sheet_classes_frames_and_errors() {
        let dir = fresh_dir("casme2");
        let root = dir.as_path();
        let frames = root.join("CASME2_RAW_selected");
        touch_frames(&frames.join("sub01/EP02_01f"), (46..=60).map(|n| format!("img{n}.jpg")));
        touch_frames(&frames.join("sub02/EP03_02"), (1..=9).map(|n| format!("img{n}.jpg")));
        let sheet = "Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Action Units,Estimated Emotion\n\
                     01,EP02_01f,46,52,60,4,disgust\n\
                     2,EP03_02,1,/,9,12,happiness\n\
                     2,EP09_09,1,2,3,12,others\n";
        std::fs::write(root.join("coding.csv"), sheet).expect("sheet");
        let loaded = load(Corpus::Casme2, root).expect("loads");
        assert_eq!(loaded.clips.len(), 2);
        assert_eq!(loaded.dropped.get("others"), Some(&1));
        let first = &loaded.clips[0];
        assert_eq!((first.fold_key().as_str(), first.label), ("casme2/sub01", 0));
        assert_eq!((first.frames[first.onset].0, first.frames[first.apex].0, first.frames[first.offset].0), (46, 52, 60));
        let second = &loaded.clips[1];
        assert_eq!((second.label, second.apex), (1, 4), "unknown apex: the middle");
        assert_eq!(sample_indices(0, 14), vec![0, 2, 4, 6, 8, 10, 12, 14]);
        assert_eq!(first.sampled().len(), FRAMES);

        // A listed clip without frames.
        std::fs::create_dir_all(frames.join("sub02/EP04_01")).expect("mkdir");
        std::fs::write(root.join("coding.csv"), format!("{sheet}2,EP04_01,1,2,3,4,surprise\n")).expect("sheet");
        let message = load(Corpus::Casme2, root).expect_err("no frames").to_string();
        assert!(message.contains("line 5") && message.contains("EP04_01") && message.contains("no frames"), "{message}");
        // A missing column.
        std::fs::write(root.join("coding.csv"), "Subject,Filename,OnsetFrame,ApexFrame,Estimated Emotion\n").expect("sheet");
        let message = load(Corpus::Casme2, root).expect_err("column").to_string();
        assert!(message.contains("coding.csv") && message.contains("`OffsetFrame` is missing"), "{message}");
        // A missing folder.
        let message = load(Corpus::Samm, root).expect_err("no SAMM").to_string();
        assert!(message.contains("SAMM") && message.contains("missing"), "{message}");
        let message = load(Corpus::Smic, &root.join("nowhere")).expect_err("no folder").to_string();
        assert!(message.contains("nowhere") && message.contains("missing"), "{message}");
    }

    #[test]
    fn samm_title_rows_and_smic_folders() {
        let dir = fresh_dir("samm-smic");
        let root = dir.as_path();
        touch_frames(&root.join("SAMM/006/006_1_2"), (5562..5580).map(|n| format!("006_{n:05}.jpg")));
        let sheet = "SAMM coding,,,,,,\n,,,,,,\n\
                     Subject,Filename,Inducement Code,Onset Frame,Apex Frame,Offset Frame,Estimated Emotion\n\
                     006,006_1_2,1,5562,5570,-1,Anger\n";
        std::fs::write(root.join("SAMM_Micro_FACS_Codes_v2.csv"), sheet).expect("sheet");
        let loaded = load(Corpus::Samm, root).expect("loads");
        let clip = &loaded.clips[0];
        assert_eq!((clip.fold_key().as_str(), clip.label, clip.offset), ("samm/006", 0, 17));
        assert_eq!(clip.frames[clip.apex].0, 5570);

        touch_frames(&root.join("HS/s1/micro/positive/s1_po_01"), (1..=5).map(|n| format!("reg_image{n:06}.bmp")));
        touch_frames(&root.join("HS/s1/micro/surprise/s1_sur_01"), (10..=20).map(|n| format!("image{n:06}.bmp")));
        let smic = load(Corpus::Smic, root).expect("smic");
        assert_eq!(smic.clips.len(), 2);
        assert_eq!((smic.clips[0].label, smic.clips[0].apex, smic.clips[1].label), (1, 2, 2));
        assert_eq!(smic.clips[1].fold_key(), "smic/s1");
    }
}
