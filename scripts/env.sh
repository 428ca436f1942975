# Sourced by the other scripts: where the project's tools live. Everything stays inside
# GENRE_NLP_TOOLS (default: .tools/ in the checkout), so a run never depends on what a machine
# had before. CI points GENRE_NLP_TOOLS and CARGO_TARGET_DIR at a cache outside the clone.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export GENRE_NLP_ROOT="$ROOT"
export GENRE_NLP_TOOLS="${GENRE_NLP_TOOLS:-$ROOT/.tools}"
mkdir -p "$GENRE_NLP_TOOLS"
export GENRE_NLP_TOOLS="$(cd "$GENRE_NLP_TOOLS" && pwd)"
VENV="$GENRE_NLP_TOOLS/venv"
EVCXR_VERSION="0.22.0"
EVCXR_BIN="$GENRE_NLP_TOOLS/cargo/bin/evcxr_jupyter"
# Jupyter and evcxr keep every file under the tools folder.
export JUPYTER_PATH="$GENRE_NLP_TOOLS/jupyter/data"
export JUPYTER_DATA_DIR="$GENRE_NLP_TOOLS/jupyter/data"
export JUPYTER_CONFIG_DIR="$GENRE_NLP_TOOLS/jupyter/config"
export JUPYTER_RUNTIME_DIR="$GENRE_NLP_TOOLS/jupyter/runtime"
export JUPYTER_PLATFORM_DIRS=1
export IPYTHONDIR="$GENRE_NLP_TOOLS/jupyter/ipython"
export EVCXR_CONFIG_DIR="$GENRE_NLP_TOOLS/evcxr/config"
export XDG_CACHE_HOME="$GENRE_NLP_TOOLS/evcxr/cache"
# The kernel compiles the library and its dependencies here; kept between runs so only the
# first execution pays for compiling polars and friends.
export EVCXR_TMPDIR="${EVCXR_TMPDIR:-$GENRE_NLP_TOOLS/evcxr/build}"
export PATH="$GENRE_NLP_TOOLS/cargo/bin:$VENV/bin:$PATH"
