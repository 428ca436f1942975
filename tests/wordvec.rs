//! Word vectors: training behaviour on toy corpora (co-occurring words end up nearer, FastText
//! gives out-of-vocabulary words vectors near their stems, runs are reproducible); files
//! written by gensim (tests/fixtures/wordvec/, made by `benches/peers/gensim_w2v.py fixture`)
//! read bit-exactly; the pretrained GloVe and spaCy tables (`#[ignore]`d: they need
//! `scripts/assets`, which `scripts/setup` runs; `--include-ignored` runs them); the `w2v-…`,
//! `fasttext-…`, `glove-…`, `spacy-…` pipelines: save → load identical scores, and
//! `genre fit / predict / evaluate` end to end on the real slice.

mod common;

use common::cli::{genre, predict_and_evaluate, s, shared};
use std::path::PathBuf;

use genre_nlp::features::wordvec::io::VectorFormat;
use genre_nlp::features::wordvec::neighbours::cosine;
use genre_nlp::features::wordvec::pretrained::{glove_dir, load_glove, load_spacy, spacy_dir};
use genre_nlp::features::wordvec::{
    Architecture, FastTextConfig, Word2VecConfig, WordVectorFeatures, WordVectors,
};
use genre_nlp::prelude::{
    load_model, Classifier, Dataset, PipelineConfig, PipelineFitOptions, RepresentationSpec,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const PETS: [&str; 6] = ["cat", "dog", "pet", "fur", "paw", "tail"];
const CARS: [&str; 6] = ["car", "engine", "wheel", "road", "fuel", "drive"];

/// 600 sentences of 8 words, each drawn from one topic only: words of a topic co-occur,
/// words of different topics never do.
fn two_topics(seed: u64) -> Vec<Vec<String>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..600)
        .map(|i| {
            let topic = if i % 2 == 0 { &PETS } else { &CARS };
            (0..8)
                .map(|_| topic[rng.random_range(0..topic.len())].to_string())
                .collect()
        })
        .collect()
}

fn toy_config(arch: Architecture) -> Word2VecConfig {
    Word2VecConfig::default()
        .architecture(arch)
        .dim(16)
        .window(3)
        .min_count(1)
        .sample(0.0)
        .epochs(10)
        .seed(7)
}

/// Mean cosine within topics and across topics.
fn within_across(v: &WordVectors) -> (f32, f32) {
    let (mut within, mut nw, mut across, mut na) = (0f32, 0, 0f32, 0);
    let all: Vec<(&str, usize)> = PETS
        .iter()
        .map(|w| (*w, 0))
        .chain(CARS.iter().map(|w| (*w, 1)))
        .collect();
    for (i, (a, ta)) in all.iter().enumerate() {
        for (b, tb) in &all[i + 1..] {
            let c = cosine(v.get(a).unwrap(), v.get(b).unwrap());
            if ta == tb {
                within += c;
                nw += 1;
            } else {
                across += c;
                na += 1;
            }
        }
    }
    (within / nw as f32, across / na as f32)
}

fn check_topics(v: &WordVectors, what: &str) {
    check_topics_margin(v, what, 0.3)
}

fn check_topics_margin(v: &WordVectors, what: &str, margin: f32) {
    let (within, across) = within_across(v);
    assert!(
        within > across + margin,
        "{what}: within-topic cosine {within} not clearly above across-topic {across}"
    );
    // every word's nearest neighbour is from its own topic
    for topic in [&PETS, &CARS] {
        for w in topic.iter() {
            let n = v.nearest(w, 1).unwrap();
            assert!(topic.contains(&n[0].word.as_str()), "{what}: {w} → {n:?}");
        }
    }
}

#[test]
fn skipgram_places_cooccurring_words_nearer() {
    let v = toy_config(Architecture::SkipGram)
        .train(&two_topics(1))
        .unwrap();
    assert_eq!(v.len(), 12);
    assert_eq!(v.dim(), 16);
    check_topics(&v, "skip-gram");
}

#[test]
fn cbow_places_cooccurring_words_nearer() {
    let docs = two_topics(2);
    check_topics(
        &toy_config(Architecture::Cbow).train(&docs).unwrap(),
        "cbow mean",
    );
    // Summed contexts saturate the sigmoid on a 12-word corpus: all vectors share one
    // direction, so only ask for a smaller margin (neighbours must still be in-topic).
    check_topics_margin(
        &toy_config(Architecture::Cbow)
            .cbow_mean(false)
            .alpha(0.01)
            .train(&docs)
            .unwrap(),
        "cbow sum",
        0.02,
    );
}

#[test]
fn two_threads_train_too() {
    let v = toy_config(Architecture::SkipGram)
        .threads(2)
        .train(&two_topics(3))
        .unwrap();
    check_topics(&v, "skip-gram, 2 threads");
}

#[test]
fn fasttext_places_cooccurring_words_nearer() {
    let cfg = FastTextConfig::default()
        .word2vec(toy_config(Architecture::SkipGram))
        .buckets(50_000);
    check_topics(&cfg.train(&two_topics(4)).unwrap(), "fasttext sg");
    let cfg = FastTextConfig::default()
        .word2vec(toy_config(Architecture::Cbow))
        .buckets(50_000);
    check_topics(&cfg.train(&two_topics(4)).unwrap(), "fasttext cbow");
}

#[test]
fn one_thread_is_deterministic_for_a_seed() {
    let docs = two_topics(5);
    let bits = |v: &WordVectors| v.data().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for arch in [Architecture::SkipGram, Architecture::Cbow] {
        let cfg = toy_config(arch).sample(1e-2);
        let a = cfg.train(&docs).unwrap();
        let b = cfg.train(&docs).unwrap();
        assert_eq!(bits(&a), bits(&b), "{arch:?}");
        let c = cfg.clone().seed(8).train(&docs).unwrap();
        assert_ne!(
            bits(&a),
            bits(&c),
            "{arch:?}: another seed gives other vectors"
        );
    }
    let ft = FastTextConfig::default()
        .word2vec(toy_config(Architecture::SkipGram))
        .buckets(10_000);
    assert_eq!(
        bits(&ft.train(&docs).unwrap()),
        bits(&ft.train(&docs).unwrap())
    );
}

/// Sentences about running (running, runner, runs, run, ...) and about furniture; "runnings" is
/// never seen.
fn morphology_corpus() -> Vec<Vec<String>> {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let sport = [
        "running", "runner", "runs", "run", "race", "track", "sprint", "jogging", "marathon",
        "athlete",
    ];
    let home = [
        "table", "chair", "lamp", "sofa", "shelf", "carpet", "curtain", "drawer", "cupboard",
        "desk",
    ];
    (0..800)
        .map(|i| {
            let topic = if i % 2 == 0 { &sport } else { &home };
            (0..8)
                .map(|_| topic[rng.random_range(0..topic.len())].to_string())
                .collect()
        })
        .collect()
}

#[test]
fn fasttext_gives_oov_words_vectors_near_their_stem() {
    let cfg = FastTextConfig::default()
        .word2vec(toy_config(Architecture::SkipGram).dim(24))
        .buckets(100_000);
    let v = cfg.train(&morphology_corpus()).unwrap();
    assert!(v.get("runnings").is_none(), "runnings is out of vocabulary");
    let oov = v.vector("runnings").expect("an n-gram vector");
    let stem = cosine(&oov, v.get("running").unwrap());
    let unrelated = cosine(&oov, v.get("lamp").unwrap());
    assert!(stem > 0.7, "cos(runnings, running) = {stem}");
    assert!(
        stem > unrelated + 0.3,
        "cos(runnings, running) = {stem} vs cos(runnings, lamp) = {unrelated}"
    );
    // no n-gram in common with the training words: no vector
    assert!(v.vector("qqq").is_none());
    // Word2Vec has no subwords
    let w2v = toy_config(Architecture::SkipGram)
        .train(&morphology_corpus())
        .unwrap();
    assert!(w2v.vector("runnings").is_none());
}

#[test]
fn empty_corpus_and_bad_config_are_errors() {
    use genre_nlp::Error;
    assert!(matches!(
        Word2VecConfig::default().train(&[]),
        Err(Error::Config(_))
    ));
    let docs = vec![vec!["a".to_string()]];
    match Word2VecConfig::default().min_count(2).train(&docs) {
        Err(Error::Config(m)) => assert!(m.contains("min_count = 2"), "{m}"),
        other => panic!("{other:?}"),
    }
    match Word2VecConfig::default().window(0).train(&docs) {
        Err(Error::Config(m)) => assert!(m.contains("`window`"), "{m}"),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// gensim interop (tests/fixtures/wordvec/, made by benches/peers/gensim_w2v.py fixture)

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wordvec")
        .join(name)
}

#[test]
fn reads_gensim_text_and_binary() {
    let expect: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("gensim_small.json")).unwrap())
            .unwrap();
    let words: Vec<String> = expect["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect();
    let dim = expect["dim"].as_u64().unwrap() as usize;
    let text = VectorFormat::Word2VecText
        .read(fixture("gensim_small.txt"))
        .unwrap();
    let bin = VectorFormat::Word2VecBinary
        .read(fixture("gensim_small.bin"))
        .unwrap();
    for v in [&text, &bin] {
        assert_eq!(v.words(), words.as_slice());
        assert_eq!(v.dim(), dim);
        for (w, vals) in expect["values"].as_object().unwrap() {
            let want: Vec<f32> = vals
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect();
            assert_eq!(v.get(w).unwrap(), want.as_slice(), "{w}");
        }
        let sim = cosine(v.get("cat").unwrap(), v.get("dog").unwrap());
        let want = expect["similarity_cat_dog"].as_f64().unwrap() as f32;
        assert!((sim - want).abs() < 1e-5, "{sim} vs {want}");
    }
    // gensim's text repr of float32 parses back to the same bits as its binary file
    let bits = |d: &[f32]| d.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(text.data()), bits(bin.data()));
}

#[test]
fn our_files_round_trip_through_every_format() {
    let v = toy_config(Architecture::SkipGram)
        .train(&two_topics(9))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (f, name) in [
        (VectorFormat::Word2VecText, "v.txt"),
        (VectorFormat::Word2VecBinary, "v.bin"),
        (VectorFormat::FastTextVec, "v.vec"),
        (VectorFormat::GloveText, "v.glove"),
    ] {
        let p = dir.path().join(name);
        f.write(&v, &p).unwrap();
        let back = f.read(&p).unwrap();
        assert_eq!(back.words(), v.words());
        let bits = |d: &[f32]| d.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(back.data()), bits(v.data()), "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Pretrained tables (scripts/assets)

#[test]
#[ignore = "needs scripts/assets (GloVe 6B 50d); run with --include-ignored"]
fn glove_loads_and_king_minus_man_plus_woman_is_near_queen() {
    let v = WordVectors::glove().expect("GloVe is missing: run bash scripts/assets");
    assert_eq!(load_glove(&glove_dir()).unwrap().data(), v.data());
    assert_eq!(v.len(), 400_000);
    assert_eq!(v.dim(), 50);
    assert_eq!(&v.words()[..3], &["the", ",", "."]);
    // the first row of glove.6B.50d.txt: "the 0.418 0.24968 -0.41242 ..."
    let the = v.get("the").unwrap();
    assert!(
        (the[0] - 0.418).abs() < 1e-6 && (the[1] - 0.24968).abs() < 1e-6,
        "{the:?}"
    );
    let a = v.analogy("man", "king", "woman", 3).unwrap();
    assert!(a.iter().any(|n| n.word == "queen"), "{a:?}");
    let t = v.neighbours_table(&["frog", "murder"], 5);
    assert_eq!(t.height(), 10);
    eprintln!("{}", t.to_html());
}

#[test]
#[ignore = "needs scripts/assets (spaCy en_core_web_md); run with --include-ignored"]
fn spacy_loads_and_cat_is_nearer_dog_than_tax() {
    let v = load_spacy(&spacy_dir()).expect("spaCy vectors missing: run bash scripts/assets");
    assert_eq!(v.dim(), 300);
    assert!(v.len() <= 20_000 && v.len() > 19_000, "{} rows", v.len());
    assert!(v.n_lookup_words() > 600_000, "{}", v.n_lookup_words());
    let (cat, dog, tax) = (
        v.get("cat").unwrap(),
        v.get("dog").unwrap(),
        v.get("tax").unwrap(),
    );
    let (cd, ct) = (cosine(cat, dog), cosine(cat, tax));
    eprintln!("cos(cat, dog) = {cd}, cos(cat, tax) = {ct}");
    assert!(cd > ct, "cos(cat, dog) = {cd}, cos(cat, tax) = {ct}");
    // The packaged table is pruned: its 20,000 rows hold 10,112 distinct vectors, and cat,
    // kitten (one row) and dog (another row) share one vector, so cos(cat, dog) is 1 here.
    assert_eq!(v.index_of("kitten"), v.index_of("cat"));
    // "Cat" is another string of the same row
    assert_eq!(v.index_of("Cat"), v.index_of("cat"));
    assert_eq!(v.nearest("cats", 5).unwrap().len(), 5);
    let t = v.neighbours_table(&["cats", "murder"], 5);
    eprintln!("{}", t.to_html());
}

// ---------------------------------------------------------------------------------------------
// Pipelines on the real slice

fn save_load_identical(name: &str, sets: &[(&str, &str)]) {
    let train = Dataset::kaggle(shared("train_data.txt")).unwrap();
    let test = Dataset::kaggle(shared("test_data_solution.txt")).unwrap();
    let train = train.take(&(0..600).collect::<Vec<_>>()).unwrap();
    let test = test.take(&(0..200).collect::<Vec<_>>()).unwrap();
    let mut cfg = PipelineConfig::from_name(name).unwrap();
    assert!(matches!(
        cfg.representation,
        RepresentationSpec::WordVectors(_)
    ));
    if name.ends_with("-ffnn") {
        cfg.set("epochs", "2").unwrap();
        cfg.set("hidden", "32").unwrap();
    }
    for (k, v) in sets {
        cfg.set(k, v).unwrap();
    }
    let model = cfg
        .fit_with(
            &train,
            PipelineFitOptions {
                quiet: true,
                ..Default::default()
            },
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let loaded = load_model(dir.path()).unwrap();
    assert_eq!(loaded.pipeline(), name);
    let a = model.scores(&test).unwrap();
    let b = loaded.scores(&test).unwrap();
    assert_eq!(a, b, "{name}: scores differ after save → load");
}

#[test]
fn w2v_and_fasttext_pipelines_save_and_load_identical_scores() {
    save_load_identical("w2v-ffnn", &[("wv_epochs", "2")]);
    save_load_identical("fasttext-ffnn", &[("wv_epochs", "2"), ("pool", "mean")]);
    save_load_identical("w2v-linear", &[("wv_epochs", "2"), ("pool", "tfidf")]);
}

#[test]
#[ignore = "needs scripts/assets (GloVe, spaCy); run with --include-ignored"]
fn glove_and_spacy_pipelines_save_and_load_identical_scores() {
    save_load_identical("glove-ffnn", &[]);
    save_load_identical("spacy-ffnn", &[("pool", "tfidf")]);
}

/// `--set vectors=FILE`: a `.vec` file (the first 30,000 GloVe words) instead of the folder;
/// the saved model records the file's sha256 and refuses it once it changed.
#[test]
#[ignore = "needs scripts/assets (GloVe 6B 50d); run with --include-ignored"]
fn glove_pipeline_reads_a_vectors_file_and_notices_when_it_changes() {
    let g = WordVectors::glove().expect("GloVe is missing: run bash scripts/assets");
    let n = 30_000;
    let small = WordVectors::new(
        g.words()[..n].to_vec(),
        g.dim(),
        g.data()[..n * g.dim()].to_vec(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("small.vec");
    VectorFormat::FastTextVec.write(&small, &file).unwrap();
    let train = Dataset::kaggle(shared("train_data.txt")).unwrap();
    let train = train.take(&(0..400).collect::<Vec<_>>()).unwrap();
    let mut cfg = PipelineConfig::from_name("glove-linear").unwrap();
    cfg.set("vectors", file.to_str().unwrap()).unwrap();
    let model = cfg
        .fit_with(
            &train,
            PipelineFitOptions {
                quiet: true,
                ..Default::default()
            },
        )
        .unwrap();
    let out = dir.path().join("model");
    model.save(&out).unwrap();
    let a = model.scores(&train).unwrap();
    assert_eq!(a, load_model(&out).unwrap().scores(&train).unwrap());
    // change one value of the file: loading refuses it
    let mut data = small.data().to_vec();
    data[0] += 1.0;
    let changed = WordVectors::new(small.words().to_vec(), small.dim(), data).unwrap();
    VectorFormat::FastTextVec.write(&changed, &file).unwrap();
    let e = match load_model(&out) {
        Ok(_) => panic!("a changed vectors file was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("sha256") && e.contains("small.vec"), "{e}");
}

#[test]
fn a_bad_word_vector_option_names_the_key() {
    let mut cfg = PipelineConfig::from_name("w2v-ffnn").unwrap();
    let e = cfg.set("wv_dim", "abc").unwrap_err().to_string();
    assert!(e.contains("wv_dim"), "{e}");
    let e = cfg.set("pool", "max").unwrap_err().to_string();
    assert!(e.contains("pool"), "{e}");
    // `epochs` stays the FFNN's
    cfg.set("epochs", "3").unwrap();
    let mut g = PipelineConfig::from_name("glove-ffnn").unwrap();
    let e = g.set("wv_epochs", "3").unwrap_err().to_string();
    assert!(e.contains("wv_epochs"), "{e}");
    let mut g = WordVectorFeatures::glove();
    g.set("vectors", "/nonexistent/vectors").unwrap();
    let train = Dataset::kaggle(shared("train_data.txt")).unwrap();
    let train = train.take(&(0..50).collect::<Vec<_>>()).unwrap();
    let e = g.fit_transform(&train).unwrap_err().to_string();
    assert!(e.contains("/nonexistent/vectors"), "{e}");
}

fn cli_end_to_end(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let train = shared("train_data.txt");
    let model = dir.path().join(name);
    let mut args = vec![
        "fit",
        "--train",
        s(&train),
        "--pipeline",
        name,
        "--out",
        s(&model),
        "--set",
        "epochs=4",
    ];
    if name.starts_with("w2v") || name.starts_with("fasttext") {
        args.extend(["--set", "wv_epochs=3"]);
    }
    let (ok, out, err) = genre(&args);
    assert!(ok, "{name}: fit failed: {err}");
    assert!(
        out.contains(&format!("trained {name} on 1898 rows")),
        "{out}"
    );
    assert!(model.join("wordvec.json").exists());
    let (acc, f1) = predict_and_evaluate(name, &model, dir.path());
    eprintln!("{name}: 4 epochs: accuracy {acc:.4}, macro-F1 {f1:.4}");
    // chance over 27 genres is a macro-F1 near 0.03
    assert!(
        acc > 0.1 && f1 > 0.04,
        "{name}: accuracy {acc}, macro-F1 {f1}"
    );
}

#[test]
fn cli_fit_predict_evaluate_w2v_and_fasttext() {
    cli_end_to_end("w2v-ffnn");
    cli_end_to_end("fasttext-ffnn");
}

#[test]
#[ignore = "needs scripts/assets (GloVe, spaCy); run with --include-ignored"]
fn cli_fit_predict_evaluate_glove_and_spacy() {
    cli_end_to_end("glove-ffnn");
    cli_end_to_end("spacy-ffnn");
}

#[test]
fn cli_lists_the_pipelines_and_names_a_bad_key() {
    let (ok, out, _) = genre(&["fit", "--train", "x", "--pipeline", "help", "--out", "x"]);
    assert!(ok);
    for name in [
        "w2v-ffnn",
        "fasttext-ffnn",
        "glove-ffnn",
        "spacy-ffnn",
        "glove-linear",
    ] {
        assert!(out.contains(&format!("{name}: ")), "{out}");
    }
    assert!(
        out.contains("wv_epochs") && out.contains("pool (mean|tfidf|sif)"),
        "{out}"
    );
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = genre(&[
        "fit",
        "--train",
        s(&shared("train_data.txt")),
        "--pipeline",
        "w2v-ffnn",
        "--out",
        s(&dir.path().join("m")),
        "--set",
        "wv_dim=abc",
    ]);
    assert!(!ok);
    assert!(err.contains("wv_dim"), "{err}");
}
