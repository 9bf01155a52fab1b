//! Errors and notices for the status bar: kept, newest last, until the
//! user dismisses them, so nothing said while they looked away is lost.
use eframe::egui::{self, Color32, RichText};

use super::colours::on_panel;

#[derive(Default)]
pub struct Notices {
    /// (is an error, text), newest last.
    items: Vec<(bool, String)>,
}

impl Notices {
    pub fn with_error(error: Option<String>) -> Self {
        Self { items: error.into_iter().map(|e| (true, e)).collect() }
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.items.push((true, text.into()));
    }

    pub fn notice(&mut self, text: impl Into<String>) {
        self.items.push((false, text.into()));
    }

    /// An error not already shown (a repeated one would flood the list).
    pub fn error_once(&mut self, text: String) {
        if !self.items.iter().any(|(_, m)| m == &text) {
            self.error(text);
        }
    }

    /// Every notice and error so far, oldest first.
    #[cfg(test)]
    pub fn texts(&self) -> Vec<&str> {
        self.items.iter().map(|(_, m)| m.as_str()).collect()
    }

    /// The errors so far, oldest first.
    pub fn errors(&self) -> Vec<&str> {
        self.items.iter().filter(|(e, _)| *e).map(|(_, m)| m.as_str()).collect()
    }

    /// The three newest, each with a button that dismisses it.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let mut dismiss = None;
        for (i, (is_error, text)) in self.items.iter().enumerate().rev().take(3) {
            ui.horizontal(|ui| {
                let colour = if *is_error {
                    on_panel(Color32::from_rgb(255, 110, 110), ui.visuals().dark_mode)
                } else {
                    ui.visuals().text_color()
                };
                ui.label(RichText::new(text).color(colour));
                if ui.small_button("x").on_hover_text("Dismiss").clicked() {
                    dismiss = Some(i);
                }
            });
        }
        if let Some(i) = dismiss {
            self.items.remove(i);
        }
    }
}
