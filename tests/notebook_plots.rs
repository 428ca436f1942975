//! Executes `notebooks/plots.ipynb` headless through the real evcxr Jupyter kernel
//! (scripts/run-notebook.py) and checks that every figure cell showed its figure as an inline
//! PNG. Needs `scripts/setup` (the README's test command runs it), so the test is `#[ignore]`d
//! in a plain `cargo test` and runs with `-- --include-ignored`.

mod common;

use base64::Engine as _;
use common::notebook::{execute, root};
use serde_json::Value;

fn text(v: &Value) -> String {
    match v {
        Value::Array(parts) => parts.iter().filter_map(Value::as_str).collect(),
        other => other.as_str().unwrap_or_default().to_string(),
    }
}

/// A cell whose value is a figure: its last line calls a figure function and has no `;`.
fn is_figure_cell(source: &str) -> bool {
    let last = source.trim_end().lines().last().unwrap_or_default().trim();
    (last.starts_with("plot::") || last.starts_with("PlotConfig::")) && !last.ends_with(';')
}

#[test]
#[ignore = "needs scripts/setup (Jupyter + evcxr); run with -- --include-ignored"]
fn plots_notebook_shows_every_figure_inline() {
    let nb = execute("notebooks/plots.ipynb", None);
    let cells = nb["cells"].as_array().unwrap();
    let mut figure_cells = 0;
    for (i, cell) in cells.iter().enumerate() {
        if cell["cell_type"] != "code" {
            continue;
        }
        let outputs = cell["outputs"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        for out in outputs {
            assert_ne!(out["output_type"], "error", "cell {i} raised: {out}");
        }
        let source = text(&cell["source"]);
        let pngs: Vec<String> = outputs
            .iter()
            .filter_map(|o| o["data"].get("image/png"))
            .map(text)
            .collect();
        if !is_figure_cell(&source) {
            assert!(
                pngs.is_empty(),
                "cell {i} is not a figure cell but showed an image"
            );
            continue;
        }
        figure_cells += 1;
        assert_eq!(
            pngs.len(),
            1,
            "figure cell {i} should show one inline PNG:\n{source}\noutputs: {outputs:?}"
        );
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(pngs[0].trim().replace('\n', ""))
            .unwrap_or_else(|e| panic!("cell {i}: the image/png output is not base64: {e}"));
        let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
            .unwrap_or_else(|e| panic!("cell {i}: the inline PNG does not decode: {e}"));
        assert!(
            img.width() >= 640,
            "cell {i}: image {} px wide",
            img.width()
        );
    }
    assert_eq!(figure_cells, 14, "figure cells in notebooks/plots.ipynb");
    // The last cell saved the evaluation figures and reported each file.
    let last = cells.last().unwrap();
    let printed: String = last["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| text(&o["text"]))
        .collect();
    for stem in [
        "confusion_matrix.png",
        "confusion_matrix_normalized.svg",
        "roc_curves.png",
        "pr_curves.svg",
        "per_class_f1.png",
        "genre_distribution.png",
    ] {
        assert!(printed.contains(stem), "{stem} not reported: {printed}");
    }
}

#[test]
fn figure_cells_are_recognised() {
    assert!(is_figure_cell(
        "let x = 1;\nplot::genre_distribution(&train)?"
    ));
    assert!(is_figure_cell(
        "PlotConfig::new().top_k(0).roc_curves(&c)?\n"
    ));
    assert!(!is_figure_cell(
        "plot::evaluation_figures(&r, &c, &k, dir)?;"
    ));
    let nb: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("notebooks/plots.ipynb")).unwrap(),
    )
    .unwrap();
    let figures = nb["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["cell_type"] == "code" && is_figure_cell(&text(&c["source"])))
        .count();
    assert_eq!(figures, 14);
    let first = nb["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cell_type"] == "code")
        .unwrap();
    assert_eq!(
        text(&first["source"]).trim(),
        r#":dep genre_nlp = { path = ".." }"#
    );
}
