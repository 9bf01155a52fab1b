//! The selected event's region motion: a small face diagram (a generic
//! 68-point outline in grey, one arrow per region side, its length the
//! displacement in % of the inter-ocular distance) and the AU hints, worded
//! as hints. The face is drawn as the camera sees it: the person's right
//! side on the image left.
use eframe::egui::{self, Color32, Pos2, RichText, Stroke, Vec2};

use crate::motion::face_regions::{face_template_68, region_summary, HINT_THRESHOLD_IOD_PERCENT};
use crate::session::{Event, Session};

/// Diagram size (points); the face template spans about 2.3 × 2.3 IOD. Small
/// enough that the diagram and the hints beside it fit the events panel's
/// default height.
const DIAGRAM: Vec2 = Vec2::new(96.0, 104.0);
/// Diagram points per IOD.
const IOD_POINTS: f32 = 40.0;
/// Arrow length per % IOD of displacement (diagram points): a 2 % brow
/// raise draws about a third of an IOD, long enough to see its direction.
const ARROW_POINTS_PER_PERCENT: f32 = 7.0;
/// Longest arrow (diagram points), so a large motion stays on the face.
const ARROW_MAX: f32 = 30.0;

/// The polylines of the 68-point outline: jaw, brows, nose, eyes, lips
/// (closed ones repeat their first point).
const OUTLINE: [&[usize]; 9] = [
    &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
    &[17, 18, 19, 20, 21],
    &[22, 23, 24, 25, 26],
    &[27, 28, 29, 30],
    &[31, 32, 33, 34, 35],
    &[36, 37, 38, 39, 40, 41, 36],
    &[42, 43, 44, 45, 46, 47, 42],
    &[48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 48],
    &[60, 61, 62, 63, 64, 65, 66, 67, 60],
];

/// The details area for `event` (the one under the playhead), or a line
/// saying how to get one.
pub fn region_motion_ui(ui: &mut egui::Ui, session: &Session, event: Option<&Event>) {
    let number = event.and_then(|event| session.events.iter().position(|e| e.id == event.id)).map(|p| p + 1);
    ui.horizontal(|ui| {
        ui.label(RichText::new("Region motion").strong()).on_hover_text(
            "How far and which way parts of the face moved from the event's onset to its apex, head motion \
             removed, in % of the distance between the eye centres (IOD)",
        );
        if let (Some(number), Some(event)) = (number, event) {
            ui.weak(format!("event {number}, face {}", event.face_id));
        }
    });
    let Some(event) = event else {
        ui.weak("Move the playhead into an event to see its region motion.");
        return;
    };
    if event.region_motion.is_empty() {
        let why = event.region_motion_note.as_deref().unwrap_or("not measured (a session from before it was)");
        ui.label(format!("Not measured: {why}."));
        return;
    }
    ui.horizontal_top(|ui| {
        face_diagram(ui, event).on_hover_text(format!(
            "{}.\nArrows: onset to apex, as the camera sees the face (the person's right on the left); \
             bold where a region moved {HINT_THRESHOLD_IOD_PERCENT} % IOD or more.",
            region_summary(&event.region_motion)
        ));
        ui.vertical(|ui| {
            if event.au_hints.is_empty() {
                ui.weak("No AU hints.");
                return;
            }
            ui.label(RichText::new("AU hints (not detections):").weak()).on_hover_text(
                "Action units whose typical motion (FACS, Ekman & Friesen 1978/2002) matches a region's. \
                 Hints to look at, not detections: one motion fits several AUs, and the flow is noisy.",
            );
            for hint in &event.au_hints {
                ui.label(hint);
            }
        });
    });
}

fn face_diagram(ui: &mut egui::Ui, event: &Event) -> egui::Response {
    let (response, painter) = ui.allocate_painter(DIAGRAM, egui::Sense::hover());
    // Named for screen readers (and the UI tests).
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, "Region motion diagram"));
    let rect = response.rect;
    // Template units (IOD, origin between the eyes, y down) → points: the
    // face spans y from -0.4 to 1.8.
    let origin = Pos2::new(rect.center().x, rect.top() + 0.45 * IOD_POINTS);
    let at = |p: [f32; 2]| origin + Vec2::new(p[0], p[1]) * IOD_POINTS;
    let template = face_template_68();
    let outline = Stroke::new(1.0, Color32::from_gray(130));
    for line in OUTLINE {
        painter.add(egui::Shape::line(line.iter().map(|&i| at(template[i])).collect(), outline));
    }
    let strong = ui.visuals().strong_text_color();
    let faint = ui.visuals().weak_text_color();
    for d in &event.region_motion {
        let Some(region) = d.region else { continue };
        let sides = region.template_sides();
        let moved = d.iod_percent >= HINT_THRESHOLD_IOD_PERCENT;
        let stroke = if moved { Stroke::new(2.0, strong) } else { Stroke::new(1.0, faint) };
        let length = (d.iod_percent * ARROW_POINTS_PER_PERCENT).min(ARROW_MAX);
        if d.px <= 0.0 || length < 1.0 {
            continue;
        }
        // Unit direction in face terms: across (outward / person's left), up.
        let (across, up) = (d.dx_px / d.px, d.dy_px / d.px);
        for (side, point) in sides.iter().enumerate() {
            // The person's right side (first, image left) goes outward to
            // the image left; midline regions' "person's left" is image right.
            let x = if region.paired() && side == 0 { -across } else { across };
            let vector = Vec2::new(x, -up) * length;
            painter.arrow(at(*point), vector, stroke);
        }
    }
    response
}
