"""Sphinx configuration of the skcovid documentation.

Build offline, as CI does (cross-references to other projects are left unlinked)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

``-D plot_gallery=0`` skips running the examples while editing. Set
``SKCOVID_DOCS_INTERSPHINX=1`` (network access) or ``SKCOVID_DOCS_INVENTORIES=DIR``
(a folder of ``<project>.inv`` files, e.g. ``sklearn.inv``) to link to the Python,
NumPy, pandas, scikit-learn, torch, ... documentation.
"""

import builtins
import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))
os.environ.setdefault("MPLBACKEND", "Agg")

import skcovid  # noqa: E402

project = "skcovid"
author = "skcovid developers"
copyright = "2026, skcovid developers"
release = skcovid.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    # MathJax 3 shipped in a wheel and copied into _static/: formulas render offline
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_design",
    "myst_parser",
    "matplotlib.sphinxext.plot_directive",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
nitpicky = True

# -- API pages ---------------------------------------------------------------------------
# Inherited methods (``transform`` from the embedders' base class, scikit-learn's
# ``fit_transform``, ``set_output`` and ``get_params``) are listed on each class page.
autosummary_generate = True
autodoc_default_options = {"members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()


# Inherited members are listed, except those of the containers a class builds on: a
# ClinicalReport is a pandas DataFrame and a torch module an ``nn.Module``, and their
# hundreds of methods belong to pandas' and torch's documentation.
_FOREIGN_BASES = ("pandas", "torch", "builtins")


def _skip_member(app, what, name, obj, skip, options):
    """Leave out members of pandas, torch and builtin base classes, and bare ``forward``.

    A torch module is called (``module(x)``), and its class docstring says what it
    computes; torch's "Define the computation performed at every call" adds nothing.
    """
    function = getattr(obj, "fget", obj)  # a property's getter
    owner = getattr(function, "__objclass__", None)  # methods of builtin types
    module = getattr(owner, "__module__", None) or getattr(function, "__module__", None) or "builtins"
    if what == "class" and module.split(".")[0] in _FOREIGN_BASES:
        return True
    if name == "forward" and getattr(obj, "__doc__", None) is None:
        return True
    return None


# -- Cross-references to other projects ----------------------------------------------------
_PROJECTS = {
    "python": "https://docs.python.org/3",
    "numpy": "https://numpy.org/doc/stable",
    "scipy": "https://docs.scipy.org/doc/scipy",
    "pandas": "https://pandas.pydata.org/docs",
    "sklearn": "https://scikit-learn.org/stable",
    "torch": "https://pytorch.org/docs/stable",
    "torchvision": "https://pytorch.org/vision/stable",
    "skorch": "https://skorch.readthedocs.io/en/stable",
    "imblearn": "https://imbalanced-learn.org/stable",
    "joblib": "https://joblib.readthedocs.io/en/stable",
    "matplotlib": "https://matplotlib.org/stable",
    "distributed": "https://distributed.dask.org/en/stable",
    "dask": "https://docs.dask.org/en/stable",
}
_INVENTORIES = os.environ.get("SKCOVID_DOCS_INVENTORIES")
ONLINE = os.environ.get("SKCOVID_DOCS_INTERSPHINX") == "1" or bool(os.environ.get("READTHEDOCS"))
if _INVENTORIES:
    intersphinx_mapping = {
        name: (url, str(Path(_INVENTORIES) / f"{name}.inv"))
        for name, url in _PROJECTS.items()
        if (Path(_INVENTORIES) / f"{name}.inv").is_file()
    }
elif ONLINE:
    intersphinx_mapping = {name: (url, None) for name, url in _PROJECTS.items()}
else:
    intersphinx_mapping = {}
# Without an inventory, a reference to another project cannot be linked: render it as
# code, unlinked, without a warning. References to skcovid itself must always resolve.
_EXTERNAL = sorted(set(_PROJECTS) - set(intersphinx_mapping) - {"python"})
_EXTERNAL += ["mlxtend", "onnxruntime", "skops"]
if "python" not in intersphinx_mapping:
    _EXTERNAL += sorted(name for name in dir(builtins) if not name.startswith("_")) + ["os", "pathlib"]
nitpick_ignore_regex = [(r"py:.*", rf"{re.escape(name)}(\..*)?") for name in _EXTERNAL]
# pandas' own annotations of ``DataFrame.__init__``, shown in ClinicalReport's signature
nitpick_ignore = [("py:class", "Axes"), ("py:class", "Dtype")]


def _unlink_external_labels(app, env, node, contnode):
    """Offline: labels used in other projects' docstrings (``:ref:`metadata_routing```)."""
    source = node.source or ""
    if node.get("refdomain") == "std" and any(f"docstring of {name}." in source for name in _EXTERNAL):
        return contnode
    return None


# -- HTML -------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skcovid {release}"
html_static_path = ["_static"]
html_css_files = ["skcovid.css"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": {"**": ["page-toc", "sourcelink"], "index": [], "user_guide": []},
}
html_sidebars = {
    "index": [],
    "api": ["api-modules.html"],
    "generated/*": ["api-modules.html"],
    "changelog": [],
    "citing": [],
}
# matplotlib figures of the user guide (``.. plot::``)
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_rcparams = {"figure.dpi": 110, "font.size": 10}

# -- The API sidebar: the modules of api.rst, the current one expanded ----------------------


def _api_modules():
    """``[(module, title, [names])]`` in the order of ``api.rst``."""
    text = (DOCS / "api.rst").read_text()
    modules = []
    for match in re.finditer(r":mod:`(skcovid\.\w+)`: ([^\n]+)\n-+\n(.*?)(?=\n:mod:`|\Z)", text, flags=re.S):
        names = re.findall(r"^   (\w+)$", match.group(3), flags=re.M)
        modules.append((match.group(1), match.group(2).strip(), names))
    return modules


html_context = {"api_modules": _api_modules()}

# -- Gallery -----------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # the order of the user guide; a new folder is listed at the end
    "subsection_order": [
        f"../examples/{name}"
        for name in ("datasets", "embedders", "multimodal", "nets", "evaluation", "explain", "deployment")
    ]
    + ["*"],
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "reference_url": {"skcovid": None},
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("skcovid",),
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "show_memory": False,
}

# -- The changelog is CHANGELOG.md, rendered by MyST ------------------------------------------
myst_heading_anchors = 3


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("missing-reference", _unlink_external_labels)
