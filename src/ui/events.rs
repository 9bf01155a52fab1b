//! The event list: every spotted event with its timing, class and
//! confidence, and the reviewer's controls (confirm, reject, relabel, note).
//! Edits are [`ReviewEdit`]s applied to the session's `Review`, so they are
//! testable without a UI and the caller knows when the session got dirty.
use eframe::egui::{self, RichText};

use super::colours::{class_colour, on_panel, CANDIDATE, CONFIRMED, REJECTED};
use crate::session::{Event, ReviewStatus, Session};

#[derive(Clone, Debug, PartialEq)]
pub enum ReviewEdit {
    /// Sets the status; setting the status an event already has returns it
    /// to `Candidate` (the buttons toggle).
    Toggle {
        event_id: u32,
        status: ReviewStatus,
    },
    /// The reviewer's class; `None` (or the model's own class) clears it.
    Relabel {
        event_id: u32,
        class: Option<usize>,
    },
    Note {
        event_id: u32,
        note: String,
    },
}

impl ReviewEdit {
    pub fn event_id(&self) -> u32 {
        match self {
            Self::Toggle { event_id, .. } | Self::Relabel { event_id, .. } | Self::Note { event_id, .. } => *event_id,
        }
    }
}

/// Applies `edit`; returns whether the session changed.
pub fn apply_review_edit(session: &mut Session, edit: &ReviewEdit) -> bool {
    let id = edit.event_id();
    let classes = session.class_names.len();
    let Some(event) = session.events.iter_mut().find(|e| e.id == id) else { return false };
    let before = event.review.clone();
    match edit {
        ReviewEdit::Toggle { status, .. } => {
            event.review.status = if event.review.status == *status { ReviewStatus::Candidate } else { *status };
        }
        ReviewEdit::Relabel { class, .. } => {
            // A class the model does not have cannot be stored meaningfully.
            event.review.relabelled_class = class.filter(|&c| c != event.class && c < classes);
        }
        ReviewEdit::Note { note, .. } => event.review.note.clone_from(note),
    }
    event.review != before
}

/// What the list asks of the app this frame.
#[derive(Default)]
pub struct EventListOutput {
    pub edits: Vec<ReviewEdit>,
    /// The user clicked an event's time: seek there (frame index).
    pub seek_to: Option<u64>,
}

/// Widths of the cells whose text changes with a review (points).
const CLASS_WIDTH: f32 = 90.0;
const CONFIDENCE_WIDTH: f32 = 150.0;
const STATUS_WIDTH: f32 = 70.0;

/// "EPIR 0.52 · MOL 0.58": each model's probability for the event's
/// class, where MOL-lite ran.
pub fn model_probabilities(event: &Event) -> Option<String> {
    let mol = event.mol_probabilities.get(event.class)?;
    let epir = event.epir_probabilities().get(event.class).map_or("–".to_string(), |p| format!("{p:.2}"));
    Some(format!("EPIR {epir} · MOL {mol:.2}"))
}

pub fn event_list_ui(ui: &mut egui::Ui, session: &Session, selected: Option<u32>) -> EventListOutput {
    let mut out = EventListOutput::default();
    if session.events.is_empty() {
        ui.label(if session.complete { "No events spotted." } else { "No events yet…" });
        return out;
    }
    // Both ways: in a narrow window the review controls at the row's end
    // are a horizontal scroll away, never cut off.
    egui::ScrollArea::both().auto_shrink([false, false]).show(ui, |ui| {
        egui::Grid::new("events").striped(true).num_columns(9).spacing([10.0, 4.0]).show(ui, |ui| {
            let mut class_heading = None;
            for heading in ["#", "face", "onset", "apex", "offset", "class", "confidence", "review", "note"] {
                let response = ui.label(RichText::new(heading).strong()).on_hover_text(match heading {
                    "#" => "The event's number in this list, from 1 (click it to seek to its apex)",
                    "face" => "The tracked face's ID, as drawn on the video and written in the exports",
                    "onset" | "apex" | "offset" => {
                        "Time from the start of the video, and the frame number (from 0, as in the exports); \
                         click to seek"
                    }
                    "class" => "The class: the model's, or the reviewer's when relabelled",
                    "confidence" => "The model's probability for its class (0-1), and its class when relabelled",
                    "review" => "Candidate until confirmed or rejected",
                    "note" => "Your note on the event, saved with the session",
                    _ => "",
                });
                if heading == "class" {
                    class_heading = Some(response.id);
                }
            }
            ui.end_row();
            for (position, event) in session.events.iter().enumerate() {
                let row = EventRow { number: position + 1, selected: selected == Some(event.id), class_heading };
                event_row(ui, session, event, row, &mut out);
                ui.end_row();
            }
        });
    });
    out
}

/// Where a row sits in the list.
struct EventRow {
    /// 1-based, as people count.
    number: usize,
    selected: bool,
    class_heading: Option<egui::Id>,
}

fn event_row(ui: &mut egui::Ui, session: &Session, event: &Event, row: EventRow, out: &mut EventListOutput) {
    let EventRow { number, selected, class_heading } = row;
    let id = event.id;
    // Frames dropped inside the event (a live session that fell behind):
    // its flow, and so its class, may differ from a full analysis.
    let missing = session.frames_missing_between(event.onset_frame, event.offset_frame);
    let label = if missing > 0 { format!("{number} !") } else { format!("{number}") };
    let mut hover = format!("Event {number} of {} (id {id} in the exports): seek to its apex", session.events.len());
    if missing > 0 {
        hover += &format!(
            "\nDropped frames: {missing} of its {} frames were not analysed (dropped while the live analysis fell behind, \
             or missing from the source): its motion and class may differ from an analysis of every frame. \
             Open the recording to analyse it in full.",
            event.offset_frame - event.onset_frame + 1
        );
    }
    if ui.selectable_label(selected, label).on_hover_text(hover).clicked() {
        out.seek_to = Some(event.apex_frame);
    }
    ui.label(format!("{}", event.face_id));
    for (t, frame) in
        [(event.onset_s, event.onset_frame), (event.apex_s, event.apex_frame), (event.offset_s, event.offset_frame)]
    {
        if ui.link(format!("{t:.2} s (f {frame})")).on_hover_text("Seek here").clicked() {
            out.seek_to = Some(frame);
        }
    }
    // Class: the model's with its confidence, relabel through the combo.
    let final_class = event.final_class();
    let confidence = event.probabilities.get(event.class).copied().unwrap_or(f32::NAN);
    // Every cell before the review buttons has a fixed width, so that no
    // control moves under the pointer when a class or status changes.
    let height = ui.spacing().interact_size.y;
    {
        let mut picked = final_class;
        let text = RichText::new(session.class_name(final_class)).color(class_colour(final_class));
        let combo =
            egui::ComboBox::from_id_salt(("relabel", id)).selected_text(text).width(CLASS_WIDTH).show_ui(ui, |ui| {
                for (class, name) in session.class_names.iter().enumerate() {
                    ui.selectable_value(&mut picked, class, RichText::new(name).color(class_colour(class)));
                }
            });
        let response = combo.response.on_hover_text("Relabel: choose the class you see");
        // Screen readers (and kittest) name the combo by its column heading.
        if let Some(heading) = class_heading {
            let _ = response.labelled_by(heading);
        }
        if picked != final_class {
            out.edits.push(ReviewEdit::Relabel { event_id: id, class: Some(picked) });
        }
        let model = format!("model: {} {confidence:.2}", session.class_name(event.class));
        let mut shown = if event.review.relabelled_class.is_some() { model } else { format!("{confidence:.2}") };
        let listed = |probabilities: &[f32]| {
            session
                .class_names
                .iter()
                .zip(probabilities)
                .map(|(name, p)| format!("{name} {p:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut hover = format!("The model's probabilities: {}.", listed(&event.probabilities));
        // MOL-lite ran: each model's probability for the class, side by side.
        if let Some(both) = model_probabilities(event) {
            shown.push_str(&format!("  {both}"));
            hover = format!(
                "Probabilities deciding the class: {}. EPIR: {}. MOL-lite: {} (its classifier is weak: see its \
                 model card).",
                listed(&event.probabilities),
                listed(event.epir_probabilities()),
                listed(&event.mol_probabilities)
            );
        }
        ui.add_sized([CONFIDENCE_WIDTH, height], egui::Label::new(RichText::new(shown).weak()).truncate()).on_hover_text(
            format!(
                "{hover} Spotting score {:.1}: the motion at the apex, in robust standard deviations of the face's \
                 resting motion (the threshold at sensitivity 0.5 is 6)",
                event.score
            ),
        );
    }
    ui.horizontal(|ui| {
        let status = event.review.status;
        let (text, colour) = match status {
            ReviewStatus::Candidate => ("candidate", CANDIDATE),
            ReviewStatus::Confirmed => ("confirmed", CONFIRMED),
            ReviewStatus::Rejected => ("rejected", REJECTED),
        };
        let status_text = RichText::new(text).color(on_panel(colour, ui.visuals().dark_mode));
        ui.add_sized([STATUS_WIDTH, height], egui::Label::new(status_text));
        if ui
            .selectable_label(status == ReviewStatus::Confirmed, "Confirm")
            .on_hover_text("A real micro-expression (C on the event under the playhead); click again to undo")
            .clicked()
        {
            out.edits.push(ReviewEdit::Toggle { event_id: id, status: ReviewStatus::Confirmed });
        }
        if ui
            .selectable_label(status == ReviewStatus::Rejected, "Reject")
            .on_hover_text("Not a micro-expression (R on the event under the playhead); click again to undo")
            .clicked()
        {
            out.edits.push(ReviewEdit::Toggle { event_id: id, status: ReviewStatus::Rejected });
        }
    });
    let mut note = event.review.note.clone();
    let note_field = ui.add(egui::TextEdit::singleline(&mut note).hint_text("note").desired_width(160.0));
    if note_field.on_hover_text("Your note on this event, saved with the session").changed() {
        out.edits.push(ReviewEdit::Note { event_id: id, note });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Event;

    fn session() -> Session {
        Session {
            class_names: vec!["negative".into(), "positive".into(), "surprise".into()],
            events: vec![
                Event { id: 4, class: 1, probabilities: vec![0.1, 0.8, 0.1], ..Event::default() },
                Event { id: 9, class: 0, probabilities: vec![0.7, 0.2, 0.1], ..Event::default() },
            ],
            ..Session::default()
        }
    }

    #[test]
    fn each_models_probability_is_shown_where_mol_ran() {
        let mut event = Event { class: 2, probabilities: vec![0.2, 0.2, 0.6], ..Event::default() };
        assert_eq!(model_probabilities(&event), None);
        event.epir_probabilities = vec![0.1, 0.2, 0.7];
        event.mol_probabilities = vec![0.3, 0.2, 0.5];
        assert_eq!(model_probabilities(&event).as_deref(), Some("EPIR 0.70 · MOL 0.50"));
    }

    #[test]
    fn confirm_and_reject_toggle_the_status() {
        let mut s = session();
        let confirm = ReviewEdit::Toggle { event_id: 4, status: ReviewStatus::Confirmed };
        assert!(apply_review_edit(&mut s, &confirm));
        assert_eq!(s.events[0].review.status, ReviewStatus::Confirmed);
        assert_eq!(s.events[1].review.status, ReviewStatus::Candidate, "only the named event changes");
        assert!(apply_review_edit(&mut s, &ReviewEdit::Toggle { event_id: 4, status: ReviewStatus::Rejected }));
        assert_eq!(s.events[0].review.status, ReviewStatus::Rejected);
        assert!(apply_review_edit(&mut s, &ReviewEdit::Toggle { event_id: 4, status: ReviewStatus::Rejected }));
        assert_eq!(s.events[0].review.status, ReviewStatus::Candidate, "a second click undoes");
    }

    #[test]
    fn relabelling_to_the_models_class_or_an_unknown_class_clears_it() {
        let mut s = session();
        assert!(apply_review_edit(&mut s, &ReviewEdit::Relabel { event_id: 4, class: Some(2) }));
        assert_eq!(s.events[0].review.relabelled_class, Some(2));
        assert_eq!(s.events[0].final_class(), 2);
        assert!(apply_review_edit(&mut s, &ReviewEdit::Relabel { event_id: 4, class: Some(1) }));
        assert_eq!(s.events[0].review.relabelled_class, None);
        assert!(!apply_review_edit(&mut s, &ReviewEdit::Relabel { event_id: 4, class: Some(7) }));
        assert_eq!(s.events[0].review.relabelled_class, None);
    }

    #[test]
    fn notes_are_stored_and_unknown_events_change_nothing() {
        let mut s = session();
        assert!(apply_review_edit(&mut s, &ReviewEdit::Note { event_id: 9, note: "blink?".into() }));
        assert_eq!(s.events[1].review.note, "blink?");
        assert!(!apply_review_edit(&mut s, &ReviewEdit::Note { event_id: 9, note: "blink?".into() }), "no change");
        let before = s.clone();
        assert!(!apply_review_edit(&mut s, &ReviewEdit::Toggle { event_id: 77, status: ReviewStatus::Confirmed }));
        assert_eq!(s, before);
    }
}
