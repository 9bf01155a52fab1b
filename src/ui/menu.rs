//! The menu bar: File (open, save, export), Live and Settings, and the
//! title of what is open. It only edits the settings and says what was
//! asked; the app carries it out.
use eframe::egui;

use super::export_folder::folder_label;
use super::settings::{Settings, Theme};
use crate::device::{ChosenDevice, DeviceChoice};
use crate::pipeline::Classifier;
use crate::session::export::ExportFormat;

/// What the user asked for in the menus.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MenuAction {
    PickFile,
    OpenByPath,
    Save,
    Export(ExportFormat),
    TimelinePng,
    ExportAll,
    PickExportFolder,
    TypeExportFolder,
    StartLive,
    Reanalyse,
    ApplyTheme,
}

/// What the menus show and may change.
pub struct MenuState<'a> {
    pub settings: &'a mut Settings,
    pub live_panel: &'a mut bool,
    pub device: &'a ChosenDevice,
    /// A session to save and no save or export running.
    pub can_save: bool,
    pub live_running: bool,
    pub can_reanalyse: bool,
    pub live_dir: String,
    pub title: String,
}

pub fn menu_bar(ui: &mut egui::Ui, state: MenuState) -> Option<MenuAction> {
    let mut action = None;
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            if ui
                .button("Open video or session…")
                .on_hover_text("A video, or a session saved earlier (.session.ron / .json) (Ctrl+O)")
                .clicked()
            {
                action = Some(MenuAction::PickFile);
            }
            if ui.button("Open by path…").on_hover_text("Type or paste a path (no desktop portal needed)").clicked() {
                action = Some(MenuAction::OpenByPath);
            }
            if ui
                .add_enabled(state.can_save, egui::Button::new("Save session"))
                .on_hover_text("Write <video>.session.ron beside the video, reviews included (Ctrl+S)")
                .clicked()
            {
                action = Some(MenuAction::Save);
            }
            ui.menu_button("Export", |ui| {
                if let Some(asked) = export_folder_ui(ui, state.settings) {
                    action = Some(asked);
                }
                ui.separator();
                if ui
                    .add_enabled(state.can_save, egui::Button::new("Export all"))
                    .on_hover_text("Every format below, the annotated video and the timeline, one after another")
                    .clicked()
                {
                    action = Some(MenuAction::ExportAll);
                }
                ui.separator();
                for format in ExportFormat::ALL {
                    let label = match format {
                        ExportFormat::Csv => "Per-frame CSV",
                        ExportFormat::Intervals => "Intervals CSV",
                        ExportFormat::Json => "Session JSON",
                        ExportFormat::Ron => "Session RON",
                        ExportFormat::Eaf => "ELAN (.eaf)",
                        ExportFormat::Video => "Annotated video (.mp4)",
                    };
                    if ui.add_enabled(state.can_save, egui::Button::new(label)).on_hover_text(format.suffix()).clicked()
                    {
                        action = Some(MenuAction::Export(format));
                    }
                }
                if ui
                    .add_enabled(state.can_save, egui::Button::new("Timeline (.png)"))
                    .on_hover_text(".timeline.png: the timeline's plot as on screen")
                    .clicked()
                {
                    action = Some(MenuAction::TimelinePng);
                }
            });
        });
        ui.menu_button("Live", |ui| {
            ui.checkbox(state.live_panel, "Live panel (camera, start / stop)")
                .on_hover_text("Show the panel that runs live sessions");
            if ui
                .add_enabled(!state.live_running, egui::Button::new("Start live session"))
                .on_hover_text("Analyse the camera (or the chosen clip) live; recorded and autosaved")
                .clicked()
            {
                action = Some(MenuAction::StartLive);
            }
            ui.label(format!("Sessions, recordings and autosaves go to {}", state.live_dir));
        });
        ui.menu_button("Settings", |ui| {
            if let Some(asked) = settings_ui(ui, state.settings, state.device, state.can_reanalyse) {
                action = Some(asked);
            }
        });
        ui.separator();
        ui.label(state.title);
    });
    action
}

/// The export folder: which it is, and the ways to change it (the typed
/// path works where no desktop portal shows the dialog).
fn export_folder_ui(ui: &mut egui::Ui, settings: &mut Settings) -> Option<MenuAction> {
    let mut action = None;
    ui.label(format!("Folder: {}", folder_label(settings.export_dir.as_deref())));
    if ui.button("Choose folder…").on_hover_text("Pick the folder exports go to (desktop dialog)").clicked() {
        action = Some(MenuAction::PickExportFolder);
    }
    if ui.button("Type folder path…").on_hover_text("No desktop portal needed").clicked() {
        action = Some(MenuAction::TypeExportFolder);
    }
    if ui
        .add_enabled(settings.export_dir.is_some(), egui::Button::new("Beside the video"))
        .on_hover_text("Exports go beside the video again, named after it")
        .clicked()
    {
        settings.export_dir = None;
    }
    action
}

fn settings_ui(
    ui: &mut egui::Ui,
    settings: &mut Settings,
    device: &ChosenDevice,
    can_reanalyse: bool,
) -> Option<MenuAction> {
    let mut action = None;
    ui.label("Device (next analysis)");
    if let Some(flag) = device.flag {
        ui.label(format!("(--device {flag:?} on the command line wins this run)").to_lowercase());
    }
    ui.horizontal(|ui| {
        for (choice, name, help) in [
            (DeviceChoice::Auto, "auto", "The GPU when CUDA works, else the CPU"),
            (DeviceChoice::Cpu, "cpu", "Always the CPU"),
            (DeviceChoice::Cuda, "cuda", "The GPU (CUDA); the CPU with a notice when it is missing"),
        ] {
            ui.radio_value(&mut settings.device, choice, name).on_hover_text(help);
        }
    });
    ui.label(format!("in use: {}", device.line));
    ui.add(egui::Slider::new(&mut settings.sensitivity, 0.0..=1.0).text("spotting sensitivity")).on_hover_text(
        "0: only strong events; 1: every rise in facial motion. 0.5 spots motion 6 robust standard deviations \
         above the face's resting motion. Applies to the next analysis; the event list shows what a session was \
         analysed at",
    );
    if ui
        .add_enabled(can_reanalyse, egui::Button::new("Re-analyse with these settings"))
        .on_hover_text("Analyse the open video again; reviewed events keep their verdicts")
        .clicked()
    {
        action = Some(MenuAction::Reanalyse);
    }
    ui.label("Event classifier (next analysis)");
    ui.horizontal(|ui| {
        for (choice, name, help) in [
            (Classifier::Epir, "EPIR", "EPIR on the onset-to-apex optical flow: the shipped classifier"),
            (
                Classifier::Mol,
                "MOL",
                "MOL-lite on eight frames from onset to offset; it also predicts the flow and 68 landmarks. \
                 Its classifier is weak (trained on rendered clips: see its model card); EPIR's probabilities are kept",
            ),
            (Classifier::Both, "both", "The class from the mean of EPIR's and MOL-lite's probabilities; each is shown"),
        ] {
            ui.radio_value(&mut settings.classifier, choice, name).on_hover_text(help);
        }
    });
    ui.separator();
    ui.checkbox(&mut settings.heatmap, "Attention heatmap")
        .on_hover_text("While an event is on, colour the face where the model looked (key in the video's corner)");
    ui.add_enabled(settings.heatmap, egui::Slider::new(&mut settings.heatmap_opacity, 0.0..=1.0).text("opacity"))
        .on_hover_text("How strongly the heatmap covers the face");
    ui.checkbox(&mut settings.mol_overlay, "MOL flow and landmarks").on_hover_text(
        "While an event MOL-lite classified is on, draw its predicted onset-to-apex flow (arrows, lengthened to be \
         seen; the key gives the longest) and its 68 landmarks at the apex",
    );
    ui.separator();
    ui.horizontal(|ui| {
        let before = settings.theme;
        ui.radio_value(&mut settings.theme, Theme::Dark, "dark").on_hover_text("Dark window theme");
        ui.radio_value(&mut settings.theme, Theme::Light, "light").on_hover_text("Light window theme");
        if settings.theme != before {
            action = Some(MenuAction::ApplyTheme);
        }
    });
    action
}
