"""Layout checks of rendered figures: text inside the figure, no overlaps, legends off the data."""

def _texts(figure):
    """The texts a reader sees: titles, axis and tick labels in view, legends, annotations."""
    yield from figure.texts
    for ax in figure.axes:
        yield from (ax.title, ax.xaxis.label, ax.yaxis.label)
        for axis in (ax.xaxis, ax.yaxis):  # the tick labels in view (matplotlib hides the others)
            low, high = sorted(axis.get_view_interval())
            margin = 1e-9 * (high - low)
            yield from (label for loc, label in zip(axis.get_majorticklocs(), axis.get_majorticklabels())
                        if low - margin <= loc <= high + margin)
        yield from ax.texts
        if ax.get_legend() is not None:
            yield from ax.get_legend().get_texts()


def visible_texts(figure):
    """Every drawn, non-empty text of ``figure`` with its window extent (after a draw)."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    return [(text, text.get_window_extent(renderer)) for text in _texts(figure)
            if text.get_visible() and text.get_text().strip()]


def assert_readable(figure, *, inside=True, tol=1.0):
    """No two texts overlap, and (with ``inside``) all lie within the figure."""
    texts = visible_texts(figure)
    if inside:
        box = figure.bbox
        for text, extent in texts:
            assert (extent.x0 >= box.x0 - tol and extent.y0 >= box.y0 - tol
                    and extent.x1 <= box.x1 + tol and extent.y1 <= box.y1 + tol), (
                f"{text.get_text()!r} at {extent} leaves the figure {box}")
    for i, (first, a) in enumerate(texts):
        for second, b in texts[i + 1:]:
            overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
            overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
            assert overlap_x <= tol or overlap_y <= tol, (
                f"{first.get_text()!r} overlaps {second.get_text()!r}")


def assert_axes_labelled(ax):
    assert ax.get_xlabel().strip() and ax.get_ylabel().strip(), (
        f"axes {ax.get_title()!r} lacks an axis label")


def assert_legend_off_the_data(ax):
    """The legend lies below the axes (and its x label), not over the curves."""
    renderer = ax.figure.canvas.get_renderer()
    ax.figure.canvas.draw()
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.y1 <= ax.get_window_extent(renderer).y0
    assert legend.y1 <= ax.xaxis.label.get_window_extent(renderer).y0
