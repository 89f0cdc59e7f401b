"""``gdlab playground``: gradient descent you can steer in the browser."""

from __future__ import annotations

from pathlib import Path

import click

from gdlab.cli._data import Dataset
from gdlab.cli._errors import EXIT_CODES_EPILOG, verbose_option
from gdlab.cli._options import column_list, path_option


@click.command(
    epilog=EXIT_CODES_EPILOG,
    short_help="Write (or serve) the playground page: steer gradient descent in a browser.",
)
@path_option(
    "-o",
    "--out",
    default=None,
    help="Write the self-contained page here (default playground.html; not with --serve).",
)
@click.option(
    "--serve",
    is_flag=True,
    help="Serve the page from 127.0.0.1 and compute exact runs on demand (any start, any "
    "setting); Ctrl-C stops it.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="The port for --serve (0 picks a free one).",
)
@path_option("--data", default=None, help="With --serve: a CSV or Parquet file of your own.")
@click.option("-t", "--target", metavar="COL", default=None, help="The target column of --data.")
@click.option(
    "--coefficients",
    metavar="A,B",
    default=None,
    help="The two coefficients to vary over (feature names or 'intercept'; default: the first "
    "feature and the intercept). The others stay at their least-squares optimum.",
)
@click.option("--features", metavar="A,B,...", default=None, help="Feature columns of --data.")
@click.option("--exclude", metavar="A,B,...", default=None, help="Columns of --data to leave out.")
@verbose_option
def playground(
    out: Path | None,
    serve: bool,
    port: int,
    data: Path | None,
    target: str | None,
    coefficients: str | None,
    features: str | None,
    exclude: str | None,
) -> None:
    """Gradient descent you can steer: drag the start, slide the learning rate past 2/L,
    switch on momentum, race Adam against plain descent, step by step.

    Every path on the page is computed by gdlab's own optimizers. Without --serve, writes one
    self-contained HTML file (no network, under 5 MB) holding a grid of precomputed runs. With
    --serve, a local server on 127.0.0.1 computes any run exactly, including on the loss surface
    of your own data (--data FILE --target COL) over two coefficients.

    \b
    Examples:
      gdlab playground --out playground.html
      gdlab playground --serve
      gdlab playground --serve --data houses.csv --target price --coefficients area,intercept
    """
    if serve and out is not None:
        raise click.UsageError("--out writes the file; --serve serves the page. Choose one.")
    if data is not None and not serve:
        raise click.UsageError("--data needs --serve (the served page computes its runs).")
    if (target is not None or coefficients is not None) and data is None:
        raise click.UsageError("--target and --coefficients go with --data FILE.")
    if data is not None and target is None:
        raise click.UsageError("--data needs --target COL, the column to predict.")
    if not serve:
        _write(out or Path("playground.html"))
        return
    _serve(port, data, target, coefficients, features, exclude)


def _write(out: Path) -> None:
    from gdlab.playground import write_page

    out.parent.mkdir(parents=True, exist_ok=True)
    path = write_page(out)
    size = path.stat().st_size / 1e6
    click.echo(f"Playground written to {path} ({size:.1f} MB). Open it in a browser.")


def _serve(
    port: int,
    data: Path | None,
    target: str | None,
    coefficients: str | None,
    features: str | None,
    exclude: str | None,
) -> None:
    from gdlab.playground import from_data
    from gdlab.playground.server import PlaygroundServer, server_variants

    surface = None
    if data is not None and target is not None:
        table = Dataset(data, target, "regression", features, exclude)
        surface = from_data(table.X, table.y, table.feature_names, column_list(coefficients))
    server = PlaygroundServer(server_variants(surface), port=port)
    click.echo(f"Serving the playground at {server.url} (only this computer can reach it).")
    click.echo("Open that address in a browser; press Ctrl-C to stop.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopped.")
