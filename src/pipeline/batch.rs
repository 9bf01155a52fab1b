//! Many inputs in one run (`glimpse analyze` over folders and lists): which
//! files, which share of them this process takes (a cluster's job array
//! splits one list), which are already done (a stopped batch resumes), and
//! the summary at the end.
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::session::export::{export_path, ExportFormat};

/// Extensions taken for videos when a folder is given.
pub const VIDEO_EXTENSIONS: [&str; 10] = ["mp4", "avi", "mov", "mkv", "m4v", "webm", "mpg", "mpeg", "wmv", "flv"];

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("{path}: cannot be read: {reason}")]
    Read { path: PathBuf, reason: std::io::Error },
    #[error("{path}: line {line}: {problem}")]
    List { path: PathBuf, line: usize, problem: String },
    #[error("--shard must be INDEX/COUNT with 0 <= INDEX < COUNT, e.g. 3/8; got {0:?}")]
    Shard(String),
    #[error("{first} and {second} would both write {stem}.* to {dir}; give them different names or --out folders")]
    Collision { first: PathBuf, second: PathBuf, dir: PathBuf, stem: String },
    #[error("no input given (the list is empty)")]
    Empty,
}

pub(crate) fn is_video(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// What a folder run must not take for an input: Glimpse's own annotated
/// videos (analysing one finds its overlays and writes
/// `a.annotated.annotated.mp4`, growing each run) and hidden files, which
/// is what a killed export's temporary is (`.a.annotated.mp4.123.tmp.mp4`).
pub(crate) fn is_own_output_or_hidden(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    name.starts_with('.') || name.to_ascii_lowercase().ends_with(ExportFormat::Video.suffix())
}

/// One line of a list file: the path, without a UTF-8 byte-order mark
/// (Windows editors write one), surrounding blanks, or a trailing
/// `  # note` (a `#` after a blank; a `#` inside a name stays).
fn list_entry(line: &str, first: bool) -> Option<&str> {
    let line = if first { line.trim_start_matches('\u{feff}') } else { line };
    let line =
        match line.char_indices().find(|&(i, c)| c == '#' && (i == 0 || line[..i].ends_with(char::is_whitespace))) {
            Some((i, _)) => &line[..i],
            None => line,
        };
    let line = line.trim();
    (!line.is_empty()).then_some(line)
}

/// The inputs named on the command line and in `list`, with each folder
/// that holds videos replaced by its videos (sorted); a folder without
/// videos stays one input (a folder of numbered frames). Missing paths
/// stay too: they fail on their own, with their name, in the summary.
pub fn expand_inputs(inputs: &[PathBuf], list: Option<&Path>) -> Result<Vec<PathBuf>, BatchError> {
    let mut named = inputs.to_vec();
    if let Some(list) = list {
        let text =
            std::fs::read_to_string(list).map_err(|reason| BatchError::Read { path: list.to_path_buf(), reason })?;
        for (i, line) in text.lines().enumerate() {
            let Some(line) = list_entry(line, i == 0) else { continue };
            if line.contains('\0') {
                return Err(BatchError::List { path: list.to_path_buf(), line: i + 1, problem: "a NUL byte".into() });
            }
            named.push(PathBuf::from(line));
        }
    }
    let mut expanded = Vec::new();
    for input in named {
        if input.is_dir() {
            let entries =
                std::fs::read_dir(&input).map_err(|reason| BatchError::Read { path: input.clone(), reason })?;
            let mut videos: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && is_video(p) && !is_own_output_or_hidden(p))
                .collect();
            if videos.is_empty() {
                expanded.push(input);
            } else {
                videos.sort();
                expanded.extend(videos);
            }
        } else {
            expanded.push(input);
        }
    }
    if expanded.is_empty() {
        return Err(BatchError::Empty);
    }
    Ok(expanded)
}

/// `"3/8"` → (3, 8).
pub fn parse_shard(text: &str) -> Result<(usize, usize), BatchError> {
    let parsed = text.split_once('/').and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((index, count)) if count > 0 && index < count => Ok((index, count)),
        _ => Err(BatchError::Shard(text.to_string())),
    }
}

/// Share `index` of `count`: every `count`-th input from `index`. The same
/// list gives every process a different, fixed share.
pub fn take_shard(inputs: Vec<PathBuf>, index: usize, count: usize) -> Vec<PathBuf> {
    inputs.into_iter().enumerate().filter(|(i, _)| i % count == index).map(|(_, p)| p).collect()
}

/// One input and where its outputs go.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub input: PathBuf,
    pub dir: PathBuf,
    pub stem: String,
    /// Every requested output is already there (each is written
    /// atomically, so being there means being complete).
    pub done: bool,
}

/// Where `input`'s outputs go: `out` or beside the input, named after it.
pub fn output_place(input: &Path, out: Option<&Path>) -> (PathBuf, String) {
    let stem = input.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "session".into());
    let dir = match out {
        Some(dir) => dir.to_path_buf(),
        None => input.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    (dir, stem)
}

/// A folder as the file system knows it: canonical when it exists, else
/// absolute, so two spellings of one folder compare equal.
fn real_dir(dir: &Path) -> PathBuf {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    std::fs::canonicalize(dir).or_else(|_| std::path::absolute(dir)).unwrap_or_else(|_| dir.to_path_buf())
}

/// Plans the batch, refusing one where two inputs would overwrite each
/// other's outputs.
pub fn plan(inputs: &[PathBuf], out: Option<&Path>, formats: &[ExportFormat]) -> Result<Vec<Planned>, BatchError> {
    let mut planned: Vec<Planned> = Vec::with_capacity(inputs.len());
    for input in inputs {
        let (dir, stem) = output_place(input, out);
        // The same folder however it is written (`./coll`, `/abs/coll`, a link).
        let real = real_dir(&dir);
        if let Some(other) = planned.iter().find(|p| p.stem == stem && real_dir(&p.dir) == real) {
            return Err(BatchError::Collision { first: other.input.clone(), second: input.clone(), dir, stem });
        }
        let done = !formats.is_empty() && formats.iter().all(|&f| export_path(&dir, &stem, f).is_file());
        planned.push(Planned { input: input.clone(), dir, stem, done });
    }
    Ok(planned)
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Analysed,
    /// Its outputs were there already.
    Skipped,
    Failed,
}

/// What became of one input.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub input: String,
    pub status: Status,
    pub frames: u64,
    pub media_s: f64,
    pub events: usize,
    pub wall_s: f64,
    /// The error, for a failed input.
    pub error: Option<String>,
}

/// The table printed at the end of a batch.
pub fn summary_table(outcomes: &[Outcome]) -> String {
    let mut out =
        format!("{:<40} {:<9} {:>8} {:>9} {:>7} {:>8}\n", "input", "status", "frames", "media s", "events", "wall s");
    for o in outcomes {
        let status = match o.status {
            Status::Analysed => "analysed",
            Status::Skipped => "skipped",
            Status::Failed => "FAILED",
        };
        out += &format!(
            "{:<40} {:<9} {:>8} {:>9.1} {:>7} {:>8.1}\n",
            shorten(&o.input, 40),
            status,
            o.frames,
            o.media_s,
            o.events,
            o.wall_s
        );
        if let Some(error) = &o.error {
            out += &format!("    {error}\n");
        }
    }
    let count = |s: Status| outcomes.iter().filter(|o| o.status == s).count();
    out += &format!(
        "{} inputs: {} analysed, {} skipped (already done), {} failed",
        outcomes.len(),
        count(Status::Analysed),
        count(Status::Skipped),
        count(Status::Failed)
    );
    out
}

/// The end of a long path, which is the part that tells files apart.
pub(crate) fn shorten(text: &str, width: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= width {
        text.to_string()
    } else {
        format!("…{}", chars[chars.len() - (width - 1)..].iter().collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        crate::files::scratch_dir(&format!("batch-{name}"))
    }

    #[test]
    fn a_folder_run_skips_our_own_outputs_and_hidden_temporaries() {
        let dir = scratch("own-outputs");
        for name in ["a.mp4", "a.annotated.mp4", "B.ANNOTATED.MP4", ".a.annotated.mp4.4242.tmp.mp4", "c.avi"] {
            std::fs::write(dir.join(name), b"").expect("file");
        }
        let inputs = expand_inputs(std::slice::from_ref(&dir), None).expect("expands");
        assert_eq!(inputs, vec![dir.join("a.mp4"), dir.join("c.avi")]);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn list_files_may_have_a_bom_and_notes_after_a_path() {
        let dir = scratch("list-notes");
        let list = dir.join("list.txt");
        std::fs::write(&list, "\u{feff}/data/a.mp4\n/data/b.mp4  # second interview\n/data/c#1.mp4\n\t# only a note\n")
            .expect("list");
        let inputs = expand_inputs(&[], Some(&list)).expect("expands");
        assert_eq!(
            inputs,
            vec![PathBuf::from("/data/a.mp4"), PathBuf::from("/data/b.mp4"), PathBuf::from("/data/c#1.mp4")]
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn two_spellings_of_one_folder_are_one_place() {
        let dir = scratch("real-paths");
        let coll = dir.join("coll");
        std::fs::create_dir_all(&coll).expect("dir");
        let relative = {
            let cwd = std::env::current_dir().expect("cwd");
            let up = cwd.components().count();
            // `../../..` up to the root, then down to coll: text unlike the absolute path.
            let mut p = PathBuf::new();
            for _ in 0..up {
                p.push("..");
            }
            p.join(coll.strip_prefix("/").expect("absolute")).join(".").join("X.mp4")
        };
        let absolute = coll.join("X.avi");
        let err = plan(&[relative, absolute], None, &[ExportFormat::Csv]).expect_err("one place");
        assert!(matches!(err, BatchError::Collision { .. }), "{err}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn folders_of_videos_expand_and_folders_of_frames_stay_one_input() {
        let dir = scratch("expand");
        let videos = dir.join("videos");
        let frames = dir.join("frames");
        std::fs::create_dir_all(&videos).expect("dir");
        std::fs::create_dir_all(&frames).expect("dir");
        for name in ["b.mp4", "a.AVI", "notes.txt"] {
            std::fs::write(videos.join(name), b"").expect("file");
        }
        std::fs::write(frames.join("000001.png"), b"").expect("file");
        let list = dir.join("list.txt");
        std::fs::write(&list, format!("# interviews\n\n{}\n  /data/missing.mp4  \n", frames.display())).expect("list");
        let inputs = expand_inputs(std::slice::from_ref(&videos), Some(&list)).expect("expands");
        assert_eq!(
            inputs,
            vec![videos.join("a.AVI"), videos.join("b.mp4"), frames.clone(), PathBuf::from("/data/missing.mp4")]
        );
        let empty = dir.join("empty.txt");
        std::fs::write(&empty, "# nothing yet\n").expect("list");
        assert!(matches!(expand_inputs(&[], Some(&empty)), Err(BatchError::Empty)));
        let err = expand_inputs(&[], Some(&dir.join("nope.txt"))).expect_err("missing list").to_string();
        assert!(err.contains("nope.txt"), "{err}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn shards_split_a_list_into_disjoint_fixed_shares() {
        assert_eq!(parse_shard("3/8").expect("valid"), (3, 8));
        for bad in ["8/8", "1/0", "x/2", "2", "-1/4"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
        let inputs: Vec<PathBuf> = (0..10).map(|i| PathBuf::from(format!("{i}.mp4"))).collect();
        let shares: Vec<Vec<PathBuf>> = (0..3).map(|k| take_shard(inputs.clone(), k, 3)).collect();
        assert_eq!(shares.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 3, 3]);
        let mut all: Vec<PathBuf> = shares.concat();
        all.sort();
        let mut expected = inputs.clone();
        expected.sort();
        assert_eq!(all, expected, "every input in exactly one share");
    }

    #[test]
    fn an_input_with_every_output_present_is_done_and_collisions_are_refused() {
        let dir = scratch("plan");
        let formats = [ExportFormat::Ron, ExportFormat::Csv];
        std::fs::write(dir.join("a.session.ron"), "()").expect("file");
        std::fs::write(dir.join("a.frames.csv"), "").expect("file");
        std::fs::write(dir.join("b.session.ron"), "()").expect("file");
        let inputs = [PathBuf::from("/in/a.mp4"), PathBuf::from("/in/b.mp4")];
        let planned = plan(&inputs, Some(&dir), &formats).expect("plans");
        assert!(planned[0].done, "both outputs there");
        assert!(!planned[1].done, "its CSV is missing: analysed again");
        let clash = [PathBuf::from("/in/a.mp4"), PathBuf::from("/other/a.avi")];
        let err = plan(&clash, Some(&dir), &formats).expect_err("collision").to_string();
        assert!(err.contains("/in/a.mp4") && err.contains("/other/a.avi"), "{err}");
        // Beside each input, the same stems do not collide.
        assert!(plan(&clash, None, &formats).is_ok());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn the_summary_counts_and_names_failures() {
        let outcome = |input: &str, status, error: Option<&str>| Outcome {
            input: input.into(),
            status,
            frames: 360,
            media_s: 12.0,
            events: 4,
            wall_s: 3.0,
            error: error.map(String::from),
        };
        let table = summary_table(&[
            outcome("a.mp4", Status::Analysed, None),
            outcome("b.mp4", Status::Skipped, None),
            outcome("c.mp4", Status::Failed, Some("c.mp4: cannot be opened as a video")),
        ]);
        assert!(table.contains("FAILED") && table.contains("c.mp4: cannot be opened"), "{table}");
        assert!(table.ends_with("3 inputs: 1 analysed, 1 skipped (already done), 1 failed"), "{table}");
        assert_eq!(shorten("/very/long/path/to/interview.mp4", 16), "…o/interview.mp4");
    }
}
