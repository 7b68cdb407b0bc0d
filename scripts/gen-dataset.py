#!/usr/bin/env python3
"""Writes a synthetic data file for benchplan: ShareGPT JSON or jsonl.

  scripts/gen-dataset.py sharegpt OUT.json SIZE_MB [--seed=N] [--answer-words=N]
  scripts/gen-dataset.py jsonl    OUT.jsonl SIZE_MB [--seed=N] [--answer-words=N]

Conversations are made from a fixed vocabulary, of varied lengths (one to
three exchanges, answers of 10 to 400 words, or to --answer-words), so that large files for
memory checks (make dataset-check) can be made without downloading one.
The text means nothing; the shapes are ShareGPT's and OpenAI's.
"""
import json
import random
import sys

WORDS = ("the of and to in is that it for on with as was at by be this are from or have an they which one "
         "you were all there would their we been has when who will more no if out so said what up its about "
         "into than them can only other new some could time these two may then do first any my now such like "
         "our over even most made after also did many before must through back years where much your way well "
         "down should because each just those people how too little state good very make world still own see "
         "work long get here between both life being under never day same another know while last might great "
         "old year off come since against go came right used take three").split()
TOPICS = ["a sorting algorithm", "the French revolution", "a sourdough recipe", "unit testing in Go",
          "photosynthesis", "a haiku about rain", "TCP congestion control", "the rules of chess",
          "a cover letter", "compound interest", "black holes", "a SQL query plan", "a bedtime story",
          "Kubernetes readiness probes", "the water cycle", "a limerick about a cat"]


_POOL = []


def text(rng, n):
    """About n words: a slice of a pool of random words (fast enough for GBs)."""
    if not _POOL:
        prng = random.Random(0)
        _POOL.append(" ".join(prng.choice(WORDS) for _ in range(200000)))
    pool = _POOL[0]
    start = pool.find(" ", rng.randrange(len(pool) - 8 * n - 16)) + 1
    end = pool.rfind(" ", start, start + 5 * n + 1)
    return pool[start:end if end > start else start + 5 * n]


def conversation(rng, i, answer_words):
    topic = rng.choice(TOPICS)
    turns = []
    if rng.random() < 0.2:
        turns.append({"from": "system", "value": "You are a helpful assistant. Answer concisely."})
    for k in range(rng.choice([1, 1, 1, 2, 3])):
        q = ("Tell me about " if k == 0 else "And ") + topic + ": " + text(rng, rng.randint(5, 120)) + "?"
        turns.append({"from": "human", "value": q})
        turns.append({"from": "gpt", "value": text(rng, rng.randint(10, answer_words)) + "."})
    return {"id": "synthetic-%d" % i, "conversations": turns}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    seed, answer_words = 1, 400
    for a in sys.argv[1:]:
        if a.startswith("--seed="):
            seed = int(a.split("=", 1)[1])
        elif a.startswith("--answer-words="):
            answer_words = max(10, int(a.split("=", 1)[1]))
        elif a.startswith("--"):
            sys.exit(__doc__)
    if len(args) != 3 or args[0] not in ("sharegpt", "jsonl"):
        sys.exit(__doc__)
    fmt, out, size = args[0], args[1], float(args[2]) * (1 << 20)
    rng = random.Random(seed)
    written, i = 0, 0
    with open(out, "w", encoding="utf-8") as f:
        if fmt == "sharegpt":
            f.write("[\n")
        while written < size:
            c = conversation(rng, i, answer_words)
            if fmt == "sharegpt":
                s = ("" if i == 0 else ",\n") + json.dumps(c, ensure_ascii=False)
            else:
                first = next(t for t in c["conversations"] if t["from"] == "human")
                answer = next(t for t in c["conversations"] if t["from"] == "gpt")
                s = json.dumps({"prompt": first["value"], "output_tokens": max(1, len(answer["value"].split()) * 4 // 3)}) + "\n"
            f.write(s)
            written += len(s)
            i += 1
        if fmt == "sharegpt":
            f.write("\n]\n")
    print("%s: %d records, %.1f MB" % (out, i, written / (1 << 20)), file=sys.stderr)


if __name__ == "__main__":
    main()
