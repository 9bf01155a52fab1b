//! Where exports go: beside the video unless the user chose a folder
//! (kept in the settings), picked in the desktop's folder dialog or typed,
//! since without an XDG desktop portal (Xvfb, bare window managers) no
//! dialog appears.
use std::path::{Path, PathBuf};

use crossbeam_channel::Receiver;
use eframe::egui;

use super::notices::Notices;

/// The export folder for `video`: the chosen one, else the video's own.
pub fn export_dir(chosen: Option<&Path>, video: &Path) -> PathBuf {
    match chosen {
        Some(dir) => dir.to_path_buf(),
        None => video.parent().map(Path::to_path_buf).unwrap_or_default(),
    }
}

/// The folder as the Export menu names it.
pub fn folder_label(chosen: Option<&Path>) -> String {
    match chosen {
        Some(dir) => dir.display().to_string(),
        None => "beside the video".into(),
    }
}

#[derive(Default)]
pub struct ExportFolder {
    dialog: Option<Receiver<Option<PathBuf>>>,
    /// The "Export folder" box while it is open: the text, and why the
    /// last one typed was refused.
    pub entry: Option<(String, Option<String>)>,
}

impl ExportFolder {
    pub fn pick(&mut self, start: Option<PathBuf>, wake: impl Fn() + Send + 'static, notices: &mut Notices) {
        let (sender, receiver) = crossbeam_channel::bounded(1);
        // The dialog blocks its caller, so it gets its own thread.
        let spawned = std::thread::Builder::new().name("glimpse-folder-dialog".into()).spawn(move || {
            let mut dialog = rfd::FileDialog::new().set_title("Export to this folder");
            if let Some(start) = start {
                dialog = dialog.set_directory(start);
            }
            let _ = sender.send(dialog.pick_folder());
            wake();
        });
        match spawned {
            Ok(_) => self.dialog = Some(receiver),
            Err(e) => notices.error(format!("cannot open the folder dialog: {e}")),
        }
    }

    /// The typed-path box, filled with the current folder.
    pub fn open_entry(&mut self, chosen: Option<&Path>) {
        let text = chosen.map(|d| d.display().to_string()).unwrap_or_default();
        self.entry.get_or_insert((text, None));
    }

    /// The dialog's answer, once it has one: the folder chosen, if any.
    pub fn poll_dialog(&mut self, notices: &mut Notices) -> Option<PathBuf> {
        let picked = self.dialog.as_ref()?.try_recv().ok()?;
        self.dialog = None;
        if picked.is_none() {
            notices.notice(
                "no folder chosen (if no dialog appeared, no XDG desktop portal is running: \
                 use File > Export > Type folder path)",
            );
        }
        picked
    }

    /// The typed-path box; the folder once one that exists is given.
    pub fn entry_window(&mut self, ctx: &egui::Context) -> Option<PathBuf> {
        let (text, problem) = self.entry.as_mut()?;
        let (mut use_it, mut close) = (false, false);
        egui::Window::new("Export folder").collapsible(false).resizable(false).show(ctx, |ui| {
            ui.label("Exports go to this folder:");
            let response = ui.add(egui::TextEdit::singleline(text).desired_width(420.0).hint_text("/path/to/folder"));
            use_it = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if let Some(problem) = problem.as_deref() {
                ui.colored_label(ui.visuals().error_fg_color, problem);
            }
            ui.horizontal(|ui| {
                use_it |= ui.button("Use this folder").on_hover_text("Exports go here from now on").clicked();
                close = ui.button("Cancel").on_hover_text("Keep the folder as it was").clicked();
            });
        });
        if close {
            self.entry = None;
            return None;
        }
        if !use_it {
            return None;
        }
        let typed = PathBuf::from(text.trim());
        // A typo must not scatter exports into a new folder: it must exist.
        match std::fs::canonicalize(&typed) {
            Ok(dir) if dir.is_dir() => {
                self.entry = None;
                Some(dir)
            }
            Ok(_) => {
                *problem = Some(format!("{} is not a folder", typed.display()));
                None
            }
            Err(e) => {
                *problem = Some(format!("{}: {e}", typed.display()));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_go_beside_the_video_unless_a_folder_was_chosen() {
        let video = Path::new("/videos/clip.mp4");
        assert_eq!(export_dir(None, video), PathBuf::from("/videos"));
        assert_eq!(export_dir(Some(Path::new("/exports")), video), PathBuf::from("/exports"));
        assert_eq!(folder_label(None), "beside the video");
        assert_eq!(folder_label(Some(Path::new("/exports"))), "/exports");
    }
}
