"""Does a Korean morphological analyser find names better than promptship's rules? (issue 15)

Compares, on the held-out corpus and the public development set, person-name precision and recall of:

- ``rules``: ``promptship.pii`` as shipped (surname-initial runs with cues);
- ``kiwi``: every proper noun (NNP) Kiwi finds whose form is a plausible Korean name (adjacent NNP
  pieces joined: Kiwi splits 권나래 into 권 + 나래);
- ``rules+kiwi``: the union of both;

and prints Kiwi's load time, installed size and CPU throughput next to the rules'. Kiwi
(``kiwipiepy`` + ``kiwipiepy_model``) is not a promptship dependency; to run this:

    pip install --target /tmp/kiwienv kiwipiepy kiwipiepy_model
    PYTHONPATH=tooling:/tmp/kiwienv python bench/pii_morphology.py [--public PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from pii_quality import HELDOUT, PUBLIC, THRESHOLD, load  # noqa: E402
from pii_speed import mixed_text  # noqa: E402

Spans = set[tuple[int, int]]


def rule_names(text: str) -> Spans:
    from promptship.pii import detect

    return {(f.start, f.end) for f in detect(text, ["person_name"]) if f.confidence >= THRESHOLD}


def kiwi_names(kiwi: object) -> Callable[[str], Spans]:
    from promptship.pii.names import plausible_name

    def find(text: str) -> Spans:
        found: Spans = set()
        run: list[tuple[int, int]] = []
        for token in [*kiwi.tokenize(text), None]:  # type: ignore[attr-defined]
            if token is not None and token.tag == "NNP" and (not run or token.start == run[-1][1]):
                run.append((token.start, token.start + token.len))
                continue
            if run:
                start, end = run[0][0], run[-1][1]
                if plausible_name(text[start:end], min_length=2):
                    found.add((start, end))
            run = [(token.start, token.start + token.len)] if token is not None and token.tag == "NNP" else []
        return found

    return find


def score(corpus: Path, finder: Callable[[str], Spans]) -> tuple[float, float]:
    tp = fp = fn = 0
    for text, gold, ignored in load(corpus):
        names = {(s, e) for kind, s, e in gold if kind == "person_name"}
        predicted = finder(text)
        tp += len(predicted & names)
        fn += len(names - predicted)
        fp += sum(1 for s, e in predicted - names if not any(a < e and s < b for a, b in ignored))
    return tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0


def throughput(finder: Callable[[str], object], lines: list[str]) -> float:
    """CPU megabytes per second, message by message."""
    megabytes = sum(len(line.encode()) for line in lines) / 1_000_000
    started = time.process_time()
    for line in lines:
        finder(line)
    return megabytes / (time.process_time() - started)


def _corpora(public: Path | None) -> Iterator[tuple[str, Path]]:
    yield "held-out", HELDOUT
    if public is not None:
        yield "public-dev", public


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--public", type=Path, default=PUBLIC if PUBLIC.exists() else None)
    args = parser.parse_args()
    try:
        import kiwipiepy
        import kiwipiepy_model
    except ImportError:
        sys.exit("kiwipiepy is not installed; see the docstring")
    size = sum(p.stat().st_size for p in Path(kiwipiepy_model.__file__).parent.rglob("*") if p.is_file())
    size += sum(p.stat().st_size for p in Path(kiwipiepy.__file__).parent.parent.glob("_kiwipiepy*"))
    started, wall = time.process_time(), time.perf_counter()
    kiwi = kiwipiepy.Kiwi()
    kiwi.tokenize("워밍업")
    print(
        f"Kiwi {kiwipiepy.__version__}: model and library {size / 1e6:.0f} MB installed, "
        f"load {time.process_time() - started:.1f} s CPU ({time.perf_counter() - wall:.1f} s wall)"
    )
    finders = {"rules": rule_names, "kiwi": kiwi_names(kiwi)}
    finders["rules+kiwi"] = lambda text: finders["rules"](text) | finders["kiwi"](text)
    lines = mixed_text(0.3, pii_share=0.3).split("\n")
    for name, finder in finders.items():
        figures = [
            f"{label} P {p:.3f} R {r:.3f}" for label, path in _corpora(args.public) for p, r in [score(path, finder)]
        ]
        print(f"  {name:11} {' | '.join(figures)} | {throughput(finder, lines):6.2f} MB/s CPU")


if __name__ == "__main__":
    main()
