//! One colour per class, used by the timeline, the event list and the
//! overlays alike, so a class reads the same everywhere.
use eframe::egui::Color32;

const CLASS_PALETTE: [Color32; 6] = [
    Color32::from_rgb(229, 87, 87),  // negative: red
    Color32::from_rgb(92, 190, 96),  // positive: green
    Color32::from_rgb(80, 150, 245), // surprise: blue
    Color32::from_rgb(232, 170, 55), // further classes, if a model has them
    Color32::from_rgb(180, 110, 220),
    Color32::from_rgb(70, 200, 200),
];

pub fn class_colour(class: usize) -> Color32 {
    CLASS_PALETTE[class % CLASS_PALETTE.len()]
}

/// Reviewed-as-real events and unreviewed candidates differ at a glance.
pub const CONFIRMED: Color32 = Color32::from_rgb(60, 220, 60);
pub const CANDIDATE: Color32 = Color32::from_rgb(255, 220, 0);
pub const REJECTED: Color32 = Color32::from_rgb(150, 150, 150);

/// A status or warning colour readable on the current theme's panels:
/// the bright overlay colours wash out on a light background.
pub fn on_panel(colour: Color32, dark_mode: bool) -> Color32 {
    if dark_mode {
        colour
    } else {
        Color32::from_rgb(colour.r() / 5 * 3, colour.g() / 5 * 3, colour.b() / 5 * 3)
    }
}

/// The JET colour map (blue → cyan → yellow → red) for `value` in 0..1,
/// as OpenCV's `COLORMAP_JET` that the exported video uses.
pub fn jet(value: f32) -> [u8; 3] {
    let v = value.clamp(0.0, 1.0);
    let channel = |centre: f32| ((1.5 - (4.0 * v - centre).abs()).clamp(0.0, 1.0) * 255.0).round() as u8;
    [channel(3.0), channel(2.0), channel(1.0)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jet_runs_from_blue_to_red() {
        assert_eq!(jet(0.0), [0, 0, 128]);
        assert_eq!(jet(1.0), [128, 0, 0]);
        assert_eq!(jet(0.5), [128, 255, 128]);
    }
}
