"""PII detection throughput on mixed Korean text (target >= 5 MB/s on one core) and the time taken
by adversarial inputs (linear-time check). Times are the process's CPU time (``time.process_time``), so
the figures hold on a machine shared with other work; the wall-clock rate is printed beside them.

    python bench/pii_speed.py [--megabytes 8]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
CORPUS = PROJECT / "tests" / "pii" / "corpus.jsonl"

FILLER = [
    "배달이 빨리 와서 좋았어요.",
    "양념치킨 반 후라이드 반 주문합니다.",
    "문 앞에 두고 벨 눌러주세요.",
    "포장 상태가 좋았습니다.",
    "다음에도 주문할게요!",
    "맛은 좋은데 조금 짰어요.",
    "Delivery was quick, thanks.",
]


def mixed_text(megabytes: float, seed: int = 1, pii_share: float = 0.3) -> str:
    rng = random.Random(seed)
    messages = [json.loads(line)["text"] for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    parts, size = [], 0
    while size < megabytes * 1_000_000:
        piece = rng.choice(messages) if rng.random() < pii_share else rng.choice(FILLER)
        parts.append(piece)
        size += len(piece.encode())
    return "\n".join(parts)


def main() -> None:
    from promptship.pii import detect

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=float, default=8)
    args = parser.parse_args()
    for share in (0.3, 0.05):
        text = mixed_text(args.megabytes, pii_share=share)
        lines = text.split("\n")
        megabytes = len(text.encode()) / 1_000_000
        started, wall = time.process_time(), time.perf_counter()
        whole = detect(text)
        whole_s, whole_wall = time.process_time() - started, time.perf_counter() - wall
        started = time.process_time()
        per_message = sum(len(detect(line)) for line in lines)
        per_message_s = time.process_time() - started
        print(
            f"mixed Korean text, {megabytes:.1f} MB, {len(lines):,} messages, {share:.0%} of them from the PII corpus"
        )
        print(
            f"  whole text:   {megabytes / whole_s:6.1f} MB/s CPU ({megabytes / whole_wall:.1f} wall; "
            f"{len(whole):,} findings)  target >= 5 MB/s: {'met' if megabytes / whole_s >= 5 else 'NOT met'}"
        )
        print(f"  per message:  {megabytes / per_message_s:6.1f} MB/s CPU ({per_message:,} findings)")
    for label, adversarial in (
        ("200k digits", "9" * 200_000),
        ("100k '1-'", "1-" * 100_000),
        ("100k '님'", "님" * 100_000),
        ("100k letters then @", "a" * 100_000 + "@"),
        ("20k phone numbers", "010-1234-5678 " * 20_000),
    ):
        started = time.process_time()
        detect(adversarial)
        elapsed = time.process_time() - started
        print(f"  adversarial {label:22} {elapsed * 1000:8.1f} ms ({len(adversarial) / elapsed / 1e6:.1f} M chars/s)")


if __name__ == "__main__":
    main()
