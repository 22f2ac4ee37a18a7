"""Make notebook 09's shipped data: the cached Essen corpus and the trained LSTM weights (maintainers only).

Parsing the corpus with music21 is slow (about 0.1 s per tune), so it is done once and its notes are cached in
``data/essen_german.json.gz``; the notebook only reads that cache (``utils.music.load_tunes``). The shipped model
is trained in two runs (from scratch, then ``--resume`` to anneal it), each under half an hour on two CPU cores.
Both commands rewrite their section of ``data/README.md``::

    python -m tools.music_data parse --jobs 2     # all 20 German files (~6,000 tunes), several minutes
    python -m tools.music_data parse --files kinder0 --limit 5 --out few.json.gz --no-readme   # a quick subset
    python -m tools.music_data train              # trains the LSTM from scratch
    python -m tools.music_data train --resume data/music_lstm.weights.h5   # anneals it: the weights 09 ships with
    python -m tools.music_data homework           # 3 runs of 09's homework plan from scratch: its NLL per epoch

The parsing and modelling code itself is in ``utils.music`` (the notebook, its tests and this tool share it).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import inspect
import json
import math
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

from utils import DATA_DIR, music


def _parse_file(args: tuple[str, int | None]) -> list[dict]:
    """The tunes of one Essen file (the first ``limit`` of them, or all), each tagged with the file's name."""
    name, limit = args
    chunks = music.split_abc(music.corpus_path(name).read_text(encoding="latin-1"))
    tunes = []
    for position, chunk in enumerate(chunks[:limit], start=1):
        try:
            tune = music.parse_tune(chunk)
        except Exception as exc:  # music21 rejects a handful of malformed tunes: skip them, say so
            print(f"  skipped {name} tune {position}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        if tune is not None:
            tune["file"] = name
            tunes.append(tune)
    return tunes


def build_cache(files=music.GERMAN_FILES, out: Path = music.CACHE, limit: int | None = None, jobs: int = 1) -> dict:
    """Parse the given Essen files (the first ``limit`` tunes of each, or all) and write the cache; returns its info."""
    import music21

    if not files:
        raise ValueError("give at least one Essen file name, e.g. files=('kinder0',)")
    work = [(name, limit) for name in files]
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs) as pool:
            per_file = list(pool.map(_parse_file, work))
    else:
        per_file = [_parse_file(w) for w in work]
    tunes = [tune for chunk in per_file for tune in chunk]
    payload = {"corpus": "music21 essenFolksong (German files)", "music21_version": music21.__version__,
               "files": list(files), "tunes": tunes}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as handle, gzip.GzipFile(fileobj=handle, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw)  # mtime=0 and no file name: the same notes give the same bytes, hence the same sha256
    tmp.replace(out)
    return {"path": out, "tunes": len(tunes), "notes": sum(len(t["notes"]) for t in tunes),
            "sha256": hashlib.sha256(out.read_bytes()).hexdigest(), "music21": music21.__version__,
            "files": list(files)}


def model_sizes() -> dict:
    """The default sizes and learning rate of ``music.build_melody_lstm``: what ``train`` builds and the README says."""
    return {name: p.default for name, p in inspect.signature(music.build_melody_lstm).parameters.items()
            if p.default is not p.empty and name != "compile"}


def train_shipped_model(out: Path = music.WEIGHTS, epochs: int | None = None, seed: int = 1, tunes=None,
                        resume: Path | None = None) -> dict:
    """Train the LSTM the notebook ships with, on the training tunes only, and save its weights.

    Two runs, so that each fits in half an hour of a busy machine. From scratch (``resume=None``): Adam at
    ``build_melody_lstm``'s constant learning rate, batch ``TRAINING["batch_size"]``, ``TRAINING["epochs"]`` epochs.
    Then ``resume=<those weights>`` continues for ``TRAINING["resume_epochs"]`` epochs of batch
    ``TRAINING["resume_batch_size"]`` while the rate falls from the same value to 0 along a cosine: the first run was
    still improving at its last epoch, and ever smaller steps let the weights settle where large ones only circle.
    The run is ``music.train_melody_lstm``, the reference answer of the notebook's Exercise 3: it learns from the
    training tunes but the hold-out ones (``music.prepare_corpus``) and keeps the epoch with the lowest loss on those
    (early stopping); the validation tunes are never seen. ``tunes`` (default: the cached corpus) lets a test train on
    a handful.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    corpus = music.prepare_corpus(tunes)
    ids, vocab = corpus["ids"], corpus["vocab"]
    fit_ids, hold_ids, val_ids = ([ids[i] for i in corpus[part]] for part in ("fit", "hold", "val"))
    t, rate = music.TRAINING, model_sizes()["learning_rate"]
    batch_size = t["batch_size"] if resume is None else t["resume_batch_size"]
    epochs = (t["epochs"] if resume is None else t["resume_epochs"]) if epochs is None else epochs
    if resume is not None:  # the cosine reaches 0 after the last epoch's last batch
        rate = keras.optimizers.schedules.CosineDecay(rate, decay_steps=epochs * math.ceil(len(fit_ids) / batch_size))
    model = music.build_melody_lstm(len(vocab), learning_rate=rate)
    resumed = {}
    if resume is not None:
        resume = Path(resume)
        if not resume.is_file():
            raise ValueError(f"No weights at {resume}: run `python -m tools.music_data train` first, then resume.")
        model.load_weights(resume)
        resumed = {"resumed_sha256": hashlib.sha256(resume.read_bytes()).hexdigest(),
                   "resumed_val_nll": music.lstm_nll(model, val_ids)}
    started = time.perf_counter()
    history = music.train_melody_lstm(model, fit_ids, hold_ids, epochs, batch_size)
    seconds = time.perf_counter() - started
    out = Path(out)
    inference = music.build_melody_lstm(len(vocab), compile=False)  # saved without Adam's moments: a third the size
    inference.set_weights(model.get_weights())
    inference.save_weights(out)
    best = int(np.argmin(history.history["val_loss"])) + 1
    return {"path": out, "epochs_run": len(history.history["loss"]), "best_epoch": best, "seconds": seconds,
            "val_nll": music.lstm_nll(model, val_ids), "vocab": len(vocab), "params": model.count_params(),
            "sha256": hashlib.sha256(out.read_bytes()).hexdigest()} | resumed


def measure_homework_plan(out: Path = music.HOMEWORK_RUNS, starts: int = 3, epochs: int | None = None,
                          tunes=None) -> dict:
    """Train ``music.HOMEWORK_PLAN`` from scratch ``starts`` times; write its validation NLL after every epoch.

    The evidence behind notebook 09's CPU budget: how far the plan gets per epoch, over several starts (seeds 0, 1, …),
    and how long an epoch takes. Each run is the reference ``build_melody_lstm`` trained like ``train_melody_lstm``
    (same batches, hold-out tunes as validation) but for all its epochs, without stopping early, so that the table
    shows the whole curve; an epoch's seconds exclude the NLL measurement. Writes a CSV (start, epoch, validation NLL,
    hold-out NLL, seconds, CPU seconds).
    """
    import keras
    import pandas as pd
    import tensorflow as tf

    plan = dict(music.HOMEWORK_PLAN)
    epochs = plan.pop("epochs") if epochs is None else epochs
    plan.pop("epochs", None)
    batch_size = plan.pop("batch_size")
    corpus = music.prepare_corpus(tunes)
    ids = corpus["ids"]
    fit_ids, hold_ids, val_ids = ([ids[i] for i in corpus[part]] for part in ("fit", "hold", "val"))
    rows = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.wall, self.cpu = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            rows.append({"start": start, "epoch": epoch + 1, "seconds": round(time.perf_counter() - self.wall, 1),
                         "CPU seconds": round(time.process_time() - self.cpu, 1),
                         "validation NLL": round(music.lstm_nll(self.model, val_ids), 4),
                         "hold-out NLL": round(music.lstm_nll(self.model, hold_ids), 4)})
            print(rows[-1], flush=True)

    tf.config.experimental.enable_op_determinism()
    for start in range(starts):
        keras.utils.set_random_seed(start)
        model = music.build_melody_lstm(len(corpus["vocab"]), **plan)
        model.fit(music.tune_batches(fit_ids, batch_size, seed=start),
                  validation_data=music.tune_batches(hold_ids, 256),
                  epochs=epochs, callbacks=[Clock()], verbose=0)
    table = pd.DataFrame(rows)
    out = Path(out)
    table.to_csv(out, index=False)
    return {"path": out, "starts": starts, "epochs": epochs, "rows": len(table),
            "sha256": hashlib.sha256(out.read_bytes()).hexdigest(), "load": os.getloadavg()[0]}


def replace_readme_section(section: str, heading: str, readme: Path = DATA_DIR / "README.md") -> None:
    """Replace (or append) the section of ``readme`` that starts with ``heading``, up to the next ``## `` heading."""
    text = readme.read_text() if readme.exists() else "# Bundled data\n"
    pattern = re.compile(rf"\n{re.escape(heading)}\n.*?(?=\n## |\Z)", re.S)
    text = pattern.sub("", text).rstrip("\n") + "\n\n" + section.strip() + "\n"
    readme.write_text(text)


CACHE_HEADING = "## `essen_german.json.gz` — German folk songs of the Essen collection, parsed by music21"
WEIGHTS_HEADING = "## `music_lstm.weights.h5` — the LSTM melody model of notebook 09"
HOMEWORK_HEADING = "## `music_homework_runs.csv` — notebook 09's homework plan, trained from scratch"


def cache_section(info: dict) -> str:
    """The data/README.md section of the corpus cache, from what ``build_cache`` returned."""
    return f"""{CACHE_HEADING}

- **What:** {info['tunes']:,} monophonic folk-song melodies ({info['notes']:,} notes and rests) with title, Essen id
  (`N:` field), meter and key signature; each note a pair `[MIDI pitch or null for a rest, duration in quarter notes]`,
  ties merged, grace notes dropped. Gzipped JSON (written with mtime 0, so the same notes give the same bytes).
- **Source:** the Essen Folksong Collection (encoded under Helmut Schaffrath, continued by Ewa Dahlig-Turek; ABC
  encodings by Seymour Schlien), in the ABC files that ship inside music21 {info['music21']} on PyPI, folder
  `music21/corpus/essenFolksong/`, files {', '.join(f"`{name}.abc`" for name in info['files'])}.
- **License:** music21's code is BSD-3-Clause, but its `essenFolksong/license.txt` says the legal status of the Essen
  data "is unclear", that Prof. Dahlig-Turek gave permission for non-commercial distribution and use of the files in
  music21, and that the ABC encodings are distributed by Seymour Schlien's permission. This cache holds only notes,
  rests, titles, meters and key signatures derived from those files, for non-commercial teaching; it is **not** covered
  by this repository's MIT license. Anyone who needs a clean license can delete it and rebuild it from music21 with
  the command below.
- **How extracted:** `python -m tools.music_data parse --jobs 2` (`tools.music_data.build_cache`, about 10 minutes on
  2 busy cores): split each file into tunes at `X:`, parse each tune with `music21.converter.parse(..., format="abc")`,
  merge tied notes (the same notes as `stripTies()`, checked in `tests/test_music.py`), read notes, rests, key
  signature.
- **Rows:** {info['tunes']:,} tunes. **sha256:** `{info['sha256']}`
- **Read by:** `utils.music.load_tunes()` (notebook 09)."""


def weights_section(info: dict) -> str:
    """The data/README.md section of the shipped weights, from what ``train_shipped_model`` returned."""
    m, t = model_sizes(), music.TRAINING
    resumed = f" (best epoch {info['best_epoch']} of {info['epochs_run']}; "
    if "resumed_sha256" in info:  # the shipped weights are the second run's
        resumed = (f" (validation NLL {info['resumed_val_nll']:.3f}, sha256 `{info['resumed_sha256']}`); then\n"
                   f"  `python -m tools.music_data train --resume data/music_lstm.weights.h5` continued those weights "
                   f"for\n  {t['resume_epochs']} epochs of batch {t['resume_batch_size']}, the learning rate falling "
                   f"from {m['learning_rate']} to 0 along a\n  cosine{resumed}")
    return f"""{WEIGHTS_HEADING}

- **What:** weights of `utils.music.build_melody_lstm({info['vocab']})`: Embedding({m['embed_dim']}) →
  LSTM({m['units']}) → Dense({info['vocab']}), {info['params']:,} parameters, trained on the training tunes of
  `essen_german.json.gz` (tunes moved to C major's key signature; `utils.music.prepare_corpus`: whole song families
  held out, {t['val_fraction']:.0%} for validation and {t['hold_fraction']:.0%} of the rest as hold-out tunes,
  split seed {t['split_seed']}; the vocabulary from the training tunes only).
- **How made:** `python -m tools.music_data train` (`tools.music_data.train_shipped_model`, which trains with
  `utils.music.train_melody_lstm`): Adam {m['learning_rate']}, batch {t['batch_size']}, up to {t['epochs']} epochs
  with early stopping on the hold-out tunes{resumed}{info['seconds']:.0f} s on 2 shared CPU cores). The
  validation tunes are never seen; their NLL with these weights is {info['val_nll']:.3f} nats per token.
- **sha256:** `{info['sha256']}` (the bytes may differ between TensorFlow versions; the notebook recomputes the NLL).
- **Read by:** notebook 09 (`model.load_weights(utils.music.WEIGHTS)`)."""


def homework_section(info: dict) -> str:
    """The data/README.md section of the homework-plan measurements, from what ``measure_homework_plan`` returned."""
    plan = music.HOMEWORK_PLAN
    return f"""{HOMEWORK_HEADING}

- **What:** the validation and hold-out NLL (nats per token) after each epoch of {info['starts']} runs (starts 0 …
  {info['starts'] - 1}, the seed of each run) of the homework plan of notebook 09's Exercise 3,
  `utils.music.HOMEWORK_PLAN`: `build_melody_lstm(vocab, embed_dim={plan['embed_dim']}, units={plan['units']},
  learning_rate={plan['learning_rate']})`, batches of {plan['batch_size']}, {info['epochs']} epochs from scratch, on
  the training tunes of `essen_german.json.gz` (`utils.music.prepare_corpus`), no early stopping; and each epoch's
  wall-clock and CPU seconds (the NLL measurement excluded). {info['rows']} rows.
- **How made:** `python -m tools.music_data homework` (`tools.music_data.measure_homework_plan`), on 2 CPU cores
  shared with other work (load average {info['load']:.1f} at the end): the seconds are an upper bound for a free
  2-core machine.
- **sha256:** `{info['sha256']}`
- **Read by:** notebook 09 (`utils.music.homework_runs()`), which prints it as the evidence for its CPU budget."""


def main(argv=None) -> int:
    """The command line: ``parse`` (the corpus cache) or ``train`` (the shipped weights); see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m tools.music_data",
                                     description="Parse the Essen corpus into a token cache, or train the LSTM.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parse", help="parse the Essen ABC files with music21 and cache the notes")
    p.add_argument("--files", nargs="+", default=list(music.GERMAN_FILES), help="Essen file names (default: German)")
    p.add_argument("--limit", type=int, default=None, help="only the first LIMIT tunes of each file (for tests)")
    p.add_argument("--out", type=Path, default=music.CACHE)
    p.add_argument("--jobs", type=int, default=1, help="parallel processes")
    p.add_argument("--no-readme", action="store_true", help="do not update data/README.md")
    t = sub.add_parser("train", help="train the shipped LSTM and save its weights")
    t.add_argument("--out", type=Path, default=music.WEIGHTS)
    t.add_argument("--epochs", type=int, default=None, help="default: TRAINING's epochs, or resume_epochs")
    t.add_argument("--resume", type=Path, default=None, help="continue these weights with a cosine-decayed rate")
    t.add_argument("--no-readme", action="store_true", help="do not update data/README.md")
    h = sub.add_parser("homework", help="measure notebook 09's homework plan from scratch, several starts")
    h.add_argument("--out", type=Path, default=music.HOMEWORK_RUNS)
    h.add_argument("--starts", type=int, default=3)
    h.add_argument("--epochs", type=int, default=None, help="default: the plan's epochs")
    h.add_argument("--no-readme", action="store_true", help="do not update data/README.md")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.command == "parse":
        info = build_cache(args.files, args.out, args.limit, args.jobs)
        if not args.no_readme:
            replace_readme_section(cache_section(info), CACHE_HEADING)
    elif args.command == "homework":
        info = measure_homework_plan(args.out, args.starts, args.epochs)
        if not args.no_readme:
            replace_readme_section(homework_section(info), HOMEWORK_HEADING)
    else:
        info = train_shipped_model(args.out, args.epochs, resume=args.resume)
        if not args.no_readme:
            replace_readme_section(weights_section(info), WEIGHTS_HEADING)
    print(json.dumps({k: str(v) for k, v in info.items()}, indent=1))
    print(f"done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
