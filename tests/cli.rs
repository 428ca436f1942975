//! The `genre` binary end to end on the real slice.

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/imdb-genre")
        .join(name)
}

fn genre(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_genre"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn eda_prints_the_genre_table_with_27_rows() {
    let data = shared("train_data.txt");
    let (ok, out, err) = genre(&["eda", "--data", data.to_str().unwrap(), "--top-k", "5"]);
    assert!(ok, "{err}");
    // The first table: title, header, rule, then one line per genre up to a blank line.
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("2110 rows, 27 genres"));
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("genre") && header.contains("rows") && header.contains("share_pct"),
        "{header}"
    );
    lines.next();
    let rows: Vec<&str> = lines.take_while(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 27, "{out}");
    assert!(
        rows[0].starts_with("drama") && rows[0].contains("522"),
        "{}",
        rows[0]
    );
    assert!(
        rows[26].starts_with("war") && rows[26].contains(" 4 "),
        "{}",
        rows[26]
    );
    assert!(out.contains("plot length per genre"), "{out}");
    assert!(out.contains("texts occur more than once"), "{out}");
    assert!(out.contains("most distinctive terms per genre"), "{out}");
    let western = out.lines().rfind(|l| l.starts_with("western ")).unwrap();
    assert!(
        western.contains("sheriff") || western.contains("cowboy") || western.contains("outlaw"),
        "{western}"
    );
}

#[test]
fn split_writes_manifest_and_sides_reproducibly() {
    let data = shared("train_data.txt");
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for dir in [&a, &b] {
        let (ok, out, err) = genre(&[
            "split",
            "--data",
            data.to_str().unwrap(),
            "--seed",
            "3",
            "--out",
            dir.path().to_str().unwrap(),
        ]);
        assert!(ok, "{err}");
        assert!(out.contains("manifest:"), "{out}");
    }
    let names = |d: &tempfile::TempDir| {
        let mut v: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into())
            .collect();
        v.sort();
        v
    };
    let files = names(&a);
    assert_eq!(files.len(), 4, "{files:?}");
    assert_eq!(files, names(&b));
    for f in &files {
        assert_eq!(
            std::fs::read(a.path().join(f)).unwrap(),
            std::fs::read(b.path().join(f)).unwrap(),
            "{f}"
        );
    }
    let total: usize = ["train.txt", "val.txt", "hold.txt"]
        .iter()
        .map(|f| {
            genre_nlp::data::Dataset::kaggle(a.path().join(f))
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(total, 2110);
}

#[test]
fn bad_input_fails_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("broken.txt");
    std::fs::write(&p, "1 ::: A ::: drama ::: One.\n2 ::: B\n").unwrap();
    let (ok, _, err) = genre(&["eda", "--data", p.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("broken.txt:2:") && err.contains("expected 4 fields"),
        "{err}"
    );
    let (ok, out, err) = genre(&[
        "eda",
        "--data",
        p.to_str().unwrap(),
        "--lenient",
        "--no-terms",
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("1 skipped") && err.contains("line 2"), "{err}");
    assert!(out.starts_with("1 rows, 1 genres"), "{out}");
}
