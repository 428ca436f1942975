//! Colours: one fixed colour per genre (the same in every figure), a palette for other
//! categories (clusters, model families), and the sequential scale of heatmaps.

use plotters::style::RGBColor;

/// The 27 IMDb genres of the Kaggle data and their colours, as `(name, [r, g, b])`, largest
/// genre first.
///
/// The seven largest genres get Okabe–Ito colours (distinguishable under the common colour
/// vision deficiencies); each of the others was picked, in order of genre size, from Paul
/// Tol's, ColorBrewer's and Tableau's qualitative schemes as the candidate farthest (CIELAB
/// ΔE) from every colour already taken, skipping near-white and washed-out ones; no two
/// colours are closer than ΔE 23. The map is fixed: a genre has the same colour in every
/// figure, whatever else is drawn beside it.
pub const GENRE_COLORS: [(&str, [u8; 3]); 27] = [
    ("drama", [0x00, 0x72, 0xB2]),
    ("documentary", [0xE6, 0x9F, 0x00]),
    ("comedy", [0x00, 0x9E, 0x73]),
    ("short", [0xCC, 0x79, 0xA7]),
    ("thriller", [0x56, 0xB4, 0xE9]),
    ("horror", [0xD5, 0x5E, 0x00]),
    ("action", [0x88, 0x22, 0x55]),
    ("reality-tv", [0x66, 0xA6, 0x1E]),
    ("western", [0x44, 0x44, 0x44]),
    ("adult", [0xF4, 0xA5, 0x82]),
    ("family", [0x6A, 0x3D, 0x9A]),
    ("sci-fi", [0xE7, 0x29, 0x8A]),
    ("adventure", [0xDD, 0xCC, 0x77]),
    ("music", [0x8D, 0xD3, 0xC7]),
    ("romance", [0xA5, 0x0F, 0x15]),
    ("crime", [0x8C, 0x51, 0x0A]),
    ("biography", [0xEE, 0x66, 0x77]),
    ("animation", [0x8C, 0x56, 0x4B]),
    ("talk-show", [0xBC, 0xBD, 0x22]),
    ("sport", [0x01, 0x66, 0x5E]),
    ("fantasy", [0x6F, 0x4E, 0x7C]),
    ("mystery", [0xCA, 0xB2, 0xD6]),
    ("history", [0x22, 0x88, 0x33]),
    ("game-show", [0x7F, 0x7F, 0x7F]),
    ("news", [0xAA, 0x44, 0x99]),
    ("musical", [0xE3, 0x1A, 0x1C]),
    ("war", [0xFF, 0xAA, 0xBB]),
];

/// Colours for categories that are not genres (clusters, model families, ...), by index.
pub const CATEGORY_COLORS: [[u8; 3]; 12] = [
    [0x00, 0x72, 0xB2],
    [0xE6, 0x9F, 0x00],
    [0x00, 0x9E, 0x73],
    [0xCC, 0x79, 0xA7],
    [0xD5, 0x5E, 0x00],
    [0x56, 0xB4, 0xE9],
    [0x88, 0x22, 0x55],
    [0x11, 0x77, 0x33],
    [0x33, 0x22, 0x88],
    [0x99, 0x99, 0x33],
    [0x44, 0xAA, 0x99],
    [0x44, 0x44, 0x44],
];

/// The colour of a genre: its entry of [`GENRE_COLORS`] (case-insensitive); any other name
/// gets a stable colour from [`CATEGORY_COLORS`] chosen by a hash of the name, so it too is the
/// same in every figure.
pub fn genre_color(name: &str) -> [u8; 3] {
    let lower = name.trim().to_ascii_lowercase();
    if let Some((_, c)) = GENRE_COLORS.iter().find(|(g, _)| *g == lower) {
        return *c;
    }
    // FNV-1a: stable across runs and platforms (std's hasher is seeded per process).
    let h = lower.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    CATEGORY_COLORS[(h % CATEGORY_COLORS.len() as u64) as usize]
}

/// The colour of category `i` of a non-genre grouping (clusters, families).
pub fn category_color(i: usize) -> [u8; 3] {
    CATEGORY_COLORS[i % CATEGORY_COLORS.len()]
}

pub(crate) fn rgb(c: [u8; 3]) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}

/// `genre_color` as a plotters colour.
pub(crate) fn genre_rgb(name: &str) -> RGBColor {
    rgb(genre_color(name))
}

/// Whether every name is one of the 27 genres (then genre colours are used).
pub(crate) fn all_genres(names: &[String]) -> bool {
    names.iter().all(|n| {
        let l = n.trim().to_ascii_lowercase();
        GENRE_COLORS.iter().any(|(g, _)| *g == l)
    })
}

/// Colour of entry `i` of `names`: the genre colour when every name is a genre, the category
/// colour otherwise.
pub(crate) fn name_colors(names: &[String]) -> Vec<RGBColor> {
    if all_genres(names) {
        names.iter().map(|n| genre_rgb(n)).collect()
    } else {
        (0..names.len()).map(|i| rgb(category_color(i))).collect()
    }
}

/// The sequential "Blues" scale of the heatmaps, `t` in `0..=1` (white to dark blue).
pub(crate) fn blues(t: f64) -> RGBColor {
    const STOPS: [[f64; 3]; 9] = [
        [247.0, 251.0, 255.0],
        [222.0, 235.0, 247.0],
        [198.0, 219.0, 239.0],
        [158.0, 202.0, 225.0],
        [107.0, 174.0, 214.0],
        [66.0, 146.0, 198.0],
        [33.0, 113.0, 181.0],
        [8.0, 81.0, 156.0],
        [8.0, 48.0, 107.0],
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let c = |k: usize| (STOPS[i][k] + (STOPS[i + 1][k] - STOPS[i][k]) * f).round() as u8;
    RGBColor(c(0), c(1), c(2))
}

/// Lightens a colour towards white by `amount` (0: unchanged, 1: white).
pub(crate) fn lighten(c: RGBColor, amount: f64) -> RGBColor {
    let m = |v: u8| (f64::from(v) + (255.0 - f64::from(v)) * amount).round() as u8;
    RGBColor(m(c.0), m(c.1), m(c.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_genre_has_its_own_colour() {
        let mut seen = std::collections::HashSet::new();
        for (g, c) in GENRE_COLORS {
            assert!(seen.insert(c), "{g} shares a colour");
            assert_eq!(genre_color(g), c);
        }
        assert_eq!(genre_color(" Drama "), genre_color("drama"));
        assert_eq!(genre_color("cluster 3"), genre_color("cluster 3"));
        // Distinct enough: no two genre colours closer than ΔE 22 in CIELAB.
        for (i, (a, ca)) in GENRE_COLORS.iter().enumerate() {
            for (b, cb) in &GENRE_COLORS[i + 1..] {
                let (la, lb) = (lab(*ca), lab(*cb));
                let d: f64 = (0..3).map(|k| (la[k] - lb[k]).powi(2)).sum::<f64>().sqrt();
                assert!(d > 22.0, "{a} and {b} are too close (ΔE {d:.0})");
            }
        }
    }

    /// sRGB (D65) to CIELAB.
    fn lab(c: [u8; 3]) -> [f64; 3] {
        let lin = |u: u8| {
            let u = f64::from(u) / 255.0;
            if u > 0.04045 {
                ((u + 0.055) / 1.055).powf(2.4)
            } else {
                u / 12.92
            }
        };
        let (r, g, b) = (lin(c[0]), lin(c[1]), lin(c[2]));
        let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
        let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
        let f = |t: f64| {
            if t > 0.008856 {
                t.cbrt()
            } else {
                7.787 * t + 16.0 / 116.0
            }
        };
        let (fx, fy, fz) = (f(x), f(y), f(z));
        [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
    }

    #[test]
    fn blues_runs_white_to_dark() {
        assert_eq!(blues(0.0), RGBColor(247, 251, 255));
        assert_eq!(blues(1.0), RGBColor(8, 48, 107));
        assert_eq!(blues(f64::NAN), blues(0.0));
    }
}
