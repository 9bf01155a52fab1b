//! The event list, driven through egui_kittest (AccessKit queries, no window).
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use glimpse::session::{Event, ReviewStatus, Session};
use glimpse::ui::events::{apply_review_edit, event_list_ui};

fn session() -> Session {
    Session {
        class_names: vec!["negative".into(), "positive".into(), "surprise".into()],
        events: vec![Event {
            id: 7,
            face_id: 2,
            onset_frame: 30,
            apex_frame: 36,
            offset_frame: 45,
            onset_s: 1.0,
            apex_s: 1.2,
            offset_s: 1.5,
            class: 2,
            probabilities: vec![0.1, 0.2, 0.7],
            ..Event::default()
        }],
        complete: true,
        ..Session::default()
    }
}

fn harness(session: Session) -> Harness<'static, Session> {
    Harness::builder().with_size(eframe::egui::vec2(1100.0, 300.0)).build_ui_state(
        |ui, session: &mut Session| {
            let output = event_list_ui(ui, session, None);
            for edit in &output.edits {
                apply_review_edit(session, edit);
            }
        },
        session,
    )
}

#[test]
fn the_event_list_shows_each_events_timing_and_class() {
    let harness = harness(session());
    harness.get_by_label("1.00 s (f 30)");
    harness.get_by_label("1.20 s (f 36)");
    harness.get_by_label("1.50 s (f 45)");
    // The model's confidence, beside the class combo.
    harness.get_by_label("0.70");
    harness.get_by_label("candidate");
}

#[test]
fn clicking_confirm_confirms_the_event() {
    let mut harness = harness(session());
    harness.get_by_label("Confirm").click();
    harness.run();
    assert_eq!(harness.state().events[0].review.status, ReviewStatus::Confirmed);
    harness.get_by_label("confirmed");
    harness.get_by_label("Reject").click();
    harness.run();
    assert_eq!(harness.state().events[0].review.status, ReviewStatus::Rejected);
}

#[test]
fn relabelling_or_confirming_moves_no_control() {
    let mut harness = harness(session());
    let confirm_x = |h: &Harness<'static, Session>| h.get_by_label("Confirm").rect().left();
    let note_x = |h: &Harness<'static, Session>| h.get_by_label("note").rect().left();
    let (confirm, note) = (confirm_x(&harness), note_x(&harness));
    // Relabel surprise -> negative: the class cell now says
    // "model: surprise 0.70" instead of "0.70".
    harness.get_by_label("class").click();
    harness.run();
    harness.get_by_label("negative").click();
    harness.run();
    assert_eq!(harness.state().events[0].review.relabelled_class, Some(0));
    harness.get_by_label("model: surprise 0.70");
    assert_eq!((confirm_x(&harness), note_x(&harness)), (confirm, note), "controls moved after relabelling");
    harness.get_by_label("Reject").click();
    harness.run();
    harness.get_by_label("rejected");
    assert_eq!((confirm_x(&harness), note_x(&harness)), (confirm, note), "controls moved after rejecting");
    // The confidence column has its heading.
    harness.get_by_label("confidence");
}

#[test]
fn rows_count_from_one_and_every_control_explains_itself() {
    let mut harness = harness(session());
    // Event id 7 is the first row: numbered 1, as people count.
    let number = harness.get_by_label("1");
    number.hover();
    harness.run();
    harness.get_by_label_contains("Event 1 of 1 (id 7 in the exports)");
    for (control, help) in [
        ("Confirm", "A real micro-expression"),
        ("Reject", "Not a micro-expression"),
        ("0.70", "Spotting score"),
    ] {
        harness.get_by_label(control).hover();
        harness.run();
        harness.get_by_label_contains(help);
    }
}

#[test]
fn an_event_with_frames_dropped_inside_it_says_its_class_may_differ() {
    let mut dropped = session();
    // Frames 30..=45 with 38..=41 missing, as a live session that fell behind records them.
    dropped.frames = (25..50u64)
        .filter(|i| !(38..=41).contains(i))
        .map(|index| glimpse::session::FrameRecord { index, timestamp_s: index as f64 / 30.0, ..Default::default() })
        .collect();
    let mut harness = harness(dropped);
    harness.get_by_label("1 !").hover();
    harness.run();
    harness.get_by_label_contains("4 of its 16 frames were not analysed");
}
