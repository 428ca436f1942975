//! Loading the real data slice in every format, and every kind of bad input.

use genre_nlp::prelude::*;
use genre_nlp::Error;
use std::path::{Path, PathBuf};

fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/imdb-genre")
        .join(name)
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn err_text(r: genre_nlp::Result<Dataset>) -> String {
    match r {
        Ok(ds) => panic!("expected an error, loaded {} rows", ds.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn kaggle_train_has_2110_rows_and_27_genres() {
    let ds = Dataset::kaggle(shared("train_data.txt")).unwrap();
    assert_eq!(ds.len(), 2110);
    assert!(ds.is_labelled());
    let labels = Labels::from_dataset(&ds).unwrap();
    assert_eq!(labels.len(), 27);
    assert_eq!(labels.name(0), Some("action"));
    assert_eq!(labels.name(26), Some("western"));
    assert_eq!(ds.ids()[0], 1);
    assert_eq!(ds.titles()[0], "Oscar et la dame rose (2009)");
    assert_eq!(ds.genres()[0], Some("drama"));
    assert!(ds.texts()[0].starts_with("Listening in to a conversation"));
    let summary = ds.summary();
    assert_eq!(summary.height(), 27);
    let top = summary.column("genre").unwrap().str().unwrap().get(0);
    assert_eq!(top, Some("drama"));
    assert_eq!(
        summary.column("rows").unwrap().u32().unwrap().get(0),
        Some(522)
    );
    assert_eq!(
        summary.column("rows").unwrap().u32().unwrap().get(26),
        Some(4)
    ); // war
}

#[test]
fn kaggle_test_solution_has_1670_labelled_rows() {
    let ds = Dataset::load(shared("test_data_solution.txt")).unwrap();
    assert_eq!(ds.len(), 1670);
    assert!(ds.is_labelled());
    assert_eq!(Labels::from_dataset(&ds).unwrap().len(), 27);
    // Test ids have gaps (2,000 rows were kept aside): the id column keeps the file's ids.
    assert_eq!(*ds.ids().last().unwrap(), 3668);
    assert!(ds.ids().windows(2).any(|w| w[1] > w[0] + 1));
}

#[test]
fn kaggle_test_without_genre_is_detected_by_field_count() {
    let ds = Dataset::load(shared("test_data.txt")).unwrap();
    assert_eq!(ds.len(), 1670);
    assert!(!ds.is_labelled());
    assert!(ds.genres().iter().all(Option::is_none));
    let solution = Dataset::load(shared("test_data_solution.txt")).unwrap();
    assert_eq!(ds.ids(), solution.ids());
    assert_eq!(ds.texts(), solution.texts());
}

#[test]
fn csv_round_trip_of_the_real_slice() {
    let dir = tempfile::tempdir().unwrap();
    let train = Dataset::kaggle(shared("train_data.txt")).unwrap();
    let csv = dir.path().join("train_real.csv");
    train.write_csv(&csv).unwrap();
    let back = Dataset::csv(&csv).unwrap();
    assert_eq!(back.len(), 2110);
    assert_eq!(back.ids(), train.ids());
    assert_eq!(back.titles(), train.titles());
    assert_eq!(back.texts(), train.texts());
    assert_eq!(back.genres(), train.genres());
    // And the Kaggle writer round-trips too.
    let txt = dir.path().join("train_copy.txt");
    train.write_kaggle(&txt).unwrap();
    assert_eq!(
        std::fs::read(&txt).unwrap(),
        std::fs::read(shared("train_data.txt")).unwrap()
    );
}

#[test]
fn csv_with_text_and_genre_only_numbers_rows() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "train_small.csv",
        b"text,genre\n\"A cowboy rides, alone.\",western\nA robot dreams.,sci-fi\n",
    );
    let ds = Dataset::load(&p).unwrap();
    assert_eq!(ds.ids(), vec![1, 2]);
    assert_eq!(
        ds.texts(),
        vec!["A cowboy rides, alone.", "A robot dreams."]
    );
    assert_eq!(ds.genres(), vec![Some("western"), Some("sci-fi")]);
    let p = write(&dir, "test_small.csv", b"text\nA robot dreams.\n");
    let ds = Dataset::load(&p).unwrap();
    assert!(!ds.is_labelled());
}

#[test]
fn crlf_and_trailing_blank_line_are_fine() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "crlf.txt",
        b"1 ::: A (2001) ::: drama ::: One.\r\n2 ::: B (2002) ::: comedy ::: Two.\r\n\r\n",
    );
    let ds = Dataset::kaggle(&p).unwrap();
    assert_eq!(ds.len(), 2);
    assert_eq!(ds.texts(), vec!["One.", "Two."]);
    assert_eq!(ds.genres(), vec![Some("drama"), Some("comedy")]);
}

#[test]
fn wrong_field_count_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "bad.txt",
        b"1 ::: A ::: drama ::: One.\n2 ::: B ::: Two.\n",
    );
    let msg = err_text(Dataset::kaggle(&p));
    assert!(msg.contains("bad.txt:2:"), "{msg}");
    assert!(msg.contains("expected 4 fields"), "{msg}");
    assert!(msg.contains("found 3"), "{msg}");
}

#[test]
fn empty_description_names_the_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "bad.txt",
        b"1 ::: A ::: drama ::: One.\n2 ::: B ::: drama ::: One.\n3 ::: C ::: comedy ::: \n",
    );
    let msg = err_text(Dataset::kaggle(&p));
    assert!(msg.contains("bad.txt:3:"), "{msg}");
    assert!(msg.contains("DESCRIPTION"), "{msg}");
}

#[test]
fn missing_csv_column_names_it_and_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "bad.csv", b"plot,genre\nOne.,drama\n");
    let msg = err_text(Dataset::csv(&p));
    assert!(msg.contains("bad.csv"), "{msg}");
    assert!(msg.contains("missing column `text`"), "{msg}");
    assert!(msg.contains("line 1"), "{msg}");
}

#[test]
fn invalid_utf8_names_the_line_in_kaggle_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "bad.txt",
        b"1 ::: A ::: drama ::: One.\n2 ::: B ::: drama ::: Tw\xff\xfeo.\n",
    );
    let msg = err_text(Dataset::kaggle(&p));
    assert!(msg.contains("bad.txt:2:"), "{msg}");
    assert!(msg.contains("invalid UTF-8"), "{msg}");
    let p = write(&dir, "bad.csv", b"text,genre\nOne.,drama\nTw\xffo.,drama\n");
    let msg = err_text(Dataset::csv(&p));
    assert!(msg.contains("bad.csv:3:"), "{msg}");
    assert!(msg.contains("invalid UTF-8"), "{msg}");
}

#[test]
fn bad_id_and_duplicate_id_and_empty_genre_name_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "bad.txt",
        b"1 ::: A ::: drama ::: One.\nx7 ::: B ::: drama ::: Two.\n",
    );
    let msg = err_text(Dataset::kaggle(&p));
    assert!(msg.contains("bad.txt:2:") && msg.contains("`x7`"), "{msg}");
    let p = write(
        &dir,
        "dup.txt",
        b"1 ::: A ::: drama ::: One.\n1 ::: B ::: drama ::: Two.\n",
    );
    let msg = err_text(Dataset::kaggle(&p));
    assert!(
        msg.contains("dup.txt:2:") && msg.contains("duplicate id 1 (first on line 1)"),
        "{msg}"
    );
    let p = write(
        &dir,
        "nogenre.txt",
        b"1 ::: A ::: drama ::: One.\n2 ::: B :::  ::: Two.\n",
    );
    let msg = err_text(Dataset::kaggle(&p));
    assert!(
        msg.contains("nogenre.txt:2:") && msg.contains("GENRE is empty"),
        "{msg}"
    );
}

#[test]
fn unseen_label_when_scoring_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let train = Dataset::kaggle(shared("train_data.txt")).unwrap();
    let labels = Labels::from_dataset(&train).unwrap();
    let p = write(&dir, "score.txt", b"1 ::: A ::: drama ::: One.\n2 ::: B ::: telenovela ::: Two.\n3 ::: C ::: comedy ::: Three.\n");
    let test = Dataset::kaggle(&p).unwrap();
    let msg = labels.encode(&test).unwrap_err().to_string();
    assert!(
        msg.contains("score.txt:2:") && msg.contains("`telenovela`"),
        "{msg}"
    );
    let msg = labels
        .restrict(&test, Mode::Strict)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("score.txt:2:"), "{msg}");
    let (kept, skipped) = labels.restrict(&test, Mode::Lenient).unwrap();
    assert_eq!(kept.ids(), vec![1, 3]);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].line, 2);
}

#[test]
fn lenient_mode_skips_and_reports_every_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"1 ::: A ::: drama ::: One.\n".to_vec();
    for i in 2..=9 {
        bytes.extend_from_slice(format!("{i} ::: broken line\n").as_bytes());
    }
    bytes.extend_from_slice(b"10 ::: B ::: comedy ::: \n11 ::: C ::: comedy ::: Eleven.\n");
    let p = write(&dir, "mixed.txt", &bytes);
    assert!(Dataset::kaggle(&p).is_err());
    let ds = Dataset::load_with(&p, LoadOptions::new().lenient()).unwrap();
    assert_eq!(ds.ids(), vec![1, 11]);
    let report = ds.report();
    let lines: Vec<usize> = report.skipped.iter().map(|s| s.line).collect();
    assert_eq!(lines, vec![2, 3, 4, 5, 6, 7, 8, 9, 10]);
    let shown = report.to_string();
    assert!(shown.contains("2 rows kept, 9 skipped"), "{shown}");
    assert!(shown.contains("line 2: expected 4 fields"), "{shown}");
    assert!(shown.contains("and 4 more"), "{shown}");
}

#[test]
fn a_file_that_does_not_exist_names_itself() {
    let e = Dataset::kaggle("/no/such/train_data.txt").unwrap_err();
    assert!(matches!(e, Error::Io { .. }));
    assert!(e.to_string().contains("/no/such/train_data.txt"));
}
