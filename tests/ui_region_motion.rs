//! The selected event's region motion details, driven through egui_kittest.
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use glimpse::motion::{FaceRegion, RegionDisplacement};
use glimpse::session::{Event, Session};
use glimpse::ui::region_motion::region_motion_ui;

fn region(region: FaceRegion, dx_px: f32, dy_px: f32, iod_percent: f32, direction: &str) -> RegionDisplacement {
    RegionDisplacement {
        region: Some(region),
        dx_px,
        dy_px,
        px: dx_px.hypot(dy_px),
        iod_percent,
        direction: direction.into(),
    }
}

fn session() -> Session {
    let measured = Event {
        id: 4,
        face_id: 1,
        region_motion: vec![
            region(FaceRegion::InnerBrows, 0.1, 1.6, 2.7, "up"),
            region(FaceRegion::OuterBrows, 0.0, 1.2, 2.0, "up"),
            region(FaceRegion::Chin, 0.0, 0.2, 0.3, "still"),
        ],
        au_hints: vec!["inner brows up: AU1?".into(), "outer brows up: AU2?".into()],
        ..Event::default()
    };
    let unmeasured = Event {
        id: 5,
        face_id: 1,
        region_motion_note: Some("no 68-point landmarks for this face (the face mesh did not run)".into()),
        ..Event::default()
    };
    Session { events: vec![measured, unmeasured], ..Session::default() }
}

fn harness(selected: Option<usize>) -> Harness<'static, (Session, Option<usize>)> {
    Harness::builder().with_size(eframe::egui::vec2(320.0, 200.0)).build_ui_state(
        |ui, (session, selected): &mut (Session, Option<usize>)| {
            let event = selected.and_then(|i| session.events.get(i));
            region_motion_ui(ui, session, event);
        },
        (session(), selected),
    )
}

#[test]
fn the_selected_events_regions_are_drawn_with_their_au_hints_as_hints() {
    let mut harness = harness(Some(0));
    harness.get_by_label("event 1, face 1");
    harness.get_by_label("AU hints (not detections):");
    harness.get_by_label("inner brows up: AU1?");
    harness.get_by_label("outer brows up: AU2?");
    harness.get_by_label("Region motion diagram").hover();
    harness.run();
    // The tooltip names what moved, strongest first, and leaves the still chin out.
    harness.get_by_label_contains("inner brows up 2.7 % IOD (1.6 px), outer brows up 2.0 % IOD (1.2 px).");
    assert!(harness.query_by_label_contains("chin").is_none());
}

#[test]
fn an_unmeasured_event_says_why_and_no_event_says_how_to_get_one() {
    let harness_unmeasured = harness(Some(1));
    harness_unmeasured.get_by_label_contains("Not measured: no 68-point landmarks");
    assert!(harness_unmeasured.query_by_label("Region motion diagram").is_none());
    let harness_none = harness(None);
    harness_none.get_by_label_contains("Move the playhead into an event");
}
