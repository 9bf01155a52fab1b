//! What the window's saves and exports write, and where: one file, or for
//! "Export all" every format and the timeline PNG. The targets are planned
//! up front, so that files already there are asked about once, then
//! written one job after another off the UI thread.
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use crate::session::export::{ExportFormat, Written};
use crate::session::Session;

/// One file the window writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportKind {
    Data(ExportFormat),
    /// The timeline as on screen (a screenshot of the plot).
    TimelinePng,
    /// File ▸ Save session: the RON session beside the video.
    SaveSession,
}

impl ExportKind {
    /// "Export all": the timeline first, since it shows the screen as it
    /// was when asked; the slow video last.
    pub const ALL: [ExportKind; 7] = [
        Self::TimelinePng,
        Self::Data(ExportFormat::Csv),
        Self::Data(ExportFormat::Intervals),
        Self::Data(ExportFormat::Json),
        Self::Data(ExportFormat::Ron),
        Self::Data(ExportFormat::Eaf),
        Self::Data(ExportFormat::Video),
    ];

    fn suffix(self) -> &'static str {
        match self {
            Self::Data(format) => format.suffix(),
            Self::TimelinePng => ".timeline.png",
            Self::SaveSession => ExportFormat::Ron.suffix(),
        }
    }

    /// For the status bar and the notices: "export csv".
    pub fn what(self) -> String {
        match self {
            Self::Data(format) => format!("export {}", format.name()),
            Self::TimelinePng => "export timeline PNG".into(),
            Self::SaveSession => "save session".into(),
        }
    }
}

/// One file to write, and where.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub kind: ExportKind,
    pub path: PathBuf,
}

/// The files one menu action writes: `dir/stem<suffix>` each.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportPlan {
    pub items: Vec<Planned>,
    dir: PathBuf,
    stem: String,
}

/// "Keep both" gives up past this many numbered copies (a folder holding
/// them all is a mistake, not a reason to loop).
const MAX_COPY_NUMBER: u32 = 9999;

impl ExportPlan {
    pub fn new(kinds: &[ExportKind], dir: &Path, stem: &str) -> Self {
        let items =
            kinds.iter().map(|&kind| Planned { kind, path: dir.join(format!("{stem}{}", kind.suffix())) }).collect();
        Self { items, dir: dir.to_path_buf(), stem: stem.to_string() }
    }

    /// Targets that exist already, except `own_file`: the session file this
    /// window loaded or last saved, which a save may replace unasked.
    pub fn existing(&self, own_file: Option<&Path>) -> Vec<PathBuf> {
        self.items
            .iter()
            .filter(|item| std::fs::symlink_metadata(&item.path).is_ok())
            .filter(|item| {
                !(item.kind == ExportKind::SaveSession && own_file.is_some_and(|own| same_file(&item.path, own)))
            })
            .map(|item| item.path.clone())
            .collect()
    }

    /// "Keep both": the same files as `stem.N<suffix>`, with the first N
    /// (from 1) under which none of them exists, so the set stays together.
    pub fn numbered(&self) -> Option<Self> {
        let kinds: Vec<ExportKind> = self.items.iter().map(|item| item.kind).collect();
        (1..=MAX_COPY_NUMBER)
            .map(|n| Self::new(&kinds, &self.dir, &format!("{}.{n}", self.stem)))
            .find(|plan| plan.existing(None).is_empty())
    }
}

/// Whether two paths name one file (a relative path and an absolute one may).
fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b)
}

/// The plan being written: the session as it was when asked (every file
/// of one "Export all" shows the same review), what is left, what was
/// written and what failed.
pub struct ExportRun {
    pub session: Session,
    queue: VecDeque<Planned>,
    total: usize,
    dir: PathBuf,
    pub written: Vec<Written>,
    pub failed: Vec<String>,
}

impl ExportRun {
    pub fn new(session: Session, plan: ExportPlan) -> Self {
        let total = plan.items.len();
        Self { session, queue: plan.items.into(), total, dir: plan.dir, written: Vec::new(), failed: Vec::new() }
    }

    /// The next file to write, with its place in the run ("2/7").
    pub fn next(&mut self) -> Option<(Planned, String)> {
        let item = self.queue.pop_front()?;
        let place = format!("{}/{}", self.total - self.queue.len(), self.total);
        Some((item, place))
    }

    pub fn is_many(&self) -> bool {
        self.total > 1
    }

    /// The final notice (what was written) and error (what was not), each
    /// where there is something to say.
    pub fn summary(&self) -> (Option<String>, Option<String>) {
        let names: Vec<String> = self
            .written
            .iter()
            .map(|w| {
                let name = w.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                match w.codec {
                    Some(codec) => format!("{name} ({codec})"),
                    None => name,
                }
            })
            .collect();
        let notice = match self.written.as_slice() {
            [] => None,
            [one] if !self.is_many() => Some(format!("wrote {one}")),
            _ => Some(format!(
                "exported {} of {} files to {}: {}",
                self.written.len(),
                self.total,
                self.dir.display(),
                names.join(", ")
            )),
        };
        let error = (!self.failed.is_empty()).then(|| self.failed.join("; "));
        (notice, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::export::VideoCodec;

    #[test]
    fn keep_both_numbers_the_whole_set_past_every_existing_copy() {
        let dir = crate::files::scratch_dir("ui-export-plan");
        let plan = ExportPlan::new(&ExportKind::ALL, &dir, "clip");
        assert_eq!(plan.items[0].path, dir.join("clip.timeline.png"));
        assert_eq!(plan.items[6].path, dir.join("clip.annotated.mp4"));
        assert!(plan.existing(None).is_empty());
        std::fs::write(dir.join("clip.frames.csv"), "earlier").expect("write");
        std::fs::write(dir.join("clip.1.eaf"), "an earlier copy").expect("write");
        assert_eq!(plan.existing(None), [dir.join("clip.frames.csv")]);
        // clip.1.* is taken by one file of the set: the set moves to clip.2.
        let numbered = plan.numbered().expect("a free number");
        let names: Vec<String> =
            numbered.items.iter().map(|i| i.path.file_name().expect("name").to_string_lossy().into_owned()).collect();
        assert_eq!(
            names,
            [
                "clip.2.timeline.png",
                "clip.2.frames.csv",
                "clip.2.intervals.csv",
                "clip.2.session.json",
                "clip.2.session.ron",
                "clip.2.eaf",
                "clip.2.annotated.mp4"
            ]
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_save_over_the_sessions_own_file_is_not_a_conflict_but_any_other_file_is() {
        let dir = crate::files::scratch_dir("ui-export-own");
        let own = dir.join("clip.session.ron");
        std::fs::write(&own, "loaded from here").expect("write");
        let save = ExportPlan::new(&[ExportKind::SaveSession], &dir, "clip");
        assert!(save.existing(Some(&own)).is_empty());
        assert_eq!(save.existing(None), std::slice::from_ref(&own));
        // The RON export of the same name is a copy: it is asked about.
        let export = ExportPlan::new(&[ExportKind::Data(ExportFormat::Ron)], &dir, "clip");
        assert_eq!(export.existing(Some(&own)), [own]);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_run_goes_in_order_and_sums_up_what_it_wrote_and_what_failed() {
        let dir = PathBuf::from("/out");
        let kinds = [ExportKind::Data(ExportFormat::Csv), ExportKind::Data(ExportFormat::Video)];
        let mut run = ExportRun::new(Session::default(), ExportPlan::new(&kinds, &dir, "clip"));
        let (first, place) = run.next().expect("first");
        assert_eq!((first.kind, place.as_str()), (kinds[0], "1/2"));
        run.written.push(Written { path: first.path, codec: None });
        let (second, place) = run.next().expect("second");
        assert_eq!(place, "2/2");
        run.written.push(Written { path: second.path, codec: Some(VideoCodec::H264) });
        assert!(run.next().is_none());
        let (notice, error) = run.summary();
        assert_eq!(
            notice.as_deref(),
            Some("exported 2 of 2 files to /out: clip.frames.csv, clip.annotated.mp4 (H.264)")
        );
        assert_eq!(error, None);
        run.failed.push("export eaf failed: disk full".into());
        assert_eq!(run.summary().1.as_deref(), Some("export eaf failed: disk full"));
    }
}
