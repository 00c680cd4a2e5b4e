"""Where the test fixtures live: real Z-BlogPHP/tpure pages vendored from ../shared/ (see samples/SAMPLES.md)."""

from pathlib import Path

SAMPLES = Path(__file__).resolve().parent / "samples"
SEED = SAMPLES / "seed-post-3756.txt"
