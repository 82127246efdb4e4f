#!/usr/bin/env bash
# Install the offline policy assistant from this bundle into TARGET (default: ./policy-assistant),
# with no network: check every file against MANIFEST, then a virtual environment from the
# bundled wheels only, the models (SHA-256 verified), the documents, the index, the doctor.
# An update bundle is applied the same way on top of an earlier installation.
#   bash install.sh [TARGET]          PYTHON=/path/to/python3.11 to choose the interpreter
set -euo pipefail

BUNDLE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TARGET="${1:-policy-assistant}"
PYTHON="${PYTHON:-python3.11}"

# Nothing may reach for a registry: no pip configuration files, no index settings.
for name in $(env | sed -n 's/^\(PIP_[A-Z_]*\)=.*/\1/p; s/^\(ASSISTANT_[A-Z_]*\)=.*/\1/p'); do
  unset "$name"
done
export PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1 PYTHONNOUSERSITE=1

fail() { echo "REFUSED: $*" >&2; exit 1; }

if ! command -v "$PYTHON" > /dev/null 2>&1 \
   || [ "$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" != "3.11" ]; then
  fail "Python 3.11 is needed (the bundled wheels are built for CPython 3.11) and '$PYTHON' is" \
       "not it. Install python3.11 from the system's installation media (Debian: apt-get install" \
       "python3.11), or give its path: PYTHON=/path/to/python3.11 bash install.sh $TARGET"
fi

echo "== checking every file of $BUNDLE against its MANIFEST"
"$PYTHON" "$BUNDLE/check_bundle.py" "$BUNDLE" "$TARGET" || exit 1
KIND="$(sed -n 's/^kind //p' "$BUNDLE/MANIFEST")"

mkdir -p "$TARGET/.bundle"
TARGET="$(cd "$TARGET" && pwd)"
VENV="$TARGET/.venv"
shopt -s nullglob
WHEELS=("$BUNDLE"/wheels/*.whl)
if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV"
  "$PYTHON" -m venv --without-pip "$VENV"
fi
if [ "${#WHEELS[@]}" -gt 0 ]; then
  echo "== installing the bundle's ${#WHEELS[@]} wheel file(s) (no index, no network)"
  if "$VENV/bin/python" -c 'import pip' 2> /dev/null; then
    PIP=("$VENV/bin/python" -m pip)
    AGAIN=(--force-reinstall)  # same version numbers may carry new code
  else
    PIP_WHEEL=("$BUNDLE"/wheels/pip-*.whl)
    [ "${#PIP_WHEEL[@]}" -eq 1 ] || fail "the bundle carries no pip wheel and $VENV has no pip"
    PIP=("$VENV/bin/python" "${PIP_WHEEL[0]}/pip")
    AGAIN=()
  fi
  "${PIP[@]}" install --no-index --find-links "$BUNDLE/wheels" --no-deps --progress-bar off \
    --quiet "${AGAIN[@]}" "${WHEELS[@]}"
  "$VENV/bin/python" -m pip check || fail "the installed packages do not fit together (above):" \
    "the bundle lacks a wheel. Build it again with \`make bundle\`."
fi

echo "== laying out the models, documents and index in $TARGET"
"$VENV/bin/python" -m assistant.deploy.install "$BUNDLE" "$TARGET" || exit 1

cd "$TARGET"
echo "== bringing the index up to date (only documents not yet indexed are embedded)"
.venv/bin/assistant index || fail "the index could not be built (above); nothing else changed."

echo "== assistant doctor"
if ! .venv/bin/assistant doctor; then
  echo "   (the lines marked FIX above say what to do; the assistant is installed)"
fi
command -v tesseract > /dev/null \
  || echo "note: tesseract is not installed: scanned PDF pages and images cannot be read (every" \
          "other document can). Install tesseract-ocr from the system's installation media."
command -v chromium > /dev/null \
  || echo "note: chromium is not installed: only the project's browser test uses it."

cp "$BUNDLE/MANIFEST" "$TARGET/.bundle/MANIFEST"
echo "== installed ($KIND bundle, manifest SHA-256 $(cut -d' ' -f1 "$BUNDLE/MANIFEST.sha256"))"
echo "   start the chat UI:  cd $TARGET && .venv/bin/assistant ui"
echo "   then open http://127.0.0.1:7860 in a browser on this computer"
