//! What is drawn over the video frame, with egui's painter: each face's box,
//! ID and five landmarks; while one of its events is on, the event's label
//! and the EPIR attention heatmap, drawn where the model looked (the
//! attention grid lives in the crop EPIR saw, so it is mapped back onto the
//! frame through the inverse of `attention_crop`); and, where MOL-lite
//! ran, its predicted onset→apex flow as arrows and its apex landmarks
//! (both already in frame pixels).
use eframe::egui::{self, epaint, Color32, Pos2, Rect, Stroke};

use super::colours::{class_colour, jet, CANDIDATE, CONFIRMED};
use crate::face::Similarity;
use crate::session::{Event, FaceFrame, ReviewStatus, Session};

/// Vertices per side of the heatmap mesh: smooth enough that the 7×7 grid
/// does not show as blocks, cheap enough to draw every frame.
const HEAT_MESH_SIDE: usize = 29;

pub struct OverlayOptions {
    pub heatmap: bool,
    pub heatmap_opacity: f32,
    /// Draw MOL-lite's flow arrows and landmarks of the newest active event.
    pub mol: bool,
    /// Live view: an event stays on screen this long after its offset
    /// (it is only known about a second after it ends); 0 in review.
    pub hold_s: f64,
}

/// Frame pixels → screen points for a frame of `frame_size` shown in `rect`.
#[derive(Clone, Copy, Debug)]
pub struct FrameToScreen {
    pub rect: Rect,
    pub scale: f32,
}

impl FrameToScreen {
    pub fn new(rect: Rect, frame_width: f32) -> Self {
        Self { rect, scale: if frame_width > 0.0 { rect.width() / frame_width } else { 1.0 } }
    }

    pub fn point(&self, [x, y]: [f32; 2]) -> Pos2 {
        self.rect.min + egui::vec2(x * self.scale, y * self.scale)
    }
}

/// Events of `face_id` on at frame `index` (onset to offset inclusive), or
/// ended at most `hold_s` before `t_s`; rejected ones left out.
pub fn active_events(
    session: &Session,
    face_id: u32,
    index: u64,
    t_s: f64,
    hold_s: f64,
) -> impl Iterator<Item = &Event> {
    session.events.iter().filter(move |e| {
        e.face_id == face_id
            && e.review.status != ReviewStatus::Rejected
            && e.onset_frame <= index
            && (index <= e.offset_frame || t_s - e.offset_s <= hold_s)
    })
}

pub fn draw_overlays(
    painter: &egui::Painter,
    to_screen: FrameToScreen,
    session: &Session,
    index: u64,
    options: &OverlayOptions,
) {
    let Some(position) = session.frame_position(index) else { return };
    let mut heatmap_shown = false;
    for face in &session.frames[position].faces {
        heatmap_shown |= draw_face(painter, to_screen, session, position, face, options);
    }
    if heatmap_shown {
        heatmap_key(painter, to_screen.rect);
    }
}

/// Width and height of the heatmap's colour key, in points.
pub const HEATMAP_KEY_SIZE: [f32; 2] = [150.0, 10.0];

/// The heatmap's colour key in the video's lower right corner: the colour
/// ramp from "low" to "high" attention (each event's own peak is "high").
/// Returns the ramp's rectangle.
pub fn heatmap_key(painter: &egui::Painter, video: Rect) -> Rect {
    let font = egui::FontId::proportional(12.0);
    let [width, height] = HEATMAP_KEY_SIZE;
    let caption_colour = Color32::from_gray(235);
    let caption = painter.layout_no_wrap("model attention".into(), font.clone(), caption_colour);
    let low = painter.layout_no_wrap("low".into(), font.clone(), caption_colour);
    let high = painter.layout_no_wrap("high".into(), font, caption_colour);
    let ramp = Rect::from_min_size(
        egui::pos2(video.right() - width - high.size().x - 16.0, video.bottom() - height - 10.0),
        egui::vec2(width, height),
    );
    let backing = Rect::from_min_max(
        egui::pos2(ramp.left() - low.size().x - 10.0, ramp.top() - caption.size().y - 6.0),
        egui::pos2(ramp.right() + high.size().x + 8.0, ramp.bottom() + 4.0),
    );
    painter.rect_filled(backing, 3.0, Color32::from_black_alpha(170));
    painter.galley(egui::pos2(ramp.left(), backing.top() + 2.0), caption, caption_colour);
    painter.galley(egui::pos2(backing.left() + 4.0, ramp.center().y - low.size().y / 2.0), low, caption_colour);
    painter.galley(egui::pos2(ramp.right() + 4.0, ramp.center().y - high.size().y / 2.0), high, caption_colour);
    let mut mesh = epaint::Mesh::default();
    const STEPS: u32 = 32;
    for step in 0..=STEPS {
        let value = step as f32 / STEPS as f32;
        let [r, g, b] = jet(value);
        let x = ramp.left() + value * width;
        mesh.colored_vertex(egui::pos2(x, ramp.top()), Color32::from_rgb(r, g, b));
        mesh.colored_vertex(egui::pos2(x, ramp.bottom()), Color32::from_rgb(r, g, b));
        if step > 0 {
            let k = 2 * step;
            mesh.add_triangle(k - 2, k - 1, k);
            mesh.add_triangle(k - 1, k + 1, k);
        }
    }
    painter.add(egui::Shape::mesh(mesh));
    ramp
}

fn draw_face(
    painter: &egui::Painter,
    to_screen: FrameToScreen,
    session: &Session,
    position: usize,
    face: &FaceFrame,
    options: &OverlayOptions,
) -> bool {
    let record = &session.frames[position];
    let (index, t_s) = (record.index, record.timestamp_s);
    let points = session.face_points(position, face);
    // Newest first: in the live view that is the one just spotted.
    let mut active: Vec<&Event> = active_events(session, face.face_id, index, t_s, options.hold_s).collect();
    active.sort_by(|a, b| b.onset_s.total_cmp(&a.onset_s));
    let b = &face.bbox;
    // Heatmap first, so box, points and text stay on top of it.
    let mut heatmap_shown = false;
    if options.heatmap {
        if let Some(event) = active.first() {
            // Sessions from before the crop was recorded: the face box stands in.
            let crop = event.attention_crop.unwrap_or(Similarity {
                a: 1.0 / f64::from(b.width.max(1.0)),
                b: 0.0,
                tx: -f64::from(b.x) / f64::from(b.width.max(1.0)),
                ty: -f64::from(b.y) / f64::from(b.height.max(1.0)),
            });
            if let Some(mesh) = heatmap_mesh(event, &crop, to_screen, options.heatmap_opacity) {
                painter.add(egui::Shape::mesh(mesh));
                heatmap_shown = true;
            }
        }
    }
    if options.mol {
        if let Some(event) = active.iter().find(|e| !e.mol_landmarks.is_empty() || !e.mol_flow.is_empty()) {
            draw_mol(painter, to_screen, event);
        }
    }
    let colour = if active.iter().any(|e| e.review.status == ReviewStatus::Confirmed) { CONFIRMED } else { CANDIDATE };
    let rect = Rect::from_min_max(to_screen.point([b.x, b.y]), to_screen.point([b.x + b.width, b.y + b.height]));
    painter.rect_stroke(rect, 0.0, Stroke::new(2.0, colour), egui::StrokeKind::Middle);
    // 68 points get smaller dots than five, so they do not hide the face.
    let radius = if points.len() > 5 { 1.5 } else { 2.5 };
    for &point in points {
        painter.circle_filled(to_screen.point(point), radius, colour);
    }
    let font = egui::FontId::proportional(14.0);
    label(
        painter,
        rect.left_top() - egui::vec2(0.0, 2.0),
        egui::Align2::LEFT_BOTTOM,
        &format!("face {}", face.face_id),
        colour,
        &font,
    );
    let mut y = rect.bottom() + 2.0;
    for event in &active {
        let class = event.final_class();
        let mut text = match event.probabilities.get(class) {
            Some(p) if class == event.class => format!("{} {p:.2}", session.class_name(class)),
            _ => format!("{} (reviewed)", session.class_name(class)),
        };
        if index > event.offset_frame {
            text.push_str(&format!(" ({:.1} s ago)", (t_s - event.offset_s).max(0.0)));
        }
        let drawn =
            label(painter, egui::pos2(rect.left(), y), egui::Align2::LEFT_TOP, &text, class_colour(class), &font);
        y = drawn.bottom() + 2.0;
    }
    heatmap_shown
}

/// MOL-lite's colour: apart from the box colours and the class colours.
const MOL_COLOUR: Color32 = Color32::from_rgb(255, 140, 220);

/// How long MOL's flow arrows are drawn: the longest is `arrow_gain`
/// times its length, one grid step long on screen (micro-expression flow
/// is a pixel or two, invisible at its true length). Returns the gain.
pub fn mol_arrow_gain(flow: &[[f32; 4]]) -> f32 {
    let longest = flow.iter().map(|a| a[2].hypot(a[3])).fold(0.0f32, f32::max);
    // The grid step: the distance between the first two arrows' origins.
    let step = match flow {
        [a, b, ..] => (b[0] - a[0]).hypot(b[1] - a[1]),
        _ => 0.0,
    };
    if longest > 1e-6 && step > 0.0 { (step / longest).max(1.0) } else { 1.0 }
}

/// MOL-lite's predicted flow (arrows from each grid cell, lengthened by
/// `mol_arrow_gain`) and its 68 apex landmarks, with a key naming the
/// longest arrow's true length.
fn draw_mol(painter: &egui::Painter, to_screen: FrameToScreen, event: &Event) {
    let stroke = Stroke::new(1.5, MOL_COLOUR);
    let gain = mol_arrow_gain(&event.mol_flow);
    for &[x, y, dx, dy] in &event.mol_flow {
        let from = to_screen.point([x, y]);
        let to = to_screen.point([x + gain * dx, y + gain * dy]);
        if from.distance(to) >= 1.0 {
            painter.arrow(from, to - from, stroke);
        }
    }
    for &point in &event.mol_landmarks {
        painter.circle_stroke(to_screen.point(point), 2.0, Stroke::new(1.0, MOL_COLOUR));
    }
    let longest = event.mol_flow.iter().map(|a| a[2].hypot(a[3])).fold(0.0f32, f32::max);
    let font = egui::FontId::proportional(12.0);
    let text = format!("MOL flow x{gain:.0} (longest {longest:.1} px), MOL landmarks");
    label(painter, to_screen.rect.left_bottom() + egui::vec2(6.0, -6.0), egui::Align2::LEFT_BOTTOM, &text, MOL_COLOUR, &font);
}

/// Text on a dark backing, readable over any frame.
fn label(
    painter: &egui::Painter,
    at: Pos2,
    anchor: egui::Align2,
    text: &str,
    colour: Color32,
    font: &egui::FontId,
) -> Rect {
    let galley = painter.layout_no_wrap(text.to_string(), font.clone(), colour);
    let rect = anchor.anchor_size(at, galley.size());
    painter.rect_filled(rect.expand(2.0), 2.0, Color32::from_black_alpha(170));
    painter.galley(rect.min, galley, colour);
    rect
}

/// The event's attention grid as a coloured mesh over the crop it covers:
/// values bilinearly interpolated between cell centres, scaled so the peak
/// is red, drawn through the inverse of `crop` (image → unit crop).
pub fn heatmap_mesh(event: &Event, crop: &Similarity, to_screen: FrameToScreen, opacity: f32) -> Option<epaint::Mesh> {
    let (rows, cols) = (event.attention_rows, event.attention_cols);
    if rows == 0 || cols == 0 || event.attention.len() != rows * cols {
        return None;
    }
    let peak = event.attention.iter().copied().filter(|v| v.is_finite()).fold(0.0f32, f32::max);
    if peak <= 0.0 {
        return None;
    }
    let cell = |r: usize, c: usize| {
        let v = event.attention[r.min(rows - 1) * cols + c.min(cols - 1)];
        if v.is_finite() {
            (v / peak).max(0.0)
        } else {
            0.0
        }
    };
    let sample = |u: f32, v: f32| {
        // Cell centres sit at (i + 0.5) / n; clamp to the outer centres.
        let x = (u * cols as f32 - 0.5).clamp(0.0, (cols - 1) as f32);
        let y = (v * rows as f32 - 0.5).clamp(0.0, (rows - 1) as f32);
        let (c0, r0) = (x.floor() as usize, y.floor() as usize);
        let (fx, fy) = (x - c0 as f32, y - r0 as f32);
        let top = cell(r0, c0) * (1.0 - fx) + cell(r0, c0 + 1) * fx;
        let bottom = cell(r0 + 1, c0) * (1.0 - fx) + cell(r0 + 1, c0 + 1) * fx;
        top * (1.0 - fy) + bottom * fy
    };
    let to_image = crop.inverse();
    let opacity = opacity.clamp(0.0, 1.0);
    let mut mesh = epaint::Mesh::default();
    let n = HEAT_MESH_SIDE;
    for j in 0..n {
        for i in 0..n {
            let (u, v) = (i as f32 / (n - 1) as f32, j as f32 / (n - 1) as f32);
            let value = sample(u, v);
            let [r, g, b] = jet(value);
            // Where the model barely looked the face shows through: a
            // uniformly tinted crop would hide the very motion under review.
            let alpha = (opacity * (0.15 + 0.85 * value) * 255.0).round() as u8;
            let pos = to_screen.point(to_image.apply([u, v]));
            mesh.colored_vertex(pos, Color32::from_rgba_unmultiplied(r, g, b, alpha));
        }
    }
    for j in 0..n - 1 {
        for i in 0..n - 1 {
            let k = (j * n + i) as u32;
            let n32 = n as u32;
            mesh.add_triangle(k, k + 1, k + n32);
            mesh.add_triangle(k + 1, k + n32 + 1, k + n32);
        }
    }
    Some(mesh)
}

#[cfg(test)]
mod tests {
    use egui_kittest::Harness;

    use super::*;

    #[test]
    fn mol_arrows_are_lengthened_to_one_grid_step_never_shortened() {
        // Origins 20 px apart, the longest arrow 0.5 px: drawn 40 times longer.
        let flow = [[10.0, 10.0, 0.3, 0.4], [30.0, 10.0, 0.1, 0.0]];
        assert!((mol_arrow_gain(&flow) - 40.0).abs() < 1e-4);
        assert_eq!(mol_arrow_gain(&[[10.0, 10.0, 30.0, 40.0], [30.0, 10.0, 0.0, 0.0]]), 1.0);
        assert_eq!(mol_arrow_gain(&[]), 1.0);
        assert_eq!(mol_arrow_gain(&[[1.0, 1.0, 0.0, 0.0], [2.0, 1.0, 0.0, 0.0]]), 1.0);
    }

    #[test]
    fn the_heatmap_key_ramps_from_low_to_high_inside_the_video() {
        let video = Rect::from_min_size(egui::pos2(20.0, 30.0), egui::vec2(640.0, 480.0));
        let ramp = std::cell::Cell::new(Rect::NOTHING);
        let harness = Harness::new_ui(|ui| ramp.set(heatmap_key(ui.painter(), video)));
        let ramp = ramp.get();
        assert!(video.contains_rect(ramp), "{ramp:?} outside {video:?}");
        assert_eq!((ramp.width(), ramp.height()), (HEATMAP_KEY_SIZE[0], HEATMAP_KEY_SIZE[1]));
        // In the lower right quarter, where faces rarely are.
        assert!(ramp.left() > video.center().x && ramp.top() > video.center().y, "{ramp:?}");
        let meshes: Vec<&epaint::Mesh> = harness
            .output()
            .shapes
            .iter()
            .filter_map(|clipped| match &clipped.shape {
                egui::Shape::Mesh(mesh) => Some(&**mesh),
                _ => None,
            })
            .collect();
        let ramp_mesh = meshes.iter().find(|m| m.vertices.len() == 66).expect("the colour ramp");
        let colour = |v: &epaint::Vertex| [v.color.r(), v.color.g(), v.color.b()];
        assert_eq!(colour(&ramp_mesh.vertices[0]), jet(0.0), "low end");
        assert_eq!(colour(&ramp_mesh.vertices[65]), jet(1.0), "high end");
        assert!((ramp_mesh.vertices[0].pos.x - ramp.left()).abs() < 1e-3);
        assert!((ramp_mesh.vertices[65].pos.x - ramp.right()).abs() < 1e-3);
    }
}
