//! The transport bar above the timeline in review mode: play, step a
//! frame, jump between events, speed, and the position slider.
use eframe::egui;

use super::review::ReviewMode;
use crate::session::Session;

/// Playback speeds offered (× real time).
const SPEEDS: [f32; 5] = [0.25, 0.5, 1.0, 1.5, 2.0];

pub fn transport_ui(ui: &mut egui::Ui, review: &mut ReviewMode, session: Option<&Session>) {
    let last = review.frame_count(session).saturating_sub(1);
    ui.horizontal(|ui| {
        let playhead = &mut review.playhead;
        if ui
            .button(if playhead.playing { "Pause" } else { "Play" })
            .on_hover_text("Play or pause at the chosen speed, in real time (Space)")
            .clicked()
        {
            if playhead.frame >= last {
                playhead.frame = 0;
            }
            playhead.playing = !playhead.playing;
        }
        if ui.button("< frame").on_hover_text("Step back one frame (Left)").clicked() {
            review.jump(session, review.playhead.frame.saturating_sub(1));
        }
        if ui.button("frame >").on_hover_text("Step forward one frame (Right)").clicked() {
            review.jump(session, review.playhead.frame + 1);
        }
        let current = review.playhead.frame;
        let event_frames: Vec<u64> = session
            .map(|s| {
                let mut onsets: Vec<u64> = s.events.iter().map(|e| e.onset_frame).collect();
                onsets.sort_unstable();
                onsets
            })
            .unwrap_or_default();
        if ui.button("|< event").on_hover_text("Previous event's onset (P or Page Up)").clicked() {
            if let Some(&f) = event_frames.iter().rev().find(|&&f| f < current) {
                review.seek(session, f);
            }
        }
        if ui.button("event >|").on_hover_text("Next event's onset (N or Page Down)").clicked() {
            if let Some(&f) = event_frames.iter().find(|&&f| f > current) {
                review.seek(session, f);
            }
        }
        let speed = egui::ComboBox::from_id_salt("speed")
            .selected_text(format!("{}×", review.playhead.speed))
            .width(60.0)
            .show_ui(ui, |ui| {
                for speed in SPEEDS {
                    ui.selectable_value(&mut review.playhead.speed, speed, format!("{speed}×"));
                }
            });
        // Named for screen readers (and kittest), as no label is drawn.
        speed.response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, true, "playback speed"));
        speed.response.on_hover_text("Playback speed, × real time (frames are skipped, never slowed, to keep it)");
        let mut frame = review.playhead.frame;
        let slider = egui::Slider::new(&mut frame, 0..=last.max(1)).show_value(false).trailing_fill(true);
        ui.spacing_mut().slider_width = (ui.available_width() - 190.0).max(100.0);
        let position = ui.add(slider);
        let value = frame as f64;
        position.widget_info(|| egui::WidgetInfo::slider(true, value, "playback position"));
        let position = position.on_hover_text("Position in the video: drag to scrub (Home / End: start / end)");
        if position.changed() {
            review.seek(session, frame);
        }
        let frame = review.playhead.frame;
        ui.monospace(format!("{:7.2} s  f {}", review.time_of_frame(session, frame), frame))
            .on_hover_text("Time of the frame shown, and its number (from 0, as in the exports)");
    });
}
