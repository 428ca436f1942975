//! [`Figure`]: a chart rendered once into an RGB PNG and an SVG document.

use crate::error::{Error, Result};
use base64::Engine as _;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A finished figure: the same drawing as PNG bytes (RGB, 8 bits per channel) and as an SVG
/// document, with its title and size in pixels.
///
/// Figures are plain data once made (drawing happens when the figure function returns), so a
/// figure kept in a notebook variable shows itself in a later cell. The last expression of an
/// evcxr cell that is a `Figure` is shown inline ([`Figure::evcxr_display`]);
/// [`Figure::save`] writes `stem.png` and `stem.svg`.
#[derive(Clone)]
pub struct Figure {
    title: String,
    width: u32,
    height: u32,
    png: Vec<u8>,
    svg: String,
}

impl fmt::Debug for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Figure")
            .field("title", &self.title)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("png_bytes", &self.png.len())
            .field("svg_chars", &self.svg.len())
            .finish()
    }
}

impl Figure {
    /// The figure's title, as drawn at its top.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The PNG file's bytes (RGB, 8 bits per channel).
    pub fn png_bytes(&self) -> &[u8] {
        &self.png
    }

    /// The SVG document (text in the `sans-serif` family; DejaVu Sans in the PNG).
    pub fn svg(&self) -> &str {
        &self.svg
    }

    /// The PNG as base64, as notebooks embed it.
    pub fn png_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.png)
    }

    /// Writes `dir/stem.png` and `dir/stem.svg`, creating `dir` when missing, and returns both
    /// paths (PNG first). [`super::DEFAULT_OUT_DIR`] is the usual `dir`.
    ///
    /// Errors: an empty stem or one that contains a path separator ([`Error::Config`]); a
    /// folder or file that cannot be written ([`Error::Io`], naming it).
    pub fn save(&self, dir: impl AsRef<Path>, stem: &str) -> Result<Vec<PathBuf>> {
        let dir = dir.as_ref();
        if stem.is_empty() || stem.contains(['/', '\\']) || stem == "." || stem == ".." {
            return Err(Error::Config(format!(
                "figure file stem {stem:?} must be a plain file name"
            )));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let png = dir.join(format!("{stem}.png"));
        std::fs::write(&png, &self.png).map_err(|e| Error::io(&png, e))?;
        let svg = dir.join(format!("{stem}.svg"));
        std::fs::write(&svg, &self.svg).map_err(|e| Error::io(&svg, e))?;
        Ok(vec![png, svg])
    }

    /// Shows the figure inline in an evcxr notebook (a PNG image output).
    pub fn evcxr_display(&self) {
        println!(
            "EVCXR_BEGIN_CONTENT image/png\n{}\nEVCXR_END_CONTENT",
            self.png_base64()
        );
    }

    /// Draws `painter` on a white canvas of `width × height` pixels under `title`, once into a
    /// pixel buffer (encoded as PNG) and once into an SVG document.
    pub(crate) fn render(
        title: impl Into<String>,
        (width, height): (u32, u32),
        painter: &impl Paint,
    ) -> Result<Figure> {
        let title = title.into();
        if !(64..=8192).contains(&width) || !(64..=8192).contains(&height) {
            return Err(Error::Config(format!(
                "figure size {width} × {height} px is outside 64..=8192"
            )));
        }
        fonts()?;
        let mut buf = vec![255u8; width as usize * height as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
            draw_on(&root, &title, painter)?;
            root.present().plot()?;
        }
        let mut png = Vec::new();
        {
            use image::ImageEncoder as _;
            image::codecs::png::PngEncoder::new(&mut png)
                .write_image(&buf, width, height, image::ColorType::Rgb8)
                .map_err(|e| Error::Plot(format!("encoding PNG: {e}")))?;
        }
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            draw_on(&root, &title, painter)?;
            root.present().plot()?;
        }
        Ok(Figure {
            title,
            width,
            height,
            png,
            svg,
        })
    }
}

fn draw_on<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    painter: &impl Paint,
) -> Result<()> {
    root.fill(&WHITE).plot()?;
    let body = root.titled(title, bold(20.0)).plot()?;
    painter.paint(&body.margin(4, 6, 6, 10))
}

/// What a figure draws: its body, below the title, on any plotters backend.
pub(crate) trait Paint {
    /// Draws into `area` (the figure minus its title and outer margin).
    fn paint<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// Converts plotters' errors (which name the backend's problem) into [`Error::Plot`].
pub(crate) trait OrPlot<T> {
    /// The value, or `Error::Plot` with the error's message.
    fn plot(self) -> Result<T>;
}

impl<T, E: fmt::Display> OrPlot<T> for std::result::Result<T, E> {
    fn plot(self) -> Result<T> {
        self.map_err(|e| Error::Plot(e.to_string()))
    }
}

/// Registers the embedded DejaVu Sans (regular and bold) as plotters' `sans-serif` family,
/// once per process. Every text of every figure uses it, so labels render on machines
/// without system fonts.
pub(crate) fn fonts() -> Result<()> {
    static FONTS: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            plotters::style::register_font(
                "sans-serif",
                FontStyle::Normal,
                dejavu::sans::regular(),
            )
            .map_err(|_| "DejaVu Sans regular is not a valid font".to_string())?;
            plotters::style::register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold())
                .map_err(|_| "DejaVu Sans Bold is not a valid font".to_string())
        })
        .clone()
        .map_err(Error::Plot)
}

/// The figures' font at `size` pixels.
pub(crate) fn font(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::SansSerif, size, FontStyle::Normal)
}

/// The figures' bold font at `size` pixels. (`FontDesc::style` keeps the regular glyphs, so
/// bold text needs its own `FontDesc`.)
pub(crate) fn bold(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::SansSerif, size, FontStyle::Bold)
}

/// Black text at `size` pixels.
pub(crate) fn text(size: f64) -> TextStyle<'static> {
    TextStyle::from(font(size)).color(&BLACK)
}
