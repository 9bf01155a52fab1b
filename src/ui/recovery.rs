//! Live sessions that did not close (crash, power cut): a banner offers to
//! rebuild each from its journal, off the UI thread, or to set it aside.
use std::path::PathBuf;

use crossbeam_channel::Receiver;
use eframe::egui::{self, Color32, RichText};

use super::colours::on_panel;
use super::notices::Notices;
use crate::pipeline::live_save::{recover_session, RecoveredSession};
use crate::session::journal::unfinished_journals;

#[derive(Default)]
pub struct Recovery {
    /// Journals of live sessions that did not close (found at start-up).
    unfinished: Vec<PathBuf>,
    pending: Option<Receiver<Result<RecoveredSession, String>>>,
}

impl Recovery {
    pub fn find(dir: Option<PathBuf>) -> Self {
        Self { unfinished: dir.map(|d| unfinished_journals(&d)).unwrap_or_default(), pending: None }
    }

    /// A recovery that has finished: the session saved, or why not.
    pub fn poll(&mut self) -> Option<Result<RecoveredSession, String>> {
        let result = self.pending.as_ref()?.try_recv().ok()?;
        self.pending = None;
        Some(result)
    }

    fn recover(&mut self, journal: PathBuf, wake: impl Fn() + Send + 'static, notices: &mut Notices) {
        self.unfinished.retain(|j| j != &journal);
        let (sender, receiver) = crossbeam_channel::bounded(1);
        // Replaying hours of journal takes a moment: not on the UI thread.
        let spawned = std::thread::Builder::new().name("glimpse-recover".into()).spawn(move || {
            let _ = sender.send(recover_session(&journal).map_err(|e| crate::error_text::error_chain(&e)));
            wake();
        });
        match spawned {
            Ok(_) => self.pending = Some(receiver),
            Err(e) => notices.error(format!("cannot start the recovery: {e}")),
        }
    }

    /// Sets a journal aside without deleting it (the user may change their mind).
    fn discard(&mut self, journal: PathBuf, notices: &mut Notices) {
        self.unfinished.retain(|j| j != &journal);
        let kept = journal.with_extension("journal.discarded");
        match std::fs::rename(&journal, &kept) {
            Ok(()) => notices.notice(format!("set aside as {}", kept.display())),
            Err(e) => notices.error(format!("cannot set {} aside: {e}", journal.display())),
        }
    }

    pub fn banner_ui(&mut self, ui: &mut egui::Ui, wake: impl Fn() + Send + 'static, notices: &mut Notices) {
        let Some(journal) = self.unfinished.first().cloned() else { return };
        let mut recover = None;
        ui.horizontal(|ui| {
            let amber = on_panel(Color32::from_rgb(240, 190, 80), ui.visuals().dark_mode);
            ui.label(
                RichText::new(format!(
                    "A live session did not close properly ({}). Its autosave can restore it.",
                    journal.file_name().unwrap_or_default().to_string_lossy()
                ))
                .color(amber),
            );
            if ui.add_enabled(self.pending.is_none(), egui::Button::new("Recover")).clicked() {
                recover = Some(true);
            }
            if ui.button("Set aside").on_hover_text("Renamed to .journal.discarded, not deleted").clicked() {
                recover = Some(false);
            }
        });
        match recover {
            Some(true) => self.recover(journal, wake, notices),
            Some(false) => self.discard(journal, notices),
            None => {}
        }
    }
}
