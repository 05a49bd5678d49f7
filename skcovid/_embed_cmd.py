"""``skcovid embed``: the embeddings of a folder or scan table, written to Parquet (or CSV).

The embedder is :func:`skcovid.multimodal.make_embedder` by name (``texture``,
``pretrained``, ``fine_tuned``), fitted on the selected scans (``fine_tuned`` trains on
their labels), then applied to them. One row per scan: the embedding columns, then
``modality``, ``patient``, ``image``, ``label`` and ``split`` (when the data has one).
With ``--scheduler`` the scans are embedded on a Dask cluster
(:func:`skcovid.distributed.embed_to_parquet`) and ``--out`` is a folder of Parquet parts.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ._cli_common import (
    EXIT_FAILURE,
    EXIT_USAGE,
    Abort,
    add_data_argument,
    add_embedder_arguments,
    add_progress_argument,
    guarded,
    in_chunks,
    load_data,
    positive_int,
    progress,
)

KEPT_COLUMNS = ("image", "label", "split")


def add_arguments(parser):
    """Add the options of ``skcovid embed`` to ``parser``."""
    add_data_argument(parser, split_default="all", split_help="rows of DATA to embed")
    parser.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="the Parquet (or --format csv) file to write; with --scheduler a folder of Parquet parts",
    )
    parser.add_argument(
        "--format",
        choices=("parquet", "csv"),
        default=None,
        help="output format (default: csv for an --out ending in .csv, else parquet)",
    )
    add_embedder_arguments(parser, embedder_help="the image embedder:")
    parser.add_argument(
        "--image-size", type=positive_int, help="image side in pixels (default: the embedder's)"
    )
    parser.add_argument(
        "--max-epochs",
        type=positive_int,
        default=10,
        help="fine_tuned: training epochs (default: %(default)s)",
    )
    parser.add_argument(
        "--random-state", type=int, default=0, help="makes CNN embeddings repeatable (default: 0)"
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=256,
        help="scans embedded at once (and per partition with --scheduler) (default: %(default)s)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS|local:N",
        help="embed on a Dask cluster: a scheduler address (tcp://host:8786) or local:N worker "
        "processes; needs pip install 'skcovid[distributed]'",
    )
    add_progress_argument(parser)


def _format(args):
    fmt = args.format or ("csv" if args.out.lower().endswith(".csv") else "parquet")
    if fmt == "csv" and args.scheduler:
        raise Abort("--scheduler writes a folder of Parquet parts; drop --format csv.", EXIT_USAGE)
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise Abort(
                "writing Parquet needs pyarrow: pip install pyarrow (or pass --format csv).", EXIT_FAILURE
            ) from None
    return fmt


def _embedder(args):
    from .multimodal import make_embedder

    size = {} if args.image_size is None else {"image_size": args.image_size}
    return make_embedder(
        args.embedder,
        backbone=args.backbone,
        weights=args.weights,
        max_epochs=args.max_epochs,
        device=args.device,
        random_state=args.random_state,
        **size,
    )


def _embed(args):
    fmt = _format(args)
    X, y, described = load_data(args)
    print(f"skcovid embed: {described}")
    embedder = _embedder(args)
    print(f"Fitting the {args.embedder} embedder on {len(X)} scans...", file=sys.stderr)
    embedder.fit(X, y)
    table = X.assign(label=y)
    kept = [c for c in KEPT_COLUMNS if c in table.columns]
    out = Path(args.out)
    if args.scheduler:
        from .distributed import embed_to_parquet

        embed_to_parquet(
            embedder, table, out, scheduler=args.scheduler, chunksize=args.batch_size, keep_columns=kept
        )
        print(
            f"Wrote the embeddings of {len(X)} scans to the Parquet folder {out} "
            "(read it with pandas.read_parquet)."
        )
        return 0
    with progress(len(X), "skcovid embed", args) as bar:
        embeddings = in_chunks(embedder.transform, X, chunk_size=args.batch_size, bar=bar)
    embeddings = embeddings.reset_index(drop=True).assign(
        **{c: table[c].astype(str).to_numpy() for c in kept}
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:  # written whole or not at all
        embeddings.to_csv(partial, index=False) if fmt == "csv" else embeddings.to_parquet(
            partial, index=False
        )
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    features = [c for c in embeddings.columns if c not in (*kept, "modality", "patient")]
    print(f"Wrote {len(embeddings)} embeddings of {len(features)} features to {out}.")
    return 0


def run(args):
    """Entry point of ``skcovid embed``; returns the exit code."""
    return guarded("embed", _embed, args)
