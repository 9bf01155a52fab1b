//! The question asked before a save or an export would replace files that
//! are there already: Overwrite, Keep both (numbered names) or Cancel.
use std::path::PathBuf;

use eframe::egui;

use super::exports::ExportPlan;
use crate::session::Session;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverwriteChoice {
    Overwrite,
    KeepBoth,
    Cancel,
}

/// A plan waiting for the user's answer, with the session as it was asked for.
pub struct OverwriteQuestion {
    pub plan: ExportPlan,
    pub session: Session,
    existing: Vec<PathBuf>,
    /// What "Keep both" would name the first file, shown on its button's hover.
    keep_both_example: Option<String>,
}

/// Files named in the window before "and N more".
const LISTED: usize = 8;

impl OverwriteQuestion {
    pub fn new(plan: ExportPlan, session: Session, existing: Vec<PathBuf>) -> Self {
        let keep_both_example = plan
            .numbered()
            .and_then(|n| n.items.first().and_then(|i| i.path.file_name()).map(|n| n.to_string_lossy().into_owned()));
        Self { plan, session, existing, keep_both_example }
    }

    /// The window; the answer once given (Escape cancels).
    pub fn ui(&self, ctx: &egui::Context) -> Option<OverwriteChoice> {
        let mut choice = None;
        egui::Window::new("Replace existing files?").collapsible(false).resizable(false).show(ctx, |ui| {
            let count = self.existing.len();
            ui.label(if count == 1 {
                "This file exists already:".to_string()
            } else {
                format!("{count} files exist already:")
            });
            for path in self.existing.iter().take(LISTED) {
                ui.monospace(path.display().to_string());
            }
            if count > LISTED {
                ui.label(format!("and {} more", count - LISTED));
            }
            ui.horizontal(|ui| {
                if ui.button("Overwrite").on_hover_text("Replace the files listed").clicked() {
                    choice = Some(OverwriteChoice::Overwrite);
                }
                let keep = ui.add_enabled(self.keep_both_example.is_some(), egui::Button::new("Keep both"));
                let keep = match &self.keep_both_example {
                    Some(name) => keep.on_hover_text(format!("Write the new files under numbered names ({name}, …)")),
                    None => keep.on_disabled_hover_text("no free numbered name"),
                };
                if keep.clicked() {
                    choice = Some(OverwriteChoice::KeepBoth);
                }
                if ui.button("Cancel").on_hover_text("Write nothing").clicked() {
                    choice = Some(OverwriteChoice::Cancel);
                }
            });
        });
        if choice.is_none() && ctx.input(|i| i.key_pressed(egui::Key::Escape)) {
            choice = Some(OverwriteChoice::Cancel);
        }
        choice
    }
}
