//! Questions asked before a reviewer's work is replaced: unsaved review
//! edits when another file is opened, a live session started or the window
//! closed (Save / Discard / Cancel), and a re-analysis that will replace
//! reviewed events (their verdicts are carried over; say so first).
use std::path::PathBuf;

use eframe::egui;

/// What would replace the reviewed session on screen.
#[derive(Clone, Debug, PartialEq)]
pub enum Replacing {
    Open(PathBuf),
    StartLive,
    Close,
}

/// A question the window waits on.
#[derive(Clone, Debug, PartialEq)]
pub enum Question {
    /// Unsaved review edits, and something would replace them.
    Unsaved(Replacing),
    /// A re-analysis replaces the events; `reviewed` of them have verdicts.
    Reanalyse { reviewed: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Save,
    Discard,
    Cancel,
    Reanalyse,
}

/// The question as a modal window over the app; Escape or a click beside
/// it is Cancel. `what` names the video under review.
pub fn question_ui(ctx: &egui::Context, question: &Question, what: &str) -> Option<Answer> {
    let mut answer = None;
    let modal = egui::Modal::new(egui::Id::unique("glimpse-question")).show(ctx, |ui| {
        ui.set_max_width(460.0);
        match question {
            Question::Unsaved(replacing) => {
                ui.heading("Unsaved review edits");
                let before = match replacing {
                    Replacing::Open(path) => format!(
                        "opening {}",
                        path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into())
                    ),
                    Replacing::StartLive => "starting a live session".into(),
                    Replacing::Close => "closing Glimpse".into(),
                };
                ui.label(format!(
                    "The confirmations, rejections, relabels and notes on {what} are not saved. \
                     Save them to its session file before {before}?"
                ));
                ui.add_space(8.0);
                ui.horizontal(|ui| {
                    if ui.button("Save").on_hover_text("Save the session, then go on").clicked() {
                        answer = Some(Answer::Save);
                    }
                    if ui.button("Discard").on_hover_text("Throw the unsaved edits away and go on").clicked() {
                        answer = Some(Answer::Discard);
                    }
                    if ui.button("Cancel").on_hover_text("Stay on this session").clicked() {
                        answer = Some(Answer::Cancel);
                    }
                });
            }
            Question::Reanalyse { reviewed } => {
                ui.heading("Re-analyse with these settings?");
                ui.label(format!(
                    "{reviewed} reviewed event{s} of {what}: each verdict moves to the new event that \
                     matches it (same face, overlapping interval); verdicts that match none are kept \
                     under \"Reviewed, no longer spotted\". The new session is not saved until you save it.",
                    s = if *reviewed == 1 { "" } else { "s" }
                ));
                ui.add_space(8.0);
                ui.horizontal(|ui| {
                    if ui.button("Re-analyse").on_hover_text("Analyse again; verdicts move to matching events").clicked() {
                        answer = Some(Answer::Reanalyse);
                    }
                    if ui.button("Cancel").on_hover_text("Keep the session as it is").clicked() {
                        answer = Some(Answer::Cancel);
                    }
                });
            }
        }
    });
    if answer.is_none() && modal.should_close() {
        answer = Some(Answer::Cancel);
    }
    answer
}
