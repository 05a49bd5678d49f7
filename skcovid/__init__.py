"""skcovid: COVID-19 detection from chest X-ray and CT scans as scikit-learn estimators.

The subpackages follow one concept each:

- :mod:`skcovid.datasets` -- scan tables from folders, the synthetic default data, patient splits;
- :mod:`skcovid.preprocessing` -- image reading and preprocessing transformers;
- :mod:`skcovid.embedders` -- pretrained and fine-tuned CNN embedders;
- :mod:`skcovid.multimodal` -- the multi-modal multi-task system;
- :mod:`skcovid.nets` -- end-to-end image estimators;
- :mod:`skcovid.metrics` / :mod:`skcovid.stats` -- clinical metrics and significance tests;
- :mod:`skcovid.explain`, :mod:`skcovid.export`, :mod:`skcovid.plotting`.
"""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
