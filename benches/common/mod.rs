//! What the benches that run a PyTorch peer share: where the tools live and the peer's venv.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `$GENRE_NLP_TOOLS`, or `.tools` (the scripts' default).
pub fn tools_dir() -> PathBuf {
    std::env::var_os("GENRE_NLP_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".tools"))
}

/// The Python of `$GENRE_NLP_TOOLS/torch-venv` once `import {imports}` works there, installing
/// `benches/peers/requirements-torch.txt` into it first when it does not.
pub fn torch_python(imports: &str) -> std::result::Result<PathBuf, String> {
    let venv = tools_dir().join("torch-venv");
    let py = venv.join("bin/python");
    let ok = |py: &Path| {
        Command::new(py)
            .args(["-c", &format!("import {imports}")])
            .status()
            .is_ok_and(|s| s.success())
    };
    if ok(&py) {
        return Ok(py);
    }
    eprintln!("installing the PyTorch peer into {} ...", venv.display());
    if !py.exists() {
        let st = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .map_err(|e| format!("python3 -m venv: {e}"))?;
        if !st.success() {
            return Err("python3 -m venv failed".into());
        }
    }
    let req = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/requirements-torch.txt");
    let st = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&req)
        .status()
        .map_err(|e| format!("pip: {e}"))?;
    if !st.success() || !ok(&py) {
        return Err("pip install of the PyTorch peer failed".into());
    }
    Ok(py)
}
