//! Errors and notices: kept, newest last, until the user dismisses them,
//! so nothing said while they looked away is lost. The status line shows
//! the newest; the notice area over the video (`notice_area`) shows the
//! fresh ones and every error, where the user is looking.
use std::time::{Duration, Instant};

use eframe::egui::{self, Color32, RichText};

use super::colours::on_panel;

/// How long a notice (not an error) stays over the video.
pub const FRESH_FOR: Duration = Duration::from_secs(8);
/// At most this many over the video at once, newest first.
const OVER_VIDEO: usize = 3;

pub struct Notice {
    pub is_error: bool,
    pub text: String,
    pub posted: Instant,
}

#[derive(Default)]
pub struct Notices {
    /// Newest last.
    items: Vec<Notice>,
}

impl Notices {
    pub fn with_error(error: Option<String>) -> Self {
        let mut notices = Self::default();
        if let Some(error) = error {
            notices.error(error);
        }
        notices
    }

    fn push(&mut self, is_error: bool, text: String) {
        self.items.push(Notice { is_error, text, posted: Instant::now() });
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.push(true, text.into());
    }

    pub fn notice(&mut self, text: impl Into<String>) {
        self.push(false, text.into());
    }

    /// An error not already shown (a repeated one would flood the list).
    pub fn error_once(&mut self, text: String) {
        if !self.items.iter().any(|n| n.text == text) {
            self.error(text);
        }
    }

    /// Every notice and error so far, oldest first.
    #[cfg(test)]
    pub fn texts(&self) -> Vec<&str> {
        self.items.iter().map(|n| n.text.as_str()).collect()
    }

    /// The errors so far, oldest first.
    pub fn errors(&self) -> Vec<&str> {
        self.items.iter().filter(|n| n.is_error).map(|n| n.text.as_str()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn dismiss(&mut self, index: usize) {
        if index < self.items.len() {
            self.items.remove(index);
        }
    }

    /// What goes over the video at `now`, newest first with its index:
    /// errors until dismissed, notices while fresh. Also says when the
    /// oldest fresh notice is due to go, for a repaint then.
    pub fn over_video(&self, now: Instant) -> (Vec<(usize, &Notice)>, Option<Duration>) {
        let mut next_expiry: Option<Duration> = None;
        let shown = self
            .items
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, n)| {
                if n.is_error {
                    return true;
                }
                let left = FRESH_FOR.checked_sub(now.saturating_duration_since(n.posted));
                if let Some(left) = left {
                    next_expiry = Some(next_expiry.map_or(left, |e| e.min(left)));
                }
                left.is_some()
            })
            .take(OVER_VIDEO)
            .collect();
        (shown, next_expiry)
    }

    /// The status line's part: the newest notice on one line (the older
    /// ones on hover), dismissable.
    pub fn newest_ui(&mut self, ui: &mut egui::Ui) {
        let Some(newest) = self.items.last() else { return };
        let mut dismiss = false;
        ui.scope(|ui| {
            if ui.small_button("x").on_hover_text("Dismiss").clicked() {
                dismiss = true;
            }
            let older = self.items.len() - 1;
            if older > 0 {
                let history: Vec<&str> = self.items.iter().rev().skip(1).map(|n| n.text.as_str()).collect();
                ui.label(RichText::new(format!("+{older}")).weak()).on_hover_text(history.join("\n"));
            }
            ui.add(egui::Label::new(RichText::new(&newest.text).color(colour(ui, newest.is_error))).truncate())
                .on_hover_text(&newest.text);
        });
        if dismiss {
            self.items.pop();
        }
    }
}

/// Errors in red (darker on a light theme), notices in the text colour.
pub fn colour(ui: &egui::Ui, is_error: bool) -> Color32 {
    if is_error {
        on_panel(Color32::from_rgb(255, 110, 110), ui.visuals().dark_mode)
    } else {
        ui.visuals().text_color()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Over the video: every error until dismissed, notices for 8 s, three
    /// at most, newest first; the next repaint is due when one goes.
    #[test]
    fn errors_stay_over_the_video_and_notices_go_after_a_while() {
        let mut notices = Notices::default();
        notices.error("the camera is gone");
        notices.notice("saved");
        let start = notices.items[1].posted;
        let texts =
            |n: &Notices, at: Instant| n.over_video(at).0.iter().map(|(_, n)| n.text.clone()).collect::<Vec<_>>();
        assert_eq!(texts(&notices, start), ["saved", "the camera is gone"]);
        let (_, due) = notices.over_video(start + Duration::from_secs(3));
        assert_eq!(due, Some(Duration::from_secs(5)));
        assert_eq!(texts(&notices, start + Duration::from_secs(9)), ["the camera is gone"]);
        for text in ["a", "b", "c"] {
            notices.notice(text);
        }
        assert_eq!(texts(&notices, Instant::now()), ["c", "b", "a"]);
        notices.dismiss(0);
        assert_eq!(notices.errors(), Vec::<&str>::new());
    }
}
