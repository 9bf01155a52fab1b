//! The notice area over the top of the video, where the user is looking:
//! fresh notices, every error until dismissed, and the wait for the open
//! dialog, which on a desktop without a portal never appears.
use std::time::{Duration, Instant};

use eframe::egui::{self, RichText};

use super::notices::{colour, Notices};

/// After this long without a dialog, the area says how else to open a file.
pub const DIALOG_SILENT_AFTER: Duration = Duration::from_secs(4);
const MARGIN: f32 = 8.0;
/// Wide enough for a path; narrow enough to leave most of the frame's top.
const MAX_WIDTH: f32 = 600.0;

pub const OPENING_DIALOG: &str = "Opening the file dialog…";
pub const NO_DIALOG_YET: &str = "No file dialog yet? Without a desktop portal none appears: \
     use Open by path, drop the file on the window, or start with `glimpse app FILE`.";

/// What the user asked for in the area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeAction {
    OpenByPath,
}

/// Draws the area at the top centre of `over` (the video's panel).
pub fn notice_area(
    ctx: &egui::Context,
    over: egui::Rect,
    notices: &mut Notices,
    dialog_open_for: Option<Duration>,
) -> Option<NoticeAction> {
    let now = Instant::now();
    let (shown, next_expiry) = notices.over_video(now);
    if let Some(due) = next_expiry {
        ctx.request_repaint_after(due);
    }
    if shown.is_empty() && dialog_open_for.is_none() {
        return None;
    }
    let shown: Vec<(usize, bool, String)> = shown.into_iter().map(|(i, n)| (i, n.is_error, n.text.clone())).collect();
    let (mut action, mut dismiss) = (None, None);
    let width = (over.width() - 2.0 * MARGIN).clamp(0.0, MAX_WIDTH);
    egui::Area::new(egui::Id::unique("glimpse-notice-area"))
        // Above the panels, among the windows: the Open by path box opened
        // from here comes up over it, not under.
        .order(egui::Order::Middle)
        .fixed_pos(egui::pos2(over.center().x - width / 2.0, over.top() + MARGIN))
        .constrain_to(over)
        .show(ctx, |ui| {
            ui.set_max_width(width);
            if let Some(waited) = dialog_open_for {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.set_width(width - 2.0 * MARGIN);
                    if waited < DIALOG_SILENT_AFTER {
                        ctx.request_repaint_after(DIALOG_SILENT_AFTER - waited);
                        ui.horizontal(|ui| {
                            ui.spinner();
                            ui.label(OPENING_DIALOG);
                        });
                    } else {
                        ui.add(egui::Label::new(NO_DIALOG_YET).wrap());
                        if ui.button("Open by path…").on_hover_text("Type or paste the file's path").clicked() {
                            action = Some(NoticeAction::OpenByPath);
                        }
                    }
                });
            }
            for (index, is_error, text) in &shown {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.set_width(width - 2.0 * MARGIN);
                    ui.horizontal(|ui| {
                        if ui.small_button("x").on_hover_text("Dismiss").clicked() {
                            dismiss = Some(*index);
                        }
                        ui.add(egui::Label::new(RichText::new(text).color(colour(ui, *is_error))).wrap());
                    });
                });
            }
        });
    if let Some(index) = dismiss {
        notices.dismiss(index);
    }
    action
}
